package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// ExpiryRow is one run of the expiry job over a table of Members members of
// whom Due hold a lot due that day.
type ExpiryRow struct {
	Members, Due, Expired int
	Counts                Counts // what the job read and wrote
	Wall                  time.Duration
	Seed                  time.Duration // how long the BatchWriteItem seeding of this step took
}

// ItemsPerLot is items read per expired lot.
func (r ExpiryRow) ItemsPerLot() float64 { return float64(r.Counts.ItemsRead) / float64(r.Expired) }

// Expiry is figure 7.
type Expiry struct {
	What string       // which job was measured
	Day  loyalty.Date // the day the job ran for
	Rows []ExpiryRow
}

const expiryWorkers = 8

// expiryJobWhat says what was measured: the expiry job of functions/expire-points
// is not committed yet, so the bench drives the domain the way the design
// says the job works.
const expiryJobWhat = "stand-in for the expiry job (functions/expire-points not committed yet): one Query of the due index " +
	"per shard of the day (dynamo.DueKey, all pages), then Service.ExpireDue for every member found, 8 at a time"

// expiry runs figure 7: the table grows to each size in turn (members
// seeded with BatchWriteItem from items the store wrote for two real
// members), always with due members whose lot is due on the job's day, and
// the job runs once per size.
func (l *lab) expiry(ctx context.Context, sizes []int, due int) (Expiry, error) {
	res := Expiry{What: expiryJobWhat}
	table, err := l.newTable(ctx, "exp")
	if err != nil {
		return res, err
	}
	now := time.Now().UTC()
	past := now.AddDate(0, -14, 0)
	dueTpl, err := l.captureFirstAccrual(ctx, table, "benchtplduexq", past)
	if err != nil {
		return res, err
	}
	liveTpl, err := l.captureFirstAccrual(ctx, table, "benchtpllivexq", now)
	if err != nil {
		return res, err
	}
	day := l.program.LotExpiry(past).AddDays(1)
	live := l.program.LotExpiry(now).AddDays(1)
	for _, c := range []struct {
		tpl firstAccrual
		day loyalty.Date
	}{{dueTpl, day}, {liveTpl, live}} {
		if got, want := stringOf(c.tpl.account, dynamo.AttrDue), dynamo.DueKey(c.day, dynamo.DueShard(loyalty.MemberID(c.tpl.member))); got != want {
			return res, fmt.Errorf("the store filed member %s under due key %q, want %q: the bench's idea of the due index is out of date", c.tpl.member, got, want)
		}
	}
	// The templates are real members of the table; remove them so every
	// member the job sees is one of the seeded ones.
	for _, tpl := range []firstAccrual{dueTpl, liveTpl} {
		for _, it := range []item{tpl.entry, tpl.account} {
			key := item{dynamo.AttrPK: it[dynamo.AttrPK], dynamo.AttrSK: it[dynamo.AttrSK]}
			if _, err := l.ddb.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &table, Key: key}); err != nil {
				return res, err
			}
		}
	}
	res.Day = day
	prefix := strings.TrimSuffix(stringOf(dueTpl.account, dynamo.AttrPK), dueTpl.member)
	run := strconv.FormatInt(now.Unix()%100000, 36)
	have := 0
	for step, size := range sizes {
		start := time.Now()
		var items []item
		clone := func(tpl firstAccrual, id string, d loyalty.Date) {
			r := strings.NewReplacer(tpl.member, id)
			acct := renamed(tpl.account, r)
			acct[dynamo.AttrDue] = &types.AttributeValueMemberS{Value: dynamo.DueKey(d, dynamo.DueShard(loyalty.MemberID(id)))}
			items = append(items, renamed(tpl.entry, r), acct)
		}
		for i := range due {
			clone(dueTpl, fmt.Sprintf("x%s-%d-due%06d", run, step, i), day)
		}
		for i := have + due; i < size; i++ {
			clone(liveTpl, fmt.Sprintf("x%s-live%07d", run, i), live)
		}
		if err := batchWrite(ctx, l.ddb, table, items, 4); err != nil {
			return res, err
		}
		have = size
		row := ExpiryRow{Members: size, Due: due, Seed: time.Since(start)}
		l.logf("expiry: %d members seeded (%d items in %s)", size, len(items), row.Seed.Round(time.Millisecond))

		m := NewMeter(l.ddb)
		clock := newSettableClock(dayNoon(day, l.program))
		svc := &loyalty.Service{Store: dynamo.New(m, table), Program: l.program, Clock: clock}
		jobStart := time.Now()
		expired, err := runExpiryJob(ctx, m, table, svc, day, prefix)
		if err != nil {
			return res, err
		}
		row.Wall, row.Expired, row.Counts = time.Since(jobStart), expired, m.Counts()
		res.Rows = append(res.Rows, row)
		l.logf("expiry job on %d members: %d lots expired in %s, %d items read (%.2f per lot), %d queries, %d scans",
			size, expired, row.Wall.Round(time.Millisecond), row.Counts.ItemsRead, row.ItemsPerLot(), row.Counts.Query, row.Counts.Scan)
	}
	return res, nil
}

func dayNoon(d loyalty.Date, p *loyalty.Program) time.Time {
	t, err := time.ParseInLocation("2006-01-02", string(d), p.Location())
	if err != nil {
		panic(err) // a Date from the domain always parses
	}
	return t.Add(12 * time.Hour).UTC()
}

// runExpiryJob is the stand-in job: every shard of the day's due
// partitions, then the domain's expiry per member. prefix turns an
// account's partition key back into its member id.
func runExpiryJob(ctx context.Context, client dynamo.Client, table string, svc *loyalty.Service, day loyalty.Date, prefix string) (int, error) {
	var members []loyalty.MemberID
	for shard := range dynamo.DueShards {
		in := &dynamodb.QueryInput{TableName: &table, IndexName: aws.String(dynamo.IndexDue),
			KeyConditionExpression:    aws.String("#k = :k"),
			ExpressionAttributeNames:  map[string]string{"#k": dynamo.AttrDue},
			ExpressionAttributeValues: item{":k": &types.AttributeValueMemberS{Value: dynamo.DueKey(day, shard)}},
			ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal}
		for p := dynamodb.NewQueryPaginator(client, in); p.HasMorePages(); {
			out, err := p.NextPage(ctx)
			if err != nil {
				return 0, fmt.Errorf("query the due index: %w", err)
			}
			for _, it := range out.Items {
				id, ok := strings.CutPrefix(stringOf(it, dynamo.AttrPK), prefix)
				if !ok {
					return 0, fmt.Errorf("due index item %q is not an account", stringOf(it, dynamo.AttrPK))
				}
				members = append(members, loyalty.MemberID(id))
			}
		}
	}
	var expired atomic.Int64
	err := forEach(ctx, len(members), expiryWorkers, func(ctx context.Context, i int) error {
		_, ok, err := svc.ExpireDue(ctx, members[i], day)
		if err != nil {
			return err
		}
		if ok {
			expired.Add(1)
		}
		return nil
	})
	return int(expired.Load()), err
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
	if len(txs) != 1 || len(txs[0].TransactItems) != 2 || txs[0].TransactItems[0].Put == nil || txs[0].TransactItems[1].Put == nil {
		return firstAccrual{}, fmt.Errorf("first accrual of %s: the store did not put one entry and one account", member)
	}
	return firstAccrual{member: member, entry: txs[0].TransactItems[0].Put.Item, account: txs[0].TransactItems[1].Put.Item}, nil
}
