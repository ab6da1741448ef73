package loyalty

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// PurchaseFeedback is a member's rating and comment on one of their own
// purchases. It is written once per purchase, in the same transaction as the
// ledger entry that carries its bonus (which may be zero points).
type PurchaseFeedback struct {
	MemberID    MemberID  `json:"memberId"`
	PurchaseID  string    `json:"purchaseId"`            // the purchase's ledger key, as the activity shows it
	PurchaseRef string    `json:"purchaseRef,omitempty"` // the partner's reference of the purchase
	Rating      int       `json:"rating"`                // 1 to 5
	Comment     string    `json:"comment,omitempty"`
	At          time.Time `json:"at"`
	Day         Date      `json:"day"` // the program-local day, by which ops list feedback
	Bonus       Points    `json:"bonusPoints"`
}

// FeedbackRequest is what a member sends about a purchase.
type FeedbackRequest struct {
	MemberID   MemberID
	PurchaseID string
	Rating     int
	Comment    string
}

// defaultMaxComment bounds comments when the program has no feedback section.
const defaultMaxComment = 1000

// maxPurchaseID bounds a purchase id: "p:" + partner + ":" + event id.
const maxPurchaseID = 300

// keyFeedback prefixes the ledger key of a purchase's feedback entry.
const keyFeedback = "fb:"

// Validate checks a feedback request against the program's limits and
// trims the comment.
func (r *FeedbackRequest) Validate(prog *Program) error {
	if err := ValidateMemberID("memberId", r.MemberID); err != nil {
		return err
	}
	if !validToken(r.PurchaseID, maxPurchaseID) {
		return Invalid("purchaseId", "purchaseId must be the id of a purchase in the member's activity")
	}
	if r.Rating < 1 || r.Rating > 5 {
		return Invalid("rating", "rating must be from 1 to 5, got %d", r.Rating)
	}
	r.Comment = strings.TrimSpace(r.Comment)
	if !utf8.ValidString(r.Comment) {
		return Invalid("comment", "comment must be UTF-8 text")
	}
	limit := defaultMaxComment
	if prog.Feedback != nil {
		limit = prog.Feedback.MaxCommentLength
	}
	if n := utf8.RuneCountInString(r.Comment); n > limit {
		return Invalid("comment", "comment must be at most %d characters, got %d", limit, n)
	}
	for _, c := range r.Comment {
		if unicode.IsControl(c) && c != '\n' && c != '\t' {
			return Invalid("comment", "comment must not hold control characters")
		}
	}
	return nil
}

// PlanFeedback records feedback on purchase (an entry of the member's
// ledger) with the program's bonus, credited as a lot like an accrual.
func PlanFeedback(acct Account, prog *Program, purchase Entry, r FeedbackRequest, now time.Time) (Change, error) {
	if purchase.Kind != KindAccrual || purchase.Spend == nil {
		return Change{}, Invalid("purchaseId", "entry %s is a %s, not a purchase", purchase.Key, purchase.Kind)
	}
	var bonus Points
	if prog.Feedback != nil {
		bonus = prog.Feedback.BonusPoints
	}
	a := acct.Clone()
	offered := bonus
	bonus = prog.capBonus(&a, SourceFeedback, bonus, now)
	e := Entry{MemberID: r.MemberID, Key: keyFeedback + purchase.Key, Kind: KindFeedback, At: now, Ref: purchase.Key,
		Reason: fmt.Sprintf("feedback on a purchase (%d of 5)", r.Rating), Actor: "member", Earned: bonus}
	if bonus < offered {
		e.Uncapped = offered
	}
	before := a.Balance
	if bonus > 0 {
		a.credit(&e, bonus, prog.LotExpiry(now))
		a.Lifetime += bonus
		e.Rules = []RuleResult{{Rule: "feedback", Points: bonus}}
	}
	a.settle(&e, before, prog.Today(now))
	fb := &PurchaseFeedback{MemberID: r.MemberID, PurchaseID: purchase.Key, PurchaseRef: purchase.Ref, Rating: r.Rating,
		Comment: r.Comment, At: now, Day: prog.Today(now), Bonus: bonus}
	return Change{Entry: e, Account: a, Feedback: fb}, nil
}

// GiveFeedback records a member's feedback on one of their purchases, once:
// the same feedback sent again returns the first result (Replayed), other
// feedback on the same purchase is refused.
//
// Errors: CodeInvalid (bad input, or the entry is not a purchase),
// CodeNotFound (no such purchase in the member's ledger), CodeConflict
// (feedback on this purchase was given already), CodeUnavailable.
func (s *Service) GiveFeedback(ctx context.Context, r FeedbackRequest) (PurchaseFeedback, Result, error) {
	if err := r.Validate(s.Program); err != nil {
		return PurchaseFeedback{}, Result{}, err
	}
	now := s.Clock.Now()
	purchase, err := s.Store.Entry(ctx, r.MemberID, r.PurchaseID)
	if ErrorCode(err) == CodeNotFound {
		return PurchaseFeedback{}, Result{}, &Error{Code: CodeNotFound, Field: "purchaseId",
			Message: fmt.Sprintf("no purchase %s in the member's activity", r.PurchaseID)}
	}
	if err != nil {
		return PurchaseFeedback{}, Result{}, err
	}
	var fb PurchaseFeedback
	plan := func(acct Account, exists bool) (Change, error) {
		c, err := PlanFeedback(acct, s.Program, purchase, r, now)
		if err == nil {
			fb = *c.Feedback
		}
		return c, err
	}
	key := keyFeedback + purchase.Key
	res, err := s.Store.Apply(ctx, Op{Member: r.MemberID, Key: key, Plan: plan,
		Fingerprint: Fingerprint("feedback", r.MemberID, purchase.Key, r.Rating, r.Comment)})
	if ErrorCode(err) == CodeIdempotencyReuse {
		return PurchaseFeedback{}, Result{}, &Error{Code: CodeConflict, Field: "purchaseId",
			Message: fmt.Sprintf("feedback on purchase %s was given already", purchase.Key)}
	}
	if err != nil {
		return PurchaseFeedback{}, Result{}, fmt.Errorf("feedback on %s by member %s: %w", purchase.Key, r.MemberID, err)
	}
	if res.Replayed {
		// The same feedback again: the first one, as the fingerprint proves.
		fb = PurchaseFeedback{MemberID: r.MemberID, PurchaseID: purchase.Key, PurchaseRef: purchase.Ref, Rating: r.Rating,
			Comment: r.Comment, At: res.Entry.At, Day: s.Program.Today(res.Entry.At), Bonus: res.Entry.Earned}
	}
	// A replay delivers too: it finishes what a run that failed after the
	// credit began.
	if err := s.tellFeedbackBonus(ctx, r, res); err != nil {
		return PurchaseFeedback{}, Result{}, fmt.Errorf("feedback on %s by member %s: %w", purchase.Key, r.MemberID, err)
	}
	return fb, res, nil
}
