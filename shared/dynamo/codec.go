package dynamo

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Attribute names are short because the account item is written on every
// point movement and DynamoDB bills writes by item size.
const (
	aBalance    = "bal"
	aLifetime   = "life"
	aLots       = "lots"
	aDeficit    = "def"
	aDebt       = "debt"
	aTier       = "tier"
	aNextExp    = "nx"
	aDueOn      = "due"
	aCreated    = "cr"
	aActivity   = "la"
	aVersion    = "ver"
	aFP         = "fp"
	aReversed   = "rev"
	aBudgetUsed = "used" // a promotion budget's points given
	aState      = "st"
	aChanged    = "chg"
	aRoom       = "room"
	aQualifying = "qp"
	aStamps     = "stp"
	aPromoUses  = "pu"
	aReferredBy = "rfp"
)

// accountRecord is the stored shape of loyalty.Account.
type accountRecord struct {
	PK       string           `dynamodbav:"pk"`
	SK       string           `dynamodbav:"sk"`
	Balance  int64            `dynamodbav:"bal"`
	Lifetime int64            `dynamodbav:"life"`
	Lots     map[string]int64 `dynamodbav:"lots"`
	Deficit  int64            `dynamodbav:"def"`
	Debt     int64            `dynamodbav:"debt"`
	Tier     string           `dynamodbav:"tier"`
	NextExp  string           `dynamodbav:"nx,omitempty"`
	DueOn    string           `dynamodbav:"due,omitempty"`
	DueKey   string           `dynamodbav:"dk,omitempty"`
	Snapshot map[string]int64 `dynamodbav:"ds,omitempty"` // the lots again, for the due index (jobs.go)
	ActKey   string           `dynamodbav:"ak,omitempty"` // activity index key (jobs.go)
	Created  time.Time        `dynamodbav:"cr"`
	Activity time.Time        `dynamodbav:"la"`
	Version  int64            `dynamodbav:"ver"`
	// Tier state: qualifying points by month. A quick credit (store.go)
	// ADDs to them, to the counters and to room, the tier headroom the last
	// planned accrual wrote (absent: the next credit plans); the maps are
	// always present so that an ADD to one of their keys has its map.
	ReviewOn   string           `dynamodbav:"trv,omitempty"`
	ReviewKey  string           `dynamodbav:"rk,omitempty"`
	Qualifying map[string]int64 `dynamodbav:"qp"`
	Room       *int64           `dynamodbav:"room,omitempty"`
	Stamps     map[string]int   `dynamodbav:"stp"`
	PromoUses  map[string]int   `dynamodbav:"pu"`
	Earned     map[string]int64 `dynamodbav:"cap,omitempty"` // points per source and period, for the program's caps
	ReferredBy string           `dynamodbav:"rfp,omitempty"`
}

func accountItem(a loyalty.Account) (map[string]types.AttributeValue, error) {
	r := accountRecord{PK: memberPK(a.MemberID), SK: skAccount, Balance: int64(a.Balance), Lifetime: int64(a.Lifetime),
		Lots: map[string]int64{}, Deficit: int64(a.Deficit), Debt: int64(a.Debt), Tier: a.Tier,
		NextExp: string(a.NextExpiry()), DueOn: string(a.DueOn), Created: a.CreatedAt.UTC(), Activity: a.LastActivity.UTC(), Version: a.Version,
		ReviewOn: string(a.TierReviewOn), Qualifying: map[string]int64{}, Stamps: map[string]int{}, PromoUses: map[string]int{},
		ReferredBy: string(a.ReferredBy)}
	for m, p := range a.Qualifying {
		r.Qualifying[m] = int64(p)
	}
	for k, n := range a.Stamps {
		r.Stamps[k] = n
	}
	for k, n := range a.PromoUses {
		r.PromoUses[k] = n
	}
	if len(a.Earned) > 0 {
		r.Earned = make(map[string]int64, len(a.Earned))
		for k, p := range a.Earned {
			r.Earned[k] = int64(p)
		}
	}
	for _, l := range a.Lots {
		r.Lots[string(l.Expires)] = int64(l.Points)
	}
	if a.DueOn != "" {
		r.DueKey = DueKey(a.DueOn, DueShard(a.MemberID))
		r.Snapshot = r.Lots
	}
	r.ActKey = activityKeyOf(a.MemberID, a.LastActivity)
	if a.TierReviewOn != "" {
		r.ReviewKey = ReviewKey(a.TierReviewOn, DueShard(a.MemberID))
	}
	return attributevalue.MarshalMap(r)
}

