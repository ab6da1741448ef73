package loyalty

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// EntryKind says what moved the points.
type EntryKind string

const (
	KindAccrual          EntryKind = "accrual"
	KindRedemption       EntryKind = "redemption"
	KindRedemptionCancel EntryKind = "redemption_cancel"
	KindReversal         EntryKind = "reversal"
	KindAdjustment       EntryKind = "adjustment"
	KindExpiry           EntryKind = "expiry"
	KindTierReview       EntryKind = "tier_review"
	KindReferralBonus    EntryKind = "referral_bonus" // a referrer's bonus (referral.go)
	KindFeedback         EntryKind = "feedback"       // feedback on a purchase and its bonus (feedback.go)
)

// Entry is one line of a member's ledger. It is written once, in the same
// transaction as the account change it describes, under its idempotency Key;
// only Reversed (and Refund, for purchases) change later, when a refund
// claws the entry back.
type Entry struct {
	MemberID     MemberID     `json:"memberId"`
	Key          string       `json:"key"`
	Kind         EntryKind    `json:"kind"`
	Delta        Points       `json:"delta"` // change of the balance
	At           time.Time    `json:"at"`
	Lots         []Lot        `json:"lots,omitempty"` // lot changes, signed
	DeficitDelta Points       `json:"deficitDelta,omitempty"`
	DebtDelta    Points       `json:"debtDelta,omitempty"`
	Ref          string       `json:"ref,omitempty"`    // purchase, reward or original entry
	Reason       string       `json:"reason,omitempty"` // why: adjustment reason, expiry day
	Actor        string       `json:"actor,omitempty"`  // who asked: member, partner:<id>, ops:<name>, job:<name>
	Spend        *Money       `json:"spend,omitempty"`  // accruals: what was spent
	Earned       Points       `json:"earned,omitempty"` // credits: points earned, what a reversal can claw back
	Reversed     Points       `json:"reversed,omitempty"`
	RedemptionID string       `json:"redemptionId,omitempty"`
	Rules        []RuleResult `json:"rules,omitempty"`  // how the points were computed
	Lines        []Line       `json:"lines,omitempty"`  // purchases: the line items, for refunds by line
	Refund       *RefundState `json:"refund,omitempty"` // purchases: refunded so far; refunds: what this one took (refund.go)
	Tier         string       `json:"tier,omitempty"`   // the tier this entry moved the member to
	Stamps       []StampMark  `json:"stamps,omitempty"` // purchases: the stamps they earned
	// Uncapped is what a credit would have earned without the program's
	// caps (limits.go); 0 when no cap cut it.
	Uncapped    Points `json:"uncapped,omitempty"`
	Fingerprint string `json:"-"`
}

// RuleResult explains one rule's share of an accrual.
type RuleResult struct {
	Rule   string `json:"rule"`
	Points Points `json:"points"`
}

// Fingerprint hashes the parts of a request that make it the same request.
// A replay with the same key and fingerprint returns the first result; the
// same key with another fingerprint is refused.
func Fingerprint(parts ...any) string {
	b, err := json.Marshal(parts)
	if err != nil {
		panic("loyalty: fingerprint of unmarshalable value: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// StampMark is one stamp a purchase earned, and the reward it issued when it
// filled the card.
type StampMark struct {
	Card         string `json:"card"`
	RedemptionID string `json:"redemptionId,omitempty"`
}
