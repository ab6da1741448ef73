package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Figure 8 (issue 15): what naming the member costs at the ingest. The same
// plain purchase (plainBasket) of an enrolled member, sent through the
// ingest handler with the member named by id (version 1's memberRef), by
// card number, by the QR payload of a rotating code and by its short form,
// beside the bare 2-item transaction, one at a time on one table: DynamoDB
// requests and units per purchase from the Meter, and the median latency.

// TillRow is one way of naming the member.
type TillRow struct {
	Kind   string
	Counts Counts        // per purchase
	Median time.Duration // per purchase, one caller
	Ratio  float64       // the bare transaction's median over this one's: throughput at one caller, against the bare transaction
	N      int
}

// TillFigure is figure 8.
type TillFigure struct {
	Rows []TillRow
	Bare time.Duration // median of the bare 2-item TransactWriteItems
	N    int
}

// tillRounds is how many purchases of each kind the figure times.
var tillRounds = 60

// benchCodeSecret writes a code secret for the functions' init (figure 5)
// and the till figure, as the local stack does, and returns its path.
func benchCodeSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	path := filepath.Join(os.TempDir(), "loyalty-bench-code-secret-"+hex.EncodeToString(b[:4]))
	if err := os.WriteFile(path, []byte(hex.EncodeToString(b[:])), 0o600); err != nil {
		return "", fmt.Errorf("code secret: %w", err)
	}
	return path, nil
}

// v2PurchaseBody is purchaseBody with the member named by kind
// (purchase.completed version 2).
func v2PurchaseBody(p purchase, kind loyalty.RefKind, ref string) []byte {
	var m map[string]any
	if err := json.Unmarshal(purchaseBody(p), &m); err != nil {
		panic(err)
	}
	delete(m, "memberRef")
	m["version"] = 2
	m["member"] = map[string]string{"kind": string(kind), "ref": ref}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func (l *lab) till(ctx context.Context) (TillFigure, error) {
	table, err := l.newTable(ctx, "till")
	if err != nil {
		return TillFigure{}, err
	}
	w, err := l.newWorld(table, l.ddb, loyalty.SystemClock{})
	if err != nil {
		return TillFigure{}, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return TillFigure{}, err
	}
	if w.svc.Codes, err = loyalty.NewCodeSealer(secret); err != nil {
		return TillFigure{}, err
	}
	w.svc.Cards = w.store
	w.meter.Bill()
	run := fmt.Sprintf("%x", time.Now().UnixNano()%(1<<32))
	now := time.Now().UTC()
	seq := 0
	send := func(ctx context.Context, body []byte) error {
		failed, err := w.runIngest(ctx, sqsPayload([][]byte{body}, int64(seq)))
		if err == nil && failed > 0 {
			err = fmt.Errorf("the handler failed the message")
		}
		return err
	}
	event := func() string { seq++; return fmt.Sprintf("till-%s-%d", run, seq) }
	// A member per round, enrolled and with a card (the state a member's
	// purchases find), who makes one purchase of each kind: four plain
	// purchases keep the account plain (base tier, no promotion).
	var (
		mid  string
		card loyalty.Card
	)
	newMember := func(ctx context.Context, i int) error {
		mid = fmt.Sprintf("till-%s-%d", run, i)
		if err := send(ctx, purchaseBody(purchase{partnerID: benchPartner, eventID: event(), member: mid, at: now, basket: plainBasket})); err != nil {
			return fmt.Errorf("enrol: %w", err)
		}
		card, err = w.svc.MemberCard(ctx, loyalty.MemberID(mid))
		return err
	}
	type kind struct {
		name string
		body func(ctx context.Context) ([]byte, error)
	}
	p := func() purchase {
		return purchase{partnerID: benchPartner, eventID: event(), member: mid, at: now, basket: plainBasket}
	}
	code := func(short bool) func(ctx context.Context) ([]byte, error) {
		return func(ctx context.Context) ([]byte, error) {
			c, err := w.svc.IssueCode(ctx, loyalty.MemberID(mid)) // the app's call, not counted
			if err != nil {
				return nil, err
			}
			ref := c.QR
			if short {
				ref = c.Short
			}
			return v2PurchaseBody(p(), loyalty.RefCode, ref), nil
		}
	}
	kinds := []kind{
		{"member id (version 1 memberRef)", func(context.Context) ([]byte, error) { return purchaseBody(p()), nil }},
		{"card number", func(context.Context) ([]byte, error) {
			return v2PurchaseBody(p(), loyalty.RefCard, card.Number.Printable()), nil
		}},
		{"rotating code, QR payload", code(false)},
		{"rotating code, short form", code(true)},
	}
	bare := func(ctx context.Context, i int) error {
		pk := "BENCHTILL#" + run
		_, err := l.ddb.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: &table, ConditionExpression: aws.String("attribute_not_exists(pk)"),
				Item: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: fmt.Sprintf("L#%d", i)}}}},
			{Update: &types.Update{TableName: &table, Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: "A"}},
				UpdateExpression: aws.String("ADD bal :one"), ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}}}},
		}})
		return err
	}
	times := make([][]time.Duration, len(kinds))
	counts := make([]Counts, len(kinds))
	var bareTimes []time.Duration
	for i := range tillRounds {
		if err := newMember(ctx, i); err != nil {
			return TillFigure{}, err
		}
		for k := range len(kinds) + 1 {
			k := (k + i) % (len(kinds) + 1) // who goes first rotates
			if k == len(kinds) {
				start := time.Now()
				if err := bare(ctx, i); err != nil {
					return TillFigure{}, fmt.Errorf("bare transaction: %w", err)
				}
				bareTimes = append(bareTimes, time.Since(start))
				continue
			}
			body, err := kinds[k].body(ctx)
			if err != nil {
				return TillFigure{}, fmt.Errorf("%s: %w", kinds[k].name, err)
			}
			before := w.meter.Counts()
			start := time.Now()
			if err := send(ctx, body); err != nil {
				return TillFigure{}, fmt.Errorf("%s: %w", kinds[k].name, err)
			}
			times[k] = append(times[k], time.Since(start))
			counts[k] = add(counts[k], w.meter.Counts().Sub(before))
		}
		want := loyalty.Points(len(kinds)+1) * 4 // every purchase earned its 4 points
		if a, err := w.store.Account(ctx, loyalty.MemberID(mid)); err != nil || a.Balance < want {
			return TillFigure{}, fmt.Errorf("till member's balance: got %d (%v), want at least %d: a purchase was not credited", a.Balance, err, want)
		}
	}
	fig := TillFigure{Bare: medianDuration(bareTimes), N: tillRounds}
	for k, kd := range kinds {
		m := medianDuration(times[k])
		fig.Rows = append(fig.Rows, TillRow{Kind: kd.name, Counts: scale(counts[k], tillRounds), Median: m, Ratio: float64(fig.Bare) / float64(m), N: tillRounds})
	}
	return fig, nil
}

func medianDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func (r *Report) tillSection(b *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	f := r.Till
	if len(f.Rows) == 0 {
		return
	}
	p("## 8. Who is at the till: the cost of naming the member\n\n")
	p("The same plain purchase (%s) of an enrolled member through the ingest handler, batch of 1, one at a time, "+
		"the member named four ways (issue 15), %d purchases each, interleaved with the bare 2-item TransactWriteItems "+
		"(median %s). Requests and units per purchase from ConsumedCapacity; the ratio is the bare transaction's median "+
		"latency over the purchase's, i.e. throughput at one caller against the bare transaction.\n\n", plainBasket, f.N, f.Bare.Round(10*time.Microsecond))
	p("| member named by | DynamoDB requests | read units billed | write units billed | median latency | ratio to the bare transaction |\n|---|---|---|---|---|---|\n")
	for _, row := range f.Rows {
		c := CapacityRow{Counts: row.Counts}
		p("| %s | %s | %.1f | %.1f | %s | %.2f |\n", row.Kind, c.Requests(), row.Counts.BilledRead, row.Counts.BilledWrite, row.Median.Round(10*time.Microsecond), row.Ratio)
	}
	p("\nA member's own card number costs one strongly consistent GetItem before the credit (the card; a printed card's " +
		"purchase also reads its key under the card's anonymous account, where a purchase made before a claim may still wait " +
		"to be moved); a QR code none (its seal is checked in " +
		"the handler), and its use is a third item of the credit's one transaction (put only if the code is unspent); " +
		"the short form adds one BatchGetItem of the code and the partner's misses of the minute.\n\n")
}
