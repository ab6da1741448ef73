package loyalty

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Physical cards before members. Ops print batches of cards, each with a
// claim secret under a scratch field; a card earns from its first purchase,
// into an anonymous account (AnonymousMember) with the same rules, lots and
// expiry as any member's; the member who claims the card in the app (its
// number and claim secret) takes its points, lots and history into their
// account in one transaction. From then on the anonymous id takes no more
// changes, like an erased id: a purchase that still names it (one the
// claim overtook) is redirected to the card's new owner, so a claim racing
// purchases loses nothing.

// CardUnclaimed is a printed card nobody has claimed: it earns into its
// anonymous account.
const CardUnclaimed CardState = "unclaimed"

// anonymousPrefix starts every anonymous member id.
const anonymousPrefix = "card:"

// AnonymousMember is the member id of an unclaimed card's account.
func AnonymousMember(n CardNumber) MemberID { return MemberID(anonymousPrefix + string(n)) }

// IsAnonymous reports whether id is an unclaimed card's account.
func IsAnonymous(id MemberID) bool { return strings.HasPrefix(string(id), anonymousPrefix) }

// PrintedCard is what ops print: the number and the claim secret.
type PrintedCard struct {
	Number      CardNumber `json:"number"`
	Printed     string     `json:"printed"`     // the number grouped by four
	ClaimSecret string     `json:"claimSecret"` // for the scratch field; shown once, stored only as a hash
}

// claimAlphabet leaves out 0, O, 1, I and L, which print alike.
const claimAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// claimHash is what the store keeps of a claim secret.
func claimHash(n CardNumber, secret string) string {
	sum := sha256.Sum256([]byte("loyalty card claim\x00" + string(n) + "\x00" + strings.ToUpper(strings.ReplaceAll(secret, "-", ""))))
	return hex.EncodeToString(sum[:])
}

// MaxCardBatch is the largest batch GenerateCards makes at once.
const MaxCardBatch = 500

// GenerateCards makes count unclaimed cards (at most MaxCardBatch) and
// returns them with their claim secrets, which nothing keeps but a hash.
// Errors: CodeInvalid (count), CodeUnavailable, CodeInternal without a
// card store.
func (s *Service) GenerateCards(ctx context.Context, count int) ([]PrintedCard, error) {
	if count < 1 || count > MaxCardBatch {
		return nil, Invalid("count", "a batch has 1 to %d cards, got %d", MaxCardBatch, count)
	}
	if s.Cards == nil {
		return nil, &Error{Code: CodeInternal, Message: "internal error", Err: errNotWired("card store")}
	}
	now := s.Clock.Now().UTC()
	out := make([]PrintedCard, 0, count)
	for len(out) < count {
		n, err := NewCardNumber(nil)
		if err != nil {
			return nil, &Error{Code: CodeInternal, Message: "internal error", Err: err}
		}
		raw := make([]byte, 12)
		if _, err := rand.Read(raw); err != nil {
			return nil, &Error{Code: CodeInternal, Message: "internal error", Err: err}
		}
		var sb strings.Builder
		for i, b := range raw {
			if i > 0 && i%4 == 0 {
				sb.WriteByte('-')
			}
			sb.WriteByte(claimAlphabet[int(b)%len(claimAlphabet)])
		}
		secret := sb.String()
		c := Card{Number: n, Member: AnonymousMember(n), State: CardUnclaimed, IssuedAt: now, ClaimHash: claimHash(n, secret)}
		err = s.Cards.PutUnclaimedCard(ctx, c)
		if ErrorCode(err) == CodeConflict {
			continue // the number is taken: draw another
		}
		if err != nil {
			return nil, fmt.Errorf("generate cards: %w", err)
		}
		out = append(out, PrintedCard{Number: n, Printed: n.Printable(), ClaimSecret: secret})
	}
	return out, nil
}

