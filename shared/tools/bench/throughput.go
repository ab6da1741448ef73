package bench

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"regexp"
	"runtime"
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

// Names in the bench's own items. Template ids are long and odd so that
// replacing them inside a key can never hit anything else.
const (
	tplMember     = "benchtplmemberxq"
	tplEvent1     = "benchtplevent1xq"
	tplEvent2     = "benchtplevent2xq"
	tplRedeemKey  = "benchtplredeemxq"
	tplCoffee     = "benchtplcoffeexq" // the template member of the bare coffee transaction
	tplCoffeeEv   = "benchtplcoffevxq"
	benchPartner  = "demo-coffee-berlin" // a partner of program.json
	benchStage    = "bench"              // names benchPartner's queue (package partnerqueue)
	benchReward   = "bench-coffee"
	benchCost     = 5
	rawBalanceKey = "bench_bal" // the bare redemption's own balance attribute on cloned accounts
	topTierMinor  = 160_000     // 1,600 EUR: 1,600 points at program.json's rate, past gold's 1,500
)

// RatioRow is one concurrency of a throughput comparison.
type RatioRow struct {
	Kind        string // what the full side does
	Concurrency int
	Full, Raw   Sample // operations per second, one value per round
	Ratio       Sample // Full/Raw of each round
	Errors      int64
	FirstError  string
}

// ContentionRow is the redemption rate with many callers on few members.
type ContentionRow struct {
	Clients, Members int
	Rate             Sample // redemptions per second
	Redemptions      int64
	Conflicts        int64 // transactions cancelled on the account's version, retried by the store
	Errors           int64
	FirstError       string
}

// throughput holds what the accrual and redemption figures share: one table
// with members of both sides, and the bare transactions cloned from the
// ones the store wrote.
type throughput struct {
	lab   *lab
	w     *world
	table string
	run   string // makes keys unique per run
	seq   atomic.Int64
	// rawDone counts the bare transactions that succeeded; the full side's
	// progress is the store's successful transactions (fullDone).
	rawDone atomic.Int64

	plainMembers, coffeeMembers, redeemMembers, rawMembers []string
	contended                                              []string

	accrualTx   *dynamodb.TransactWriteItemsInput // quick credit of tplMember (entry put + account update)
	coffeeTx    *dynamodb.TransactWriteItemsInput // quick credit of a coffee purchase of tplCoffee, its card's size raised
	rawCoffee   []string                          // bare accounts cloned from tplCoffee's
	redeemEntry item                              // ledger entry put of a redemption of tplMember
	redeemItem  item                              // redemption put
	redeemID    string
	accountSK   string // the sort key of an account item
	redemption  *apiTemplate

	// Seconds per message (accruals) and per request (redemptions) of the
	// single-caller rounds feed the Lambda part of the cost figure.
	accrualSeconds, coffeeSeconds, redeemSeconds Sample
}

func (l *lab) newThroughput(ctx context.Context, members int) (*throughput, error) {
	table, err := l.newTable(ctx, "tp")
	if err != nil {
		return nil, err
	}
	w, err := l.newWorld(table, l.ddb, loyalty.SystemClock{})
	if err != nil {
		return nil, err
	}
	t := &throughput{lab: l, w: w, table: table, run: strconv.FormatInt(time.Now().Unix()%100000, 36)}
	if t.redemption, err = loadAPITemplate(l.root, "create-redemption.json"); err != nil {
		return nil, err
	}
	if err := w.store.PutReward(ctx, loyalty.Reward{ID: benchReward, Name: "Bench coffee", Kind: loyalty.RewardFreeProduct,
		Cost: benchCost, Active: true, ValidDays: 30}); err != nil {
		return nil, err
	}
	if err := t.captureTemplates(ctx); err != nil {
		return nil, fmt.Errorf("capture the bare transactions: %w", err)
	}
	if err := t.seed(ctx, members); err != nil {
		return nil, err
	}
	return t, nil
}

