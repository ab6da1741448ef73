package loyalty

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"time"
)

// RewardKind is what a reward gives the member.
type RewardKind string

const (
	RewardFreeProduct RewardKind = "free_product"
	RewardDiscount    RewardKind = "discount_voucher"
	RewardGiftCard    RewardKind = "gift_card"
)

// Reward is an item of the catalog.
type Reward struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Kind      RewardKind `json:"kind"`
	Cost      Points     `json:"cost"`
	Value     *Money     `json:"value,omitempty"` // face value of a voucher or gift card
	ValidDays int        `json:"validDays"`       // how long an issued code can be used; 0: no limit
	Active    bool       `json:"active"`
}

// Validate checks a catalog item.
func (r *Reward) Validate() error {
	if err := ValidateKey("id", r.ID); err != nil {
		return err
	}
	if strings.TrimSpace(r.Name) == "" || len(r.Name) > 200 {
		return Invalid("name", "name is required, at most 200 characters")
	}
	switch r.Kind {
	case RewardFreeProduct, RewardDiscount, RewardGiftCard:
	default:
		return Invalid("kind", "must be free_product, discount_voucher or gift_card; got %q", r.Kind)
	}
	if r.Cost < 0 || r.Cost > MaxPoints {
		return Invalid("cost", "cost must be between 0 and %d", MaxPoints)
	}
	if r.Value != nil {
		if err := ValidateMoney("value", *r.Value, false); err != nil {
			return err
		}
	}
	if r.ValidDays < 0 || r.ValidDays > 3660 {
		return Invalid("validDays", "must be between 0 and 3660")
	}
	return nil
}

// RedemptionState is where an issued reward is in its life.
type RedemptionState string

const (
	RedemptionIssued    RedemptionState = "issued"
	RedemptionUsed      RedemptionState = "used"
	RedemptionCancelled RedemptionState = "cancelled"
)

// Redemption is a reward issued to a member, with the code they show.
type Redemption struct {
	ID         string          `json:"id"`
	MemberID   MemberID        `json:"-"`
	RewardID   string          `json:"rewardId"`
	RewardName string          `json:"rewardName"`
	Cost       Points          `json:"cost"`
	Code       string          `json:"code"`
	State      RedemptionState `json:"state"`
	IssuedAt   time.Time       `json:"issuedAt"`
	ValidUntil Date            `json:"validUntil,omitempty"`
	ChangedAt  time.Time       `json:"changedAt"`
	Source     string          `json:"source,omitempty"` // "" for points, "stamp_card:<id>" for a filled card
	EntryKey   string          `json:"-"`                // ledger entry that spent the points
	Lots       []Lot           `json:"-"`                // lots the points came from, to give them back on cancel
}

// rewardCode derives a code from the member and the idempotency key, so a
// retried redemption shows the same code. 16 characters of base32 carry 80
// bits: not guessable, easy to read out at a till.
func rewardCode(member MemberID, key string) (id, code string) {
	sum := sha256.Sum256([]byte(string(member) + "\x00" + key))
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:])
	return strings.ToLower(enc[:20]), enc[20:24] + "-" + enc[24:28] + "-" + enc[28:32] + "-" + enc[32:36]
}