// CardClaim is the outcome of a claim: the card, now the member's, and
// what its anonymous account brought.
type CardClaim struct {
	Card    Card   `json:"card"`
	Points  Points `json:"points"`  // the balance the card brought (0 on a retry)
	Entries int    `json:"entries"` // ledger entries this call moved into the member's history
	// History is ClaimDone once every entry and reward of the card is the
	// member's, ClaimMoving while some still wait (the same claim again
	// moves the rest).
	History string `json:"history"`
}

// The states of a claimed card's history.
const (
	ClaimMoving = "moving"
	ClaimDone   = "done"
)

// ClaimBudget is how long one claim call moves a card's history before it
// answers; what is left moves on the next call of the same claim.
const ClaimBudget = 5 * time.Second

// ClaimCard gives the member the unclaimed card with number and secret:
// its points, lots and counters join the member's account in one
// transaction, and from then on the card is the member's; its history
// (ledger entries and rewards) then moves in pages of one transaction each,
// for at most ClaimBudget (or the context's deadline). Claiming a card the
// member claimed already answers the card again and moves what is left of
// its history. Errors: CodeInvalid (number), CodeNotFound (no such card, or
// a wrong claim secret: the two read the same, against guessing),
// CodeConflict (the card is another member's), CodeMemberErased,
// CodeUnavailable.
func (s *Service) ClaimCard(ctx context.Context, member MemberID, number, secret string) (CardClaim, error) {
	if err := ValidateMemberID("memberId", member); err != nil {
		return CardClaim{}, err
	}
	n, err := ParseCardNumber("number", number)
	if err != nil {
		return CardClaim{}, err
	}
	if s.Cards == nil {
		return CardClaim{}, &Error{Code: CodeInternal, Message: "internal error", Err: errNotWired("card store")}
	}
	c, err := s.Cards.CardByNumber(ctx, n)
	if ErrorCode(err) == CodeNotFound {
		return CardClaim{}, Errorf(CodeNotFound, "no card has this number and claim secret")
	}
	if err != nil {
		return CardClaim{}, err
	}
	if c.ClaimHash == "" || subtle.ConstantTimeCompare([]byte(c.ClaimHash), []byte(claimHash(n, secret))) != 1 {
		return CardClaim{}, Errorf(CodeNotFound, "no card has this number and claim secret")
	}
	start := time.Now()
	if c.State != CardUnclaimed {
		if c.Member != member {
			return CardClaim{}, Errorf(CodeConflict, "card %s was claimed already", n.Printable())
		}
		res := CardClaim{Card: c} // claimed already: a retry, which finishes the history
		if err := s.moveClaimHistory(ctx, &res, start); err != nil {
			return CardClaim{}, fmt.Errorf("claim card %s for member %s: %w", n.Printable(), member, err)
		}
		return res, nil
	}
	now := s.Clock.Now().UTC()
	res, err := s.Cards.ClaimCard(ctx, c, member, now, func(mine Account, exists bool, anon Account) Account {
		return MergeAccounts(mine, exists, anon, s.Program, member, now)
	})
	if err != nil {
		return CardClaim{}, fmt.Errorf("claim card %s for member %s: %w", n.Printable(), member, err)
	}
	// The claim is made: a failure moving its history leaves it moving,
	// for the next call of the same claim.
	_ = s.moveClaimHistory(ctx, &res, start)
	return res, nil
}

// moveClaimHistory moves res.Card's history page by page until none is
// left or ClaimBudget since start (or the context's deadline) is near, and
// records in res what it moved and the history's state.
func (s *Service) moveClaimHistory(ctx context.Context, res *CardClaim, start time.Time) error {
	res.History = ClaimMoving
	deadline := start.Add(ClaimBudget)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	for {
		moved, done, err := s.Cards.MoveClaimHistory(ctx, res.Card, 1)
		res.Entries += moved
		if err != nil {
			return err
		}
		if done {
			res.History = ClaimDone
			return nil
		}
		// A page takes one read and one transaction: stop with room for one.
		if time.Until(deadline) < ClaimBudget/10 {
			return nil
		}
	}
}