// captureTemplates runs a first accrual, an accrual and a redemption of
// tplMember through a recording client and keeps what the store wrote.
func (t *throughput) captureTemplates(ctx context.Context) error {
	rec := NewRecorder(t.lab.ddb)
	w, err := t.lab.newWorld(t.table, rec, loyalty.SystemClock{})
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	// The first accrual plans (a new member); the store's first quick credit
	// of the month also removes the stale qualifying months, as it does once
	// per member and month; the third is the common case the bare side clones.
	for i, ev := range []string{tplEvent1, "benchtplevent9xq", tplEvent2} {
		rec.Reset()
		body := purchaseBody(purchase{partnerID: benchPartner, eventID: ev, member: tplMember, at: now, basket: plainBasket})
		failed, err := w.runIngest(ctx, sqsPayload([][]byte{body}, int64(i)))
		if err != nil || failed > 0 {
			return fmt.Errorf("template accrual %s: %d failed, %v", ev, failed, err)
		}
		txs := rec.Transactions()
		if len(txs) != 1 {
			return fmt.Errorf("template accrual %s: %d transactions written, want 1", ev, len(txs))
		}
		tx := txs[0]
		switch i {
		case 0: // first accrual: entry put, account put, and the check that the member was never erased
			if len(tx.TransactItems) != 3 || tx.TransactItems[1].Put == nil || tx.TransactItems[2].ConditionCheck == nil {
				return fmt.Errorf("first accrual: unexpected transaction shape")
			}
			t.accountSK = stringOf(tx.TransactItems[1].Put.Item, dynamo.AttrSK)
		case 2: // accrual of a known member: entry put, account update
			if len(tx.TransactItems) != 2 || tx.TransactItems[0].Put == nil || tx.TransactItems[1].Update == nil {
				return fmt.Errorf("accrual: the store did not write one entry put and one account update")
			}
			if u := aws.ToString(tx.TransactItems[1].Update.UpdateExpression); strings.Contains(u, "REMOVE") {
				return fmt.Errorf("accrual: the third credit of the month still removes stale months: %s", u)
			}
			t.accrualTx = tx
		}
	}
	if err := t.captureCoffee(ctx, rec, w, now); err != nil {
		return err
	}
	rec.Reset()
	status, err := w.runAPI(ctx, t.redemption.payload(tplMember, tplRedeemKey, redeemBody()))
	if err != nil || status != 201 {
		return fmt.Errorf("template redemption: status %d, %v", status, err)
	}
	txs := rec.Transactions()
	if len(txs) != 1 || len(txs[0].TransactItems) != 3 {
		return fmt.Errorf("template redemption: want one transaction of 3 items")
	}
	t.redeemEntry = txs[0].TransactItems[0].Put.Item
	t.redeemItem = txs[0].TransactItems[2].Put.Item
	reds, err := w.store.Redemptions(ctx, tplMember)
	if err != nil || len(reds) != 1 {
		return fmt.Errorf("template redemption: %d redemptions, %v", len(reds), err)
	}
	t.redeemID = reds[0].ID
	return nil
}

// stampLimit finds, in a quick credit's condition, the value a stamp
// card's count is compared with: "attribute_not_exists(#a.#b) OR #a.#b <
// :v" where #a names the account's stamps.
var stampLimit = regexp.MustCompile(`attribute_not_exists\((#n\d+)\.(#n\d+)\) OR (#n\d+)\.(#n\d+) < (:v\d+)`)

// captureCoffee records tplCoffee's fifth purchase, its fourth coffee: past
// the welcome bonus's three uses, a stamp that does not fill the card, as
// most of the full side's coffee purchases are. The bare side writes that
// transaction with the card's size raised, so that it never fills a card
// on the accounts cloned for it: the same expression, the same work for
// DynamoDB, another number in one comparison.
func (t *throughput) captureCoffee(ctx context.Context, rec *Recorder, w *world, now time.Time) error {
	for i := range 5 {
		rec.Reset()
		b, ev := coffeeBasket, fmt.Sprintf("benchtplcoffee%dxq", i)
		if i == 0 {
			b = plainBasket
		}
		if i == 4 {
			ev = tplCoffeeEv
		}
		body := purchaseBody(purchase{partnerID: benchPartner, eventID: ev, member: tplCoffee, at: now, basket: b})
		if failed, err := w.runIngest(ctx, sqsPayload([][]byte{body}, int64(10+i))); err != nil || failed > 0 {
			return fmt.Errorf("template coffee purchase %d: %d failed, %v", i, failed, err)
		}
	}
	txs := rec.Transactions()
	if len(txs) != 1 || len(txs[0].TransactItems) != 2 || txs[0].TransactItems[1].Update == nil {
		return fmt.Errorf("coffee template: want one transaction of an entry put and an account update, got %d transactions", len(txs))
	}
	tx := txs[0]
	upd := *tx.TransactItems[1].Update
	if strings.Contains(aws.ToString(upd.UpdateExpression), "REMOVE") {
		return fmt.Errorf("coffee template: the fifth credit of the month still removes stale months")
	}
	m := stampLimit.FindStringSubmatch(aws.ToString(upd.ConditionExpression))
	if m == nil || upd.ExpressionAttributeNames[m[1]] != dynamo.AttrStamps || m[1] != m[3] || m[2] != m[4] {
		return fmt.Errorf("coffee template: no stamp card limit in the condition %q", aws.ToString(upd.ConditionExpression))
	}
	values := maps.Clone(upd.ExpressionAttributeValues)
	values[m[5]] = &types.AttributeValueMemberN{Value: "1000000000"}
	upd.ExpressionAttributeValues = values
	t.coffeeTx = &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{tx.TransactItems[0], {Update: &upd}},
		ReturnConsumedCapacity: tx.ReturnConsumedCapacity}
	return nil
}