func decodeAccount(item map[string]types.AttributeValue) (loyalty.Account, error) {
	var r accountRecord
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return loyalty.Account{}, fmt.Errorf("decode account: %w", err)
	}
	id, ok := memberFromPK(r.PK)
	if !ok || r.SK != skAccount {
		return loyalty.Account{}, fmt.Errorf("decode account: item %s/%s is not an account", r.PK, r.SK)
	}
	a := loyalty.Account{MemberID: id, Balance: loyalty.Points(r.Balance), Lifetime: loyalty.Points(r.Lifetime),
		Deficit: loyalty.Points(r.Deficit), Debt: loyalty.Points(r.Debt), Tier: r.Tier, DueOn: loyalty.Date(r.DueOn),
		CreatedAt: r.Created, LastActivity: r.Activity, Version: r.Version, TierReviewOn: loyalty.Date(r.ReviewOn),
		Stamps: nilIfEmpty(r.Stamps), PromoUses: nilIfEmpty(r.PromoUses), ReferredBy: loyalty.MemberID(r.ReferredBy),
		Qualifying: map[string]loyalty.Points{}}
	for m, p := range r.Qualifying {
		a.Qualifying[m] = loyalty.Points(p)
	}
	if len(r.Earned) > 0 {
		a.Earned = make(map[string]loyalty.Points, len(r.Earned))
		for k, p := range r.Earned {
			a.Earned[k] = loyalty.Points(p)
		}
	}
	for d, p := range r.Lots {
		if p != 0 {
			a.Lots = append(a.Lots, loyalty.Lot{Expires: loyalty.Date(d), Points: loyalty.Points(p)})
		}
	}
	sortLots(a.Lots)
	return a, nil
}

// nilIfEmpty keeps an account's empty counters nil, as the domain makes them.
func nilIfEmpty(m map[string]int) map[string]int {
	if len(m) == 0 {
		return nil
	}
	return m
}

func sortLots(l []loyalty.Lot) {
	for i := 1; i < len(l); i++ {
		for j := i; j > 0 && l[j].Expires < l[j-1].Expires; j-- {
			l[j], l[j-1] = l[j-1], l[j]
		}
	}
}

// entryRecord is the stored shape of loyalty.Entry.
type entryRecord struct {
	PK           string           `dynamodbav:"pk"`
	SK           string           `dynamodbav:"sk"`
	Kind         string           `dynamodbav:"k"`
	Delta        int64            `dynamodbav:"d"`
	At           time.Time        `dynamodbav:"at"`
	Lots         map[string]int64 `dynamodbav:"lots,omitempty"`
	DeficitDelta int64            `dynamodbav:"dd,omitempty"`
	DebtDelta    int64            `dynamodbav:"db,omitempty"`
	Ref          string           `dynamodbav:"ref,omitempty"`
	Reason       string           `dynamodbav:"rsn,omitempty"`
	Actor        string           `dynamodbav:"act,omitempty"`
	SpendMinor   *int64           `dynamodbav:"sp,omitempty"`
	Currency     string           `dynamodbav:"cur,omitempty"`
	Earned       int64            `dynamodbav:"earn,omitempty"`
	Reversed     int64            `dynamodbav:"rev"`
	RedemptionID string           `dynamodbav:"rid,omitempty"`
	Rules        []ruleRecord     `dynamodbav:"rules,omitempty"`
	Lines        []lineRecord     `dynamodbav:"ln,omitempty"`
	Tier         string           `dynamodbav:"tier,omitempty"`
	Stamps       []stampRecord    `dynamodbav:"stp,omitempty"`
	Refund       *refundRecord    `dynamodbav:"rf,omitempty"`
	Uncapped     int64            `dynamodbav:"unc,omitempty"` // what a capped credit would have earned
	Fingerprint  string           `dynamodbav:"fp"`
	History      string           `dynamodbav:"ht"` // the history index's sort key (reads.go)
}

// lineRecord is a purchase's line item; names are one letter because lines
// ride on the entry of every purchase that has them.
type lineRecord struct {
	ID       string `dynamodbav:"i"`
	SKU      string `dynamodbav:"s,omitempty"`
	Category string `dynamodbav:"c,omitempty"`
	Quantity int64  `dynamodbav:"q"`
	Minor    int64  `dynamodbav:"a"`
}

// refundRecord is a loyalty.RefundState: on a purchase, what refunds took so
// far; on a refund, what that refund took.
type refundRecord struct {
	Seq    int64            `dynamodbav:"n"`
	Minor  int64            `dynamodbav:"m"`
	Points int64            `dynamodbav:"p"`
	Lines  map[string]int64 `dynamodbav:"l,omitempty"`
}