// MergeAccounts is the member's account with an anonymous card's account
// joined: balances, lifetime points, lots (lots of the same day add up),
// deficit and debt, qualifying points, promotion uses and the per-period
// credits add up; stamps add up but stay below a full card (the card that
// would fill stays one stamp short, so no reward is issued outside a
// purchase); the due day is the earlier. The member's tier stays until the
// tier job reviews it.
func MergeAccounts(mine Account, exists bool, anon Account, p *Program, member MemberID, now time.Time) Account {
	if !exists {
		mine = NewAccount(member, now)
	}
	out := mine
	out.Balance += anon.Balance
	out.Lifetime += anon.Lifetime
	out.Deficit += anon.Deficit
	out.Debt += anon.Debt
	byDay := map[Date]Points{}
	for _, l := range append(append([]Lot(nil), mine.Lots...), anon.Lots...) {
		byDay[l.Expires] += l.Points
	}
	out.Lots = nil
	for d, pts := range byDay {
		if pts != 0 {
			out.Lots = append(out.Lots, Lot{Expires: d, Points: pts})
		}
	}
	sort.Slice(out.Lots, func(i, j int) bool { return out.Lots[i].Expires < out.Lots[j].Expires })
	addPoints := func(a, b map[string]Points) map[string]Points {
		if len(a) == 0 && len(b) == 0 {
			return a
		}
		m := make(map[string]Points, len(a)+len(b))
		for k, v := range a {
			m[k] += v
		}
		for k, v := range b {
			m[k] += v
		}
		return m
	}
	addInts := func(a, b map[string]int) map[string]int {
		if len(a) == 0 && len(b) == 0 {
			return a
		}
		m := make(map[string]int, len(a)+len(b))
		for k, v := range a {
			m[k] += v
		}
		for k, v := range b {
			m[k] += v
		}
		return m
	}
	out.Qualifying = addPoints(mine.Qualifying, anon.Qualifying)
	out.Earned = addPoints(mine.Earned, anon.Earned)
	out.PromoUses = addInts(mine.PromoUses, anon.PromoUses)
	out.Stamps = addInts(mine.Stamps, anon.Stamps)
	for _, c := range p.StampCards {
		if out.Stamps[c.ID] >= c.Stamps {
			out.Stamps[c.ID] = c.Stamps - 1
		}
	}
	if anon.DueOn != "" && (out.DueOn == "" || anon.DueOn < out.DueOn) {
		out.DueOn = anon.DueOn
	}
	if anon.LastActivity.After(out.LastActivity) {
		out.LastActivity = anon.LastActivity
	}
	out.MemberID = member
	return out
}

// Reroute finds where an op on a claimed card's retired anonymous account
// goes: when err says member takes no more changes (CodeMemberErased),
// member is an anonymous account and ref names its card, the card is read
// again and its owner returned. ok is false in every other case, and then
// err stands.
func (s *Service) Reroute(ctx context.Context, partner string, ref MemberRef, member MemberID, err error) (MemberID, bool) {
	if ErrorCode(err) != CodeMemberErased || !IsAnonymous(member) || ref.Kind != RefCard {
		return "", false
	}
	r, rerr := s.resolveMember(ctx, partner, ref, true)
	if rerr != nil || r.Member == member {
		return "", false
	}
	return r.Member, true
}

// WithPending is a member's ledger with the entries of their claimed cards
// still waiting in the cards' anonymous partitions; an entry in both (moved
// between the two reads) counts once.
func WithPending(ledger, pending []Entry) []Entry {
	if len(pending) == 0 {
		return ledger
	}
	seen := make(map[string]bool, len(ledger))
	for _, e := range ledger {
		seen[e.Key] = true
	}
	out := append([]Entry(nil), ledger...)
	for _, e := range pending {
		if !seen[e.Key] {
			out = append(out, e)
		}
	}
	return out
}