func redeemBody() []byte { return []byte(`{"rewardId":"` + benchReward + `"}`) }

// seed makes the members each side works on: members who already earned
// once (so an accrual is the common, one-transaction case), members with a
// large balance to redeem from, and bare accounts cloned from a real one.
func (t *throughput) seed(ctx context.Context, members int) error {
	now := time.Now().UTC()
	for i := range members {
		t.plainMembers = append(t.plainMembers, fmt.Sprintf("m%s-%06d", t.run, i))
		t.rawMembers = append(t.rawMembers, fmt.Sprintf("raw%s-%06d", t.run, i))
	}
	// As many coffee members as plain and bare ones: the same spread of
	// callers over accounts on every side.
	for i := range members {
		t.coffeeMembers = append(t.coffeeMembers, fmt.Sprintf("c%s-%06d", t.run, i))
	}
	for i := range max(members/2, 8) {
		t.redeemMembers = append(t.redeemMembers, fmt.Sprintf("r%s-%06d", t.run, i))
	}
	for i := range 4 {
		t.contended = append(t.contended, fmt.Sprintf("hot%s-%d", t.run, i))
	}
	// Accrual members: a first purchase each, through the handler, a batch at a time.
	earners := append(append([]string(nil), t.plainMembers...), t.coffeeMembers...)
	if err := forEach(ctx, (len(earners)+BatchSize-1)/BatchSize, 8, func(ctx context.Context, b int) error {
		var bodies [][]byte
		for _, m := range earners[b*BatchSize : min((b+1)*BatchSize, len(earners))] {
			bodies = append(bodies, purchaseBody(purchase{partnerID: benchPartner, eventID: t.eventID(), member: m, at: now, basket: plainBasket}))
		}
		failed, err := t.w.runIngest(ctx, sqsPayload(bodies, t.seq.Add(int64(len(bodies)))))
		if err == nil && failed > 0 {
			err = fmt.Errorf("%d seed accruals failed", failed)
		}
		return err
	}); err != nil {
		return fmt.Errorf("seed accrual members: %w", err)
	}
	// Coffee members: lifted to the program's top tier before the figure
	// (one purchase of topTierMinor each), so that none of the figure's
	// purchases crosses a tier threshold. They buy about thirty times each
	// in figure 1, enough to cross silver's 500 points during the 8- and
	// 32-caller rows, and a crossing (once a year for a real member: a
	// cancelled quick write and a planned one) was 0.107 transactions more
	// per purchase at 32 callers, 82 of 100 members crossing in that row.
	// The lift also spends one of the three welcome-bonus uses.
	if err := t.buyEach(ctx, t.coffeeMembers, topTierMinor, now); err != nil {
		return fmt.Errorf("lift the coffee members: %w", err)
	}
	// Redeeming members: a purchase worth a million points each.
	rich := append(append([]string(nil), t.redeemMembers...), t.contended...)
	if err := t.buyEach(ctx, rich, 100_000_000, now); err != nil {
		return fmt.Errorf("seed redeeming members: %w", err)
	}
	// Bare accounts: the template account as the store wrote it, plus the
	// bare redemption's balance, out of the due index.
	tplAccount, err := t.lab.ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: &t.table, ConsistentRead: boolp(true),
		Key: t.accrualTx.TransactItems[1].Update.Key})
	if err != nil || tplAccount.Item == nil {
		return fmt.Errorf("read the template account: %v", err)
	}
	items := make([]item, 0, len(t.rawMembers))
	for _, m := range t.rawMembers {
		it := renamed(tplAccount.Item, strings.NewReplacer(tplMember, m))
		delete(it, dynamo.AttrDue)
		it[rawBalanceKey] = &types.AttributeValueMemberN{Value: "1000000000000"}
		// Headroom for any number of bare credits below the next tier: each
		// lowers it by the credit's qualifying points, and the condition
		// wants it above them.
		it[dynamo.AttrTierRoom] = &types.AttributeValueMemberN{Value: "1000000000000"}
		items = append(items, it)
	}
	// Bare coffee accounts: tplCoffee's account, past the bonus, three stamps.
	coffeeAccount, err := t.lab.ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: &t.table, ConsistentRead: boolp(true),
		Key: t.coffeeTx.TransactItems[1].Update.Key})
	if err != nil || coffeeAccount.Item == nil {
		return fmt.Errorf("read the coffee template account: %v", err)
	}
	for i := range members {
		m := fmt.Sprintf("rawc%s-%06d", t.run, i)
		t.rawCoffee = append(t.rawCoffee, m)
		it := renamed(coffeeAccount.Item, strings.NewReplacer(tplCoffee, m))
		delete(it, dynamo.AttrDue)
		// Headroom for any number of bare credits below the next tier.
		it[dynamo.AttrTierRoom] = &types.AttributeValueMemberN{Value: "1000000000000"}
		items = append(items, it)
	}
	return batchWrite(ctx, t.lab.ddb, t.table, items, 4)
}