// aRefund is the entry attribute holding a refundRecord.
const aRefund = "rf"

func toRefundRecord(s *loyalty.RefundState) *refundRecord {
	if s == nil {
		return nil
	}
	return &refundRecord{Seq: s.Seq, Minor: s.Minor, Points: int64(s.Points), Lines: s.Lines}
}

// withRefundState extends the update of a refunded purchase's entry: the
// refund state is replaced only if no other refund changed it since it was
// read (its Seq went up by one), so concurrent refunds of one purchase never
// both count the same lines. Reversals without refund state are unchanged.
func withRefundState(orig loyalty.Entry, cond expression.ConditionBuilder, upd expression.UpdateBuilder) (expression.ConditionBuilder, expression.UpdateBuilder) {
	if orig.Refund == nil {
		return cond, upd
	}
	if before := orig.Refund.Seq - 1; before <= 0 {
		cond = cond.And(expression.AttributeNotExists(expression.Name(aRefund)))
	} else {
		cond = cond.And(expression.Name(aRefund + ".n").Equal(expression.Value(before)))
	}
	return cond, upd.Set(expression.Name(aRefund), expression.Value(toRefundRecord(orig.Refund)))
}

type ruleRecord struct {
	Rule   string `dynamodbav:"r"`
	Points int64  `dynamodbav:"p"`
}

// entryItem is the item of a ledger entry: entryRecord as
// attributevalue.MarshalMap encodes it (TestEntryItemIsMarshalMap compares
// the two on generated entries), written by hand because every credit puts
// one and the reflective encoder was 7% of the ingest handler's CPU.
func entryItem(e loyalty.Entry) (map[string]types.AttributeValue, error) {
	item := make(map[string]types.AttributeValue, 20)
	// The attribute values live in two slices sized for the entry, one
	// allocation each rather than one per value. A value is pointed to
	// once taken; an append past the capacity moves only later values to a
	// new array, never the ones already taken.
	ns := make([]types.AttributeValueMemberN, 0, 8+len(e.Lots)+len(e.Rules)+2*len(e.Lines))
	ss := make([]types.AttributeValueMemberS, 0, 10+len(e.Rules)+3*len(e.Lines)+2*len(e.Stamps))
	sv := func(v string) types.AttributeValue {
		ss = append(ss, types.AttributeValueMemberS{Value: v})
		return &ss[len(ss)-1]
	}
	nv := func(v int64) types.AttributeValue {
		ns = append(ns, types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)})
		return &ns[len(ns)-1]
	}
	str := func(name, v string, omitEmpty bool) {
		if v != "" || !omitEmpty {
			item[name] = sv(v)
		}
	}
	num := func(name string, v int64, omitEmpty bool) {
		if v != 0 || !omitEmpty {
			item[name] = nv(v)
		}
	}
	str("pk", memberPK(e.MemberID), false)
	str("sk", entrySK(e.Key), false)
	str("k", string(e.Kind), false)
	num("d", int64(e.Delta), false)
	str("at", e.At.UTC().Format(time.RFC3339Nano), false)
	if len(e.Lots) > 0 {
		lots := make(map[string]types.AttributeValue, len(e.Lots))
		for i, l := range e.Lots { // one value per day, the sum of its lots
			if _, done := lots[string(l.Expires)]; done {
				continue
			}
			var sum int64
			for _, o := range e.Lots[i:] {
				if o.Expires == l.Expires {
					sum += int64(o.Points)
				}
			}
			lots[string(l.Expires)] = nv(sum)
		}
		item["lots"] = &types.AttributeValueMemberM{Value: lots}
	}
	num("dd", int64(e.DeficitDelta), true)
	num("db", int64(e.DebtDelta), true)
	str("ref", e.Ref, true)
	str("rsn", e.Reason, true)
	str("act", e.Actor, true)
	if e.Spend != nil {
		item["sp"] = nv(e.Spend.Minor)
		str("cur", e.Spend.Currency, true)
	}
	num("earn", int64(e.Earned), true)
	num("rev", int64(e.Reversed), false)
	str("rid", e.RedemptionID, true)
	if len(e.Rules) > 0 {
		l := make([]types.AttributeValue, len(e.Rules))
		ms := make([]types.AttributeValueMemberM, len(e.Rules))
		for i, rr := range e.Rules {
			ms[i].Value = map[string]types.AttributeValue{"r": sv(rr.Rule), "p": nv(int64(rr.Points))}
			l[i] = &ms[i]
		}
		item["rules"] = &types.AttributeValueMemberL{Value: l}
	}
	if len(e.Lines) > 0 {
		l := make([]types.AttributeValue, len(e.Lines))
		ms := make([]types.AttributeValueMemberM, len(e.Lines))
		for i, ln := range e.Lines {
			m := make(map[string]types.AttributeValue, 5)
			m["i"], m["q"], m["a"] = sv(ln.ID), nv(ln.Quantity), nv(ln.Minor)
			if ln.SKU != "" {
				m["s"] = sv(ln.SKU)
			}
			if ln.Category != "" {
				m["c"] = sv(ln.Category)
			}
			ms[i].Value = m
			l[i] = &ms[i]
		}
		item["ln"] = &types.AttributeValueMemberL{Value: l}
	}
	str("tier", e.Tier, true)
	if len(e.Stamps) > 0 {
		l := make([]types.AttributeValue, len(e.Stamps))
		ms := make([]types.AttributeValueMemberM, len(e.Stamps))
		for i, m := range e.Stamps {
			v := map[string]types.AttributeValue{"c": sv(m.Card)}
			if m.RedemptionID != "" {
				v["r"] = sv(m.RedemptionID)
			}
			ms[i].Value = v
			l[i] = &ms[i]
		}
		item["stp"] = &types.AttributeValueMemberL{Value: l}
	}
	if rf := e.Refund; rf != nil {
		m := map[string]types.AttributeValue{"n": avNum(rf.Seq), "m": avNum(rf.Minor), "p": avNum(int64(rf.Points))}
		if rf.Lines != nil {
			m["l"] = avNumMap(rf.Lines)
		}
		item["rf"] = &types.AttributeValueMemberM{Value: m}
	}
	num("unc", int64(e.Uncapped), true)
	str("fp", e.Fingerprint, false)
	str("ht", historyKey(e.At, e.Key), false)
	return item, nil
}

