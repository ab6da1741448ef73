package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// ExpiryRow is one run of the expiry job over a table of Members members of
// whom Due hold a lot due that day.
type ExpiryRow struct {
	Members, Due int
	Expired      int // lots expired (the job report's Changed)
	AccountsRead int // members whose account the job had to read
	Complete     bool
	Counts       Counts // what the job read and wrote
	Wall         time.Duration
	Seed         time.Duration // how long the BatchWriteItem seeding of this table took
}

// ItemsPerLot is items read per expired lot.
func (r ExpiryRow) ItemsPerLot() float64 {
	return float64(r.Counts.ItemsRead) / float64(max(r.Expired, 1))
}

// Expiry is figure 7.
type Expiry struct {
	What string       // which job was measured
	Day  loyalty.Date // the day the job ran for
	Rows []ExpiryRow
}

// expiryJobWhat says what was measured.
const expiryJobWhat = "`jobs.ExpirePoints` (shared/jobs), wired as functions/expire-points wires it: the store, " +
	"`jobs.ConfigFromEnvironment` with no JOB_* variables set (the function's defaults) and all the due index's shards; " +
	"its events go to a publisher that drops them"

// expiry runs figure 7: for each size a fresh table of that many members
// (seeded with BatchWriteItem from the items the store wrote for two real
// members), of whom a fixed number hold a lot due on the job's day, and one
// run of the job for that day.
func (l *lab) expiry(ctx context.Context, sizes []int, due int) (Expiry, error) {
	res := Expiry{What: expiryJobWhat}
	now := time.Now().UTC()
	past := now.AddDate(0, -14, 0)
	day := l.program.LotExpiry(past).AddDays(1)
	live := l.program.LotExpiry(now).AddDays(1)
	res.Day = day
	run := strconv.FormatInt(now.Unix()%100000, 36)
	for _, size := range sizes {
		table, err := l.newTable(ctx, "exp")
		if err != nil {
			return res, err
		}
		dueTpl, err := l.captureFirstAccrual(ctx, table, "benchtplduexq", past)
		if err != nil {
			return res, err
		}
		liveTpl, err := l.captureFirstAccrual(ctx, table, "benchtpllivexq", now)
		if err != nil {
			return res, err
		}
		for _, c := range []struct {
			tpl firstAccrual
			day loyalty.Date
		}{{dueTpl, day}, {liveTpl, live}} {
			if got, want := stringOf(c.tpl.account, dynamo.AttrDue), dynamo.DueKey(c.day, dynamo.DueShard(loyalty.MemberID(c.tpl.member))); got != want {
				return res, fmt.Errorf("the store filed member %s under due key %q, want %q: the bench's idea of the due index is out of date", c.tpl.member, got, want)
			}
			// The templates are real members; remove them so that every
			// member of the table is a seeded one.
			for _, it := range []item{c.tpl.entry, c.tpl.account} {
				key := item{dynamo.AttrPK: it[dynamo.AttrPK], dynamo.AttrSK: it[dynamo.AttrSK]}
				if _, err := l.ddb.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &table, Key: key}); err != nil {
					return res, err
				}
			}
		}
		start := time.Now()
		items := make([]item, 0, 2*size)
		clone := func(tpl firstAccrual, id string, d loyalty.Date) {
			r := strings.NewReplacer(tpl.member, id)
			acct := renamed(tpl.account, r)
			acct[dynamo.AttrDue] = &types.AttributeValueMemberS{Value: dynamo.DueKey(d, dynamo.DueShard(loyalty.MemberID(id)))}
			items = append(items, renamed(tpl.entry, r), acct)
		}
		for i := range size {
			if i < due {
				clone(dueTpl, fmt.Sprintf("x%s-due%07d", run, i), day)
			} else {
				clone(liveTpl, fmt.Sprintf("x%s-live%07d", run, i), live)
			}
		}
		if err := batchWrite(ctx, l.ddb, table, items, 4); err != nil {
			return res, err
		}
		row := ExpiryRow{Members: size, Due: due, Seed: time.Since(start)}
		l.logf("expiry: %d members seeded (%d items in %s)", size, len(items), row.Seed.Round(time.Millisecond))

		m := NewMeter(l.ddb)
		cfg, err := jobs.ConfigFromEnvironment(func(string) string { return "" }) // the function's defaults
		if err != nil {
			return res, err
		}
		cfg.Shards = dynamo.DueShards
		j := jobs.New(dynamo.New(m, table), l.program, newSettableClock(dayNoon(day, l.program)), dropEvents{}, cfg, discardLogger())
		jobStart := time.Now()
		rep, err := j.ExpirePoints(ctx, jobs.Request{Day: day})
		if err != nil {
			return res, fmt.Errorf("expire points on %d members: %w", size, err)
		}
		row.Wall, row.Counts = time.Since(jobStart), m.Counts()
		row.Expired, row.AccountsRead, row.Complete = rep.Changed, rep.Read, rep.Complete
		res.Rows = append(res.Rows, row)
		l.logf("expiry job on %d members: %d lots expired in %s, %d items read (%.2f per lot), %d accounts read, %d queries, %d scans",
			size, row.Expired, row.Wall.Round(time.Millisecond), row.Counts.ItemsRead, row.ItemsPerLot(), row.AccountsRead, row.Counts.Query, row.Counts.Scan)
		if _, err := l.ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &table}); err != nil {
			return res, err
		}
	}
	return res, nil
}

// dropEvents is a loyalty.Publisher that drops what the job publishes.
type dropEvents struct{}

func (dropEvents) Publish(context.Context, []loyalty.DomainEvent) error { return nil }

func dayNoon(d loyalty.Date, p *loyalty.Program) time.Time {
	t, err := time.ParseInLocation("2006-01-02", string(d), p.Location())
	if err != nil {
		panic(err) // a Date from the domain always parses
	}
	return t.Add(12 * time.Hour).UTC()
}

// firstAccrual is what the store wrote for a member's first purchase.
type firstAccrual struct {
	member         string
	entry, account item
}

// captureFirstAccrual records the first accrual of member at time at (a
// plain purchase through the ingest handler) and returns its two items.
func (l *lab) captureFirstAccrual(ctx context.Context, table, member string, at time.Time) (firstAccrual, error) {
	rec := NewRecorder(l.ddb)
	w, err := l.newWorld(table, rec, newSettableClock(at))
	if err != nil {
		return firstAccrual{}, err
	}
	body := purchaseBody(purchase{partnerID: benchPartner, eventID: "first", member: member, at: at, basket: plainBasket})
	if failed, err := w.runIngest(ctx, sqsPayload([][]byte{body}, 1)); err != nil || failed > 0 {
		return firstAccrual{}, fmt.Errorf("first accrual of %s: %d failed, %v", member, failed, err)
	}
	txs := rec.Transactions()
	// A member's first write also checks that the id was never erased.
	if len(txs) != 1 || len(txs[0].TransactItems) != 3 || txs[0].TransactItems[0].Put == nil || txs[0].TransactItems[1].Put == nil ||
		txs[0].TransactItems[2].ConditionCheck == nil {
		return firstAccrual{}, fmt.Errorf("first accrual of %s: the store did not put one entry and one account and check the erasures", member)
	}
	return firstAccrual{member: member, entry: txs[0].TransactItems[0].Put.Item, account: txs[0].TransactItems[1].Put.Item}, nil
}