// buyEach makes one purchase of minor for each of members through the
// ingest handler, a message per batch.
func (t *throughput) buyEach(ctx context.Context, members []string, minor int64, at time.Time) error {
	return forEach(ctx, len(members), 8, func(ctx context.Context, i int) error {
		body := purchaseBody(purchase{partnerID: benchPartner, eventID: t.eventID(), member: members[i], at: at, minor: minor})
		failed, err := t.w.runIngest(ctx, sqsPayload([][]byte{body}, t.seq.Add(1)))
		if err == nil && failed > 0 {
			err = fmt.Errorf("the purchase of %d minor units for %s failed", minor, members[i])
		}
		return err
	})
}

func boolp(b bool) *bool { return &b }

func (t *throughput) eventID() string { return "e" + t.run + "-" + strconv.FormatInt(t.seq.Add(1), 36) }

// rawAccrual is the bare 2-item transaction: the entry put (only if new)
// and the account update (with its condition) exactly as the store sent
// them for tplMember, on a bare account and under a new key.
func (t *throughput) rawAccrual(ctx context.Context, _ int) (int, int, error) {
	return t.rawCredit(ctx, t.accrualTx, t.rawMembers, tplMember, tplEvent2)
}

// rawCoffeeAccrual is the bare coffee transaction (captureCoffee) on a
// bare coffee account under a new key.
func (t *throughput) rawCoffeeAccrual(ctx context.Context, _ int) (int, int, error) {
	return t.rawCredit(ctx, t.coffeeTx, t.rawCoffee, tplCoffee, tplCoffeeEv)
}

// rawCredit writes tx, a recorded entry put and account update of member
// tplMember for event tplEvent, for one of members under a new event.
func (t *throughput) rawCredit(ctx context.Context, tx *dynamodb.TransactWriteItemsInput, members []string, tplMember, tplEvent string) (int, int, error) {
	m := members[rand.IntN(len(members))]
	r := strings.NewReplacer(tplMember, m, tplEvent, t.eventID())
	put := *tx.TransactItems[0].Put
	put.Item = renamed(put.Item, r)
	upd := *tx.TransactItems[1].Update
	upd.Key = renamed(upd.Key, r)
	_, err := t.lab.ddb.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems:          []types.TransactWriteItem{{Put: &put}, {Update: &upd}},
		ReturnConsumedCapacity: tx.ReturnConsumedCapacity})
	if err != nil {
		return 0, 0, err
	}
	t.rawDone.Add(1)
	return 1, 0, nil
}