func avNum(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func avNumMap(m map[string]int64) types.AttributeValue {
	av := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		av[k] = avNum(v)
	}
	return &types.AttributeValueMemberM{Value: av}
}

func decodeEntry(item map[string]types.AttributeValue) (loyalty.Entry, error) {
	var r entryRecord
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return loyalty.Entry{}, fmt.Errorf("decode entry: %w", err)
	}
	id, _ := memberFromPK(r.PK)
	e := loyalty.Entry{MemberID: id, Key: r.SK[len(prefixEntry):], Kind: loyalty.EntryKind(r.Kind), Delta: loyalty.Points(r.Delta),
		At: r.At, DeficitDelta: loyalty.Points(r.DeficitDelta), DebtDelta: loyalty.Points(r.DebtDelta), Ref: r.Ref,
		Reason: r.Reason, Actor: r.Actor, Earned: loyalty.Points(r.Earned), Reversed: loyalty.Points(r.Reversed),
		RedemptionID: r.RedemptionID, Fingerprint: r.Fingerprint, Uncapped: loyalty.Points(r.Uncapped)}
	for d, p := range r.Lots {
		e.Lots = append(e.Lots, loyalty.Lot{Expires: loyalty.Date(d), Points: loyalty.Points(p)})
	}
	sortLots(e.Lots)
	if r.SpendMinor != nil {
		e.Spend = &loyalty.Money{Minor: *r.SpendMinor, Currency: r.Currency}
	}
	for _, rr := range r.Rules {
		e.Rules = append(e.Rules, loyalty.RuleResult{Rule: rr.Rule, Points: loyalty.Points(rr.Points)})
	}
	e.Tier = r.Tier
	for _, m := range r.Stamps {
		e.Stamps = append(e.Stamps, loyalty.StampMark{Card: m.Card, RedemptionID: m.RedemptionID})
	}
	for _, l := range r.Lines {
		e.Lines = append(e.Lines, loyalty.Line{ID: l.ID, SKU: l.SKU, Category: l.Category, Quantity: l.Quantity, Minor: l.Minor})
	}
	if r.Refund != nil {
		e.Refund = &loyalty.RefundState{Seq: r.Refund.Seq, Minor: r.Refund.Minor, Points: loyalty.Points(r.Refund.Points), Lines: r.Refund.Lines}
	}
	return e, nil
}