// fullAccrual is one SQS batch of BatchSize purchases through the ingest
// handler, as Lambda invokes it.
func (t *throughput) fullAccrual(b basket, members []string) loopOp {
	return func(ctx context.Context, _ int) (int, int, error) {
		now := time.Now().UTC()
		bodies := make([][]byte, BatchSize)
		for i := range bodies {
			bodies[i] = purchaseBody(purchase{partnerID: benchPartner, eventID: t.eventID(), member: members[rand.IntN(len(members))], at: now, basket: b})
		}
		failed, err := t.w.runIngest(ctx, sqsPayload(bodies, t.seq.Add(BatchSize)))
		if err != nil {
			return 0, 0, err
		}
		return BatchSize - failed, failed, nil
	}
}

// rawRedemption is the bare transaction a redemption needs at least: the
// entry put and the redemption put (each only if new) and an account
// update that spends the cost only if the balance covers it.
func (t *throughput) rawRedemption(ctx context.Context, _ int) (int, int, error) {
	m := t.rawMembers[rand.IntN(len(t.rawMembers))]
	key := "k" + t.run + "-" + strconv.FormatInt(t.seq.Add(1), 36)
	r := strings.NewReplacer(tplMember, m, tplRedeemKey, key, t.redeemID, key)
	entry := renamed(t.redeemEntry, r)
	red := renamed(t.redeemItem, r)
	notExists := "attribute_not_exists(pk)"
	_, err := t.lab.ddb.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: &t.table, Item: entry, ConditionExpression: &notExists}},
			{Update: &types.Update{TableName: &t.table,
				Key:                       item{dynamo.AttrPK: entry[dynamo.AttrPK], dynamo.AttrSK: &types.AttributeValueMemberS{Value: t.accountSK}},
				UpdateExpression:          strp("ADD #b :spend"),
				ConditionExpression:       strp("#b >= :cost"),
				ExpressionAttributeNames:  map[string]string{"#b": rawBalanceKey},
				ExpressionAttributeValues: item{":spend": &types.AttributeValueMemberN{Value: "-" + strconv.Itoa(benchCost)}, ":cost": &types.AttributeValueMemberN{Value: strconv.Itoa(benchCost)}}}},
			{Put: &types.Put{TableName: &t.table, Item: red, ConditionExpression: &notExists}},
		},
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return 0, 0, err
	}
	t.rawDone.Add(1)
	return 1, 0, nil
}

func strp(s string) *string { return &s }

// fullRedemption is one POST /v1/me/redemptions through the member API.
func (t *throughput) fullRedemption(members []string) func(ctx context.Context, _ int) (int, int, error) {
	return func(ctx context.Context, _ int) (int, int, error) {
		m := members[rand.IntN(len(members))]
		key := "k" + t.run + "-" + strconv.FormatInt(t.seq.Add(1), 36)
		status, err := t.w.runAPI(ctx, t.redemption.payload(m, key, redeemBody()))
		if err != nil {
			return 0, 0, err
		}
		if status != 201 {
			return 0, 1, fmt.Errorf("redemption: status %d", status)
		}
		return 1, 0, nil
	}
}

type loopOp = func(ctx context.Context, worker int) (int, int, error)

// fullDone is how many transactions the full side's store has completed:
// one per accrual or redemption.
func (t *throughput) fullDone() int64 {
	c := t.w.meter.Counts()
	return c.Transact - c.TransactCancelled
}

func (t *throughput) rawProgress() int64 { return t.rawDone.Load() }

// warmOf is how long a side runs before its window opens.
func warmOf(d time.Duration) time.Duration { return d / 4 }

// compare runs full and raw side by side at one concurrency: rounds times
// each, alternating which goes first, and pairs them per round.
func (t *throughput) compare(ctx context.Context, workers, rounds int, d time.Duration, full, raw loopOp) RatioRow {
	row := RatioRow{Concurrency: workers}
	for r := range rounds {
		order := []bool{true, false}
		if r%2 == 1 {
			order = []bool{false, true}
		}
		var f, w loopResult
		for _, isFull := range order {
			runtime.GC()
			if isFull {
				f = closedLoop(ctx, workers, warmOf(d), d, full, t.fullDone)
			} else {
				w = closedLoop(ctx, workers, warmOf(d), d, raw, t.rawProgress)
			}
		}
		row.Full = append(row.Full, f.rate())
		row.Raw = append(row.Raw, w.rate())
		row.Ratio = append(row.Ratio, f.rate()/w.rate())
		row.Errors += f.errors + w.errors
		for _, e := range []error{f.err, w.err} {
			if e != nil && row.FirstError == "" {
				row.FirstError = e.Error()
			}
		}
	}
	return row
}

// accruals runs figure 1 at each concurrency: plain purchases (the
// target's case), then coffee purchases that stamp cards and a limited
// promotion make the store read first, each against the plain bare
// transaction; then the coffee purchases against their own bare
// transaction (rawCoffeeAccrual), which tells the path's overhead from the
// work DynamoDB does for the larger write.
func (t *throughput) accruals(ctx context.Context, levels []int, rounds int, d time.Duration) (rows, own []RatioRow) {
	plain := t.fullAccrual(plainBasket, t.plainMembers)
	coffee := t.fullAccrual(coffeeBasket, t.coffeeMembers)
	closedLoop(ctx, 8, 0, d, plain, t.fullDone) // warm DynamoDB Local's JIT and both code paths
	closedLoop(ctx, 8, 0, d, t.rawAccrual, t.rawProgress)
	closedLoop(ctx, 8, 0, d, t.rawCoffeeAccrual, t.rawProgress)
	for _, k := range []struct {
		basket basket
		op     loopOp
	}{{plainBasket, plain}, {coffeeBasket, coffee}} {
		for _, c := range levels {
			row := t.compare(ctx, c, rounds, d, k.op, t.rawAccrual)
			row.Kind = k.basket.String()
			if c == 1 {
				for _, rate := range row.Full {
					if k.basket == plainBasket {
						t.accrualSeconds = append(t.accrualSeconds, 1/rate)
					} else {
						t.coffeeSeconds = append(t.coffeeSeconds, 1/rate)
					}
				}
			}
			rows = append(rows, row)
			t.lab.logf("accrual (%s) c=%d: full %s/s, raw %s/s, ratio %s", row.Kind, c, row.Full.Format("%.0f"), row.Raw.Format("%.0f"), row.Ratio.Format("%.2f"))
		}
	}
	for _, c := range levels {
		row := t.compare(ctx, c, rounds, d, coffee, t.rawCoffeeAccrual)
		row.Kind = coffeeBasket.String() + ", against its own bare transaction"
		own = append(own, row)
		t.lab.logf("accrual (%s) c=%d: full %s/s, raw %s/s, ratio %s", row.Kind, c, row.Full.Format("%.0f"), row.Raw.Format("%.0f"), row.Ratio.Format("%.2f"))
	}
	return rows, own
}

// redemptions runs figure 2: the ratio at each concurrency, then the rate
// under contention.
func (t *throughput) redemptions(ctx context.Context, levels []int, rounds int, d time.Duration) ([]RatioRow, []ContentionRow) {
	full := t.fullRedemption(t.redeemMembers)
	closedLoop(ctx, 8, 0, d, full, t.fullDone)
	closedLoop(ctx, 8, 0, d, t.rawRedemption, t.rawProgress)
	var rows []RatioRow
	for _, c := range levels {
		row := t.compare(ctx, c, rounds, d, full, t.rawRedemption)
		row.Kind = "POST /v1/me/redemptions"
		if c == 1 {
			for _, rate := range row.Full {
				t.redeemSeconds = append(t.redeemSeconds, 1/rate)
			}
		}
		rows = append(rows, row)
		t.lab.logf("redemption c=%d: full %s/s, raw %s/s, ratio %s", c, row.Full.Format("%.0f"), row.Raw.Format("%.0f"), row.Ratio.Format("%.2f"))
	}
	var hot []ContentionRow
	for _, members := range []int{len(t.contended), 1} {
		row := ContentionRow{Clients: 32, Members: members}
		op := t.fullRedemption(t.contended[:members])
		for range rounds {
			runtime.GC()
			before := t.w.meter.Counts()
			res := closedLoop(ctx, row.Clients, warmOf(d), d, op, t.fullDone)
			c := t.w.meter.Counts().Sub(before)
			row.Rate = append(row.Rate, res.rate())
			row.Redemptions += c.Transact - c.TransactCancelled
			row.Conflicts += c.CancelledOnOther
			row.Errors += res.errors
			if res.err != nil && row.FirstError == "" {
				row.FirstError = res.err.Error()
			}
		}
		hot = append(hot, row)
		t.lab.logf("contention %d clients on %d members: %s/s, %d conflicts retried over %d redemptions, %d errors",
			row.Clients, row.Members, row.Rate.Format("%.0f"), row.Conflicts, row.Redemptions, row.Errors)
	}
	return rows, hot
}