// redemptionRecord is the stored shape of loyalty.Redemption.
type redemptionRecord struct {
	PK         string           `dynamodbav:"pk"`
	SK         string           `dynamodbav:"sk"`
	RewardID   string           `dynamodbav:"rw"`
	RewardName string           `dynamodbav:"name"`
	Cost       int64            `dynamodbav:"cost"`
	Code       string           `dynamodbav:"code"`
	State      string           `dynamodbav:"st"`
	IssuedAt   time.Time        `dynamodbav:"iss"`
	ValidUntil string           `dynamodbav:"vu,omitempty"`
	ChangedAt  time.Time        `dynamodbav:"chg"`
	EntryKey   string           `dynamodbav:"ek"`
	Source     string           `dynamodbav:"src,omitempty"`
	Lots       map[string]int64 `dynamodbav:"lots,omitempty"`
	DueKey     string           `dynamodbav:"dk,omitempty"` // issued with an end day: the reminder job finds it (jobs.go)
}

func redemptionItem(r loyalty.Redemption) (map[string]types.AttributeValue, error) {
	rec := redemptionRecord{PK: memberPK(r.MemberID), SK: redemptionSK(r.ID), RewardID: r.RewardID, RewardName: r.RewardName,
		Cost: int64(r.Cost), Code: r.Code, State: string(r.State), IssuedAt: r.IssuedAt.UTC(), ValidUntil: string(r.ValidUntil),
		ChangedAt: r.ChangedAt.UTC(), EntryKey: r.EntryKey, Source: r.Source}
	if r.State == loyalty.RedemptionIssued && r.ValidUntil != "" {
		rec.DueKey = RewardDueKey(r.ValidUntil, DueShard(r.MemberID))
	}
	if len(r.Lots) > 0 {
		rec.Lots = map[string]int64{}
		for _, l := range r.Lots {
			rec.Lots[string(l.Expires)] += int64(l.Points)
		}
	}
	return attributevalue.MarshalMap(rec)
}

func decodeRedemption(item map[string]types.AttributeValue) (loyalty.Redemption, error) {
	var rec redemptionRecord
	if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
		return loyalty.Redemption{}, fmt.Errorf("decode redemption: %w", err)
	}
	id, _ := memberFromPK(rec.PK)
	r := loyalty.Redemption{ID: rec.SK[len(prefixRedemption):], MemberID: id, RewardID: rec.RewardID, RewardName: rec.RewardName,
		Cost: loyalty.Points(rec.Cost), Code: rec.Code, State: loyalty.RedemptionState(rec.State), IssuedAt: rec.IssuedAt,
		ValidUntil: loyalty.Date(rec.ValidUntil), ChangedAt: rec.ChangedAt, EntryKey: rec.EntryKey, Source: rec.Source}
	for d, p := range rec.Lots {
		r.Lots = append(r.Lots, loyalty.Lot{Expires: loyalty.Date(d), Points: loyalty.Points(p)})
	}
	sortLots(r.Lots)
	return r, nil
}

// rewardRecord is the stored shape of loyalty.Reward.
type rewardRecord struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Name      string `dynamodbav:"name"`
	Kind      string `dynamodbav:"kind"`
	Cost      int64  `dynamodbav:"cost"`
	ValueMin  *int64 `dynamodbav:"vmin,omitempty"`
	ValueCur  string `dynamodbav:"vcur,omitempty"`
	ValidDays int    `dynamodbav:"vd"`
	Active    bool   `dynamodbav:"act"`
}

func rewardItem(r loyalty.Reward) (map[string]types.AttributeValue, error) {
	rec := rewardRecord{PK: pkCatalog, SK: rewardSK(r.ID), Name: r.Name, Kind: string(r.Kind), Cost: int64(r.Cost), ValidDays: r.ValidDays, Active: r.Active}
	if r.Value != nil {
		v := r.Value.Minor
		rec.ValueMin, rec.ValueCur = &v, r.Value.Currency
	}
	return attributevalue.MarshalMap(rec)
}

func decodeReward(item map[string]types.AttributeValue) (loyalty.Reward, error) {
	var rec rewardRecord
	if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
		return loyalty.Reward{}, fmt.Errorf("decode reward: %w", err)
	}
	r := loyalty.Reward{ID: rec.SK[len(prefixReward):], Name: rec.Name, Kind: loyalty.RewardKind(rec.Kind), Cost: loyalty.Points(rec.Cost),
		ValidDays: rec.ValidDays, Active: rec.Active}
	if rec.ValueMin != nil {
		r.Value = &loyalty.Money{Minor: *rec.ValueMin, Currency: rec.ValueCur}
	}
	return r, nil
}

type stampRecord struct {
	Card         string `dynamodbav:"c"`
	RedemptionID string `dynamodbav:"r,omitempty"`
}
