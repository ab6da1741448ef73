package loyalty

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Who is at the till. A till cannot learn a member's id, and a partner that
// saw member ids could link one person across every partner, so a purchase
// names its member by one of these (MemberRef):
//
//   - a card number: printed on a plastic card or shown in the app; stable,
//     with a check digit, drawn at random (it says nothing of the member id);
//     replaced when lost, which blocks the old number and keeps the points;
//   - a rotating code from the app (POST /v1/me/codes): a sealed QR payload
//     the ingest opens with the program's code secret, without a table read,
//     or its short numeric form, which a cashier types and the store resolves
//     with one read, rate-limited per partner against guessing; either is
//     good for one purchase until it expires, and is marked used in that
//     purchase's own transaction;
//   - the member id, only for server-to-server partners the program file
//     allows it (Partner.MemberIDs), the memberRef of schema version 1.

// CardNumber is a member's card number: 16 digits, the last a Luhn check
// digit, so a mistyped digit or a swap of two neighbours is caught at the
// till's side or at the ingest before any read.
type CardNumber string

const cardNumberDigits = 16

// NewCardNumber draws a card number from random (crypto/rand when nil). It
// never starts with 0, so it survives spreadsheets and barcode fonts.
func NewCardNumber(random io.Reader) (CardNumber, error) {
	if random == nil {
		random = rand.Reader
	}
	digits := make([]byte, 0, cardNumberDigits)
	var buf [32]byte
	for len(digits) < cardNumberDigits-1 {
		if _, err := io.ReadFull(random, buf[:]); err != nil {
			return "", fmt.Errorf("draw a card number: %w", err)
		}
		for _, b := range buf {
			if b >= 250 || len(digits) == cardNumberDigits-1 {
				continue // 250..255 would favour the low digits
			}
			d := '0' + b%10
			if len(digits) == 0 && d == '0' {
				continue
			}
			digits = append(digits, d)
		}
	}
	return CardNumber(append(digits, luhnDigit(digits))), nil
}

// ParseCardNumber reads a card number as a till or a member types it:
// spaces and dashes between the digits are ignored. Errors: CodeInvalid on
// field (not 16 digits, or a wrong check digit).
func ParseCardNumber(field, s string) (CardNumber, error) {
	s = strings.NewReplacer(" ", "", "-", "").Replace(s)
	if len(s) != cardNumberDigits || strings.Trim(s, "0123456789") != "" {
		return "", Invalid(field, "a card number is %d digits", cardNumberDigits)
	}
	if luhnDigit([]byte(s[:cardNumberDigits-1])) != s[cardNumberDigits-1] {
		return "", Invalid(field, "card number %s has a wrong check digit: a digit was mistyped", CardNumber(s).Printable())
	}
	return CardNumber(s), nil
}

// Printable groups the digits by four, as the card shows them.
func (n CardNumber) Printable() string {
	var sb strings.Builder
	for i := 0; i < len(n); i += 4 {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(string(n[i:min(i+4, len(n))]))
	}
	return sb.String()
}

// luhnDigit is the check digit that makes payload+digit pass the Luhn test.
func luhnDigit(payload []byte) byte {
	sum := 0
	for i := len(payload) - 1; i >= 0; i-- {
		d := int(payload[i] - '0')
		if (len(payload)-1-i)%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// CardState is whether a card earns.
type CardState string

const (
	CardActive  CardState = "active"  // the member's current card
	CardBlocked CardState = "blocked" // replaced (lost): refused at the till, its points stay with the member
)

// Card is one card number of a member. Member is never shown to a partner.
type Card struct {
	Number    CardNumber `json:"number"`
	Member    MemberID   `json:"-"`
	State     CardState  `json:"state"`
	IssuedAt  time.Time  `json:"issuedAt"`
	BlockedAt time.Time  `json:"blockedAt,omitzero"`
	// ClaimHash is what the store keeps of a printed card's claim secret
	// (claim.go); "" for a card issued to a member.
	ClaimHash string `json:"-"`
}

// ShortCode is the numeric form of a rotating code: too short to carry a
// signature, so the store keeps it until it expires.
type ShortCode struct {
	Digits  string
	CodeID  string
	Member  MemberID
	Expires time.Time
}

// CardStore keeps card numbers and the short forms of rotating codes.
type CardStore interface {
	// MemberCard returns the member's current card. Errors: CodeNotFound
	// (none issued yet), CodeUnavailable.
	MemberCard(ctx context.Context, id MemberID) (Card, error)
	// IssueCard makes c the card of c.Member, who has none yet. Errors:
	// CodeConflict (the member has a card already, or the number is taken:
	// read the member's card, or draw another number), CodeMemberErased,
	// CodeUnavailable.
	IssueCard(ctx context.Context, c Card) error
	// ReplaceCard blocks old and makes next the member's card, at once.
	// Errors: CodeConflict (old is no longer the member's current card, or
	// next's number is taken), CodeMemberErased, CodeUnavailable.
	ReplaceCard(ctx context.Context, old, next Card, now time.Time) error
	// CardByNumber returns the card with the number. Errors: CodeNotFound,
	// CodeUnavailable.
	CardByNumber(ctx context.Context, n CardNumber) (Card, error)
	// PutShortCode stores a code's short form until it expires. Errors:
	// CodeConflict (the digits belong to a code that has not expired: draw
	// others), CodeMemberErased, CodeUnavailable.
	PutShortCode(ctx context.Context, c ShortCode) error
	// ResolveShortCode finds a short form for a partner with one read,
	// which also reads the partner's misses of the current minute. Errors:
	// *RefError with RejectCodeRateLimited when the partner had maxMisses
	// misses this minute (nothing is looked up), CodeNotFound (a miss,
	// counted against the partner), CodeUnavailable.
	ResolveShortCode(ctx context.Context, partner, digits string, now time.Time, maxMisses int) (ShortCode, error)
	// PutUnclaimedCard stores a printed card (claim.go). Errors:
	// CodeConflict (the number is taken), CodeUnavailable.
	PutUnclaimedCard(ctx context.Context, c Card) error
	// ClaimCard gives the unclaimed card c to member in one transaction:
	// the card becomes the member's, the card's anonymous account is
	// merged into the member's account as merge says, the member's copy of
	// the card records that the card's history is still moving, and the
	// anonymous id takes no more changes (CodeMemberErased from then on).
	// The ledger entries and rewards stay in the anonymous partition until
	// MoveClaimHistory moves them; until then the member's audit counts
	// them as the member's. It retries when a purchase moved the anonymous
	// account meanwhile. The answer's History is ClaimMoving. Errors:
	// CodeConflict (the card was claimed meanwhile), CodeMemberErased
	// (member), CodeUnavailable.
	ClaimCard(ctx context.Context, c Card, member MemberID, now time.Time, merge func(mine Account, exists bool, anon Account) Account) (CardClaim, error)
	// MoveClaimHistory moves at most pages pages of a claimed card's
	// history (ledger entries and rewards) from its anonymous partition to
	// its owner, each page in one transaction; it is safe to repeat and to
	// run twice at once. entries is how many ledger entries it moved; done
	// is true once nothing is left, and the card's claim is then recorded
	// done. Errors: CodeUnavailable.
	MoveClaimHistory(ctx context.Context, c Card, pages int) (entries int, done bool, err error)
}

// Reasons a purchase's member reference is refused (recorded rejections).
const (
	RejectRefNotAllowed   RejectReason = "member_ref_not_allowed" // a member id from a partner the program does not allow to use them
	RejectCardUnknown     RejectReason = "card_unknown"           // no card has the number (never issued, or erased with its member)
	RejectCardBlocked     RejectReason = "card_blocked"           // the card was replaced: the member has a new number
	RejectCodeExpired     RejectReason = "code_expired"           // the rotating code's time is over
	RejectCodeUsed        RejectReason = "code_used"              // the rotating code paid for another purchase already
	RejectCodeForged      RejectReason = "code_forged"            // the QR payload was not sealed with the program's secret
	RejectCodeUnknown     RejectReason = "code_unknown"           // no live code has the short form
	RejectCodeRateLimited RejectReason = "code_rate_limited"      // too many unknown short forms from the partner this minute
)

// RefError says why a purchase's member reference credits nothing. It is
// final: the reference will never be good (a rate-limited short form is
// final too: a till that guesses must not get a retry).
type RefError struct {
	Reason  RejectReason
	Message string
}

func (e *RefError) Error() string { return string(e.Reason) + ": " + e.Message }

// CodeUsed is the error of a store whose op spends a code another op spent.
func CodeUsed() error {
	return &RefError{Reason: RejectCodeUsed, Message: "the code was used for another purchase: each code pays for one purchase"}
}

// RefKind is how a purchase names its member.
type RefKind string

const (
	RefCard     RefKind = "card"
	RefCode     RefKind = "code"
	RefMemberID RefKind = "memberId"
)

// MemberRef names the member of a partner's message.
type MemberRef struct {
	Kind  RefKind
	Value string
}

// Till is the program's policy for codes at the till ("till" in the file).
type Till struct {
	// CodeValidSeconds is how long a rotating code is good for (default 120).
	CodeValidSeconds int `json:"codeValidSeconds,omitempty"`
	// ShortCodeMissesPerMinute bounds a partner's unknown short forms per
	// minute; then every short form of the partner is refused until the
	// minute ends (default 20).
	ShortCodeMissesPerMinute int `json:"shortCodeMissesPerMinute,omitempty"`
}

// Defaults of Till.
const (
	DefaultCodeValid                = 120 * time.Second
	DefaultShortCodeMissesPerMinute = 20
)

// CodeValid is how long a rotating code is good for.
func (p *Program) CodeValid() time.Duration {
	if p.Till == nil || p.Till.CodeValidSeconds == 0 {
		return DefaultCodeValid
	}
	return time.Duration(p.Till.CodeValidSeconds) * time.Second
}

// ShortCodeMisses is a partner's allowance of unknown short forms a minute.
func (p *Program) ShortCodeMisses() int {
	if p.Till == nil || p.Till.ShortCodeMissesPerMinute == 0 {
		return DefaultShortCodeMissesPerMinute
	}
	return p.Till.ShortCodeMissesPerMinute
}

func (p *Program) validateTill() error {
	if p.Till == nil {
		return nil
	}
	if s := p.Till.CodeValidSeconds; s < 0 || s > 3600 {
		return Invalid("till.codeValidSeconds", "a code is valid for 1 to 3600 seconds, got %d", s)
	}
	if n := p.Till.ShortCodeMissesPerMinute; n < 0 || n > 10000 {
		return Invalid("till.shortCodeMissesPerMinute", "allow 1 to 10000 unknown short codes a minute, got %d", n)
	}
	return nil
}

// TillCode is a rotating code as the app shows it.
type TillCode struct {
	QR        string    `json:"qr"`    // the sealed payload the QR code carries
	Short     string    `json:"short"` // the numeric form a cashier types
	ExpiresAt time.Time `json:"expiresAt"`
}

// shortCodeDigits is the length of a short form: with the default miss
// allowance a partner guesses one of 10 000 live codes about once in 140
// days of guessing without pause.
const shortCodeDigits = 10

// MemberCard returns the member's card, issuing one on first use.
// Errors: CodeInvalid, CodeMemberErased, CodeUnavailable, CodeInternal when
// no card store is wired.
func (s *Service) MemberCard(ctx context.Context, id MemberID) (Card, error) {
	if err := ValidateMemberID("memberId", id); err != nil {
		return Card{}, err
	}
	if s.Cards == nil {
		return Card{}, &Error{Code: CodeInternal, Message: "internal error", Err: errNotWired("card store")}
	}
	for range 5 {
		c, err := s.Cards.MemberCard(ctx, id)
		if ErrorCode(err) != CodeNotFound {
			return c, err
		}
		n, err := NewCardNumber(nil)
		if err != nil {
			return Card{}, &Error{Code: CodeInternal, Message: "internal error", Err: err}
		}
		c = Card{Number: n, Member: id, State: CardActive, IssuedAt: s.Clock.Now().UTC()}
		if err := s.Cards.IssueCard(ctx, c); ErrorCode(err) != CodeConflict {
			return c, err
		}
		// Another call issued the member's card, or the number is taken.
	}
	return Card{}, Transient(nil, "could not issue a card number, retry later")
}

// ReplaceCard blocks the member's card lost (lost or stolen) and issues a
// new number; the points stay, the lost number credits nothing from now on.
// Naming the lost number makes a retry safe: when lost is already blocked
// by a replacement, the member's current card is the answer. Errors:
// CodeInvalid (lost is not a card number), CodeConflict (lost is no card of
// the member), and those of MemberCard.
func (s *Service) ReplaceCard(ctx context.Context, id MemberID, lost CardNumber) (Card, error) {
	old, err := s.MemberCard(ctx, id)
	if err != nil {
		return Card{}, err
	}
	if old.Number != lost {
		if c, err := s.Cards.CardByNumber(ctx, lost); err == nil && c.Member == id && c.State == CardBlocked {
			return old, nil // replaced already: a retry
		}
		return Card{}, Errorf(CodeConflict, "card %s is not the member's current card", lost.Printable())
	}
	for range 5 {
		n, err := NewCardNumber(nil)
		if err != nil {
			return Card{}, &Error{Code: CodeInternal, Message: "internal error", Err: err}
		}
		now := s.Clock.Now().UTC()
		next := Card{Number: n, Member: id, State: CardActive, IssuedAt: now}
		err = s.Cards.ReplaceCard(ctx, old, next, now)
		if ErrorCode(err) != CodeConflict {
			if err != nil {
				return Card{}, fmt.Errorf("replace card of member %s: %w", id, err)
			}
			return next, nil
		}
		if cur, err := s.Cards.MemberCard(ctx, id); err == nil && cur.Number != old.Number {
			return cur, nil // a concurrent replacement won: its card is the answer
		}
	}
	return Card{}, Transient(nil, "could not issue a card number, retry later")
}

// IssueCode gives the member a rotating code for one purchase. Errors:
// CodeInvalid, CodeMemberErased, CodeUnavailable, CodeInternal when no code
// sealer or card store is wired.
func (s *Service) IssueCode(ctx context.Context, id MemberID) (TillCode, error) {
	if err := ValidateMemberID("memberId", id); err != nil {
		return TillCode{}, err
	}
	if s.Cards == nil || s.Codes == nil {
		return TillCode{}, &Error{Code: CodeInternal, Message: "internal error", Err: errNotWired("code sealer or card store")}
	}
	var raw [codeIDBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return TillCode{}, &Error{Code: CodeInternal, Message: "internal error", Err: err}
	}
	codeID := hex.EncodeToString(raw[:])
	expires := s.Clock.Now().UTC().Add(s.Program.CodeValid()).Truncate(time.Second)
	qr := s.Codes.seal(sealedCode{ID: codeID, Member: id, Expires: expires})
	for range 5 {
		digits, err := drawDigits(shortCodeDigits)
		if err != nil {
			return TillCode{}, &Error{Code: CodeInternal, Message: "internal error", Err: err}
		}
		err = s.Cards.PutShortCode(ctx, ShortCode{Digits: digits, CodeID: codeID, Member: id, Expires: expires})
		if ErrorCode(err) == CodeConflict {
			continue
		}
		if err != nil {
			return TillCode{}, fmt.Errorf("issue a code for member %s: %w", id, err)
		}
		return TillCode{QR: qr, Short: digits, ExpiresAt: expires}, nil
	}
	return TillCode{}, Transient(nil, "could not draw a short code, retry later")
}

func drawDigits(n int) (string, error) {
	out := make([]byte, 0, n)
	var buf [16]byte
	for len(out) < n {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", err
		}
		for _, b := range buf {
			if b < 250 && len(out) < n {
				out = append(out, '0'+b%10)
			}
		}
	}
	return string(out), nil
}

// Resolved is what a partner message's member reference names.
type Resolved struct {
	Member MemberID
	Code   string // the rotating code a purchase spends (Purchase.Code); "" for a card or member id
	// Printed tells that the reference is a printed card (claimed or not):
	// a purchase on it may wait in the card's anonymous account for a
	// claim to move it (Purchase.Printed).
	Printed bool
}

// ResolveMember turns a partner message's member reference into the member
// and, for a rotating code, the code the purchase spends. A QR payload is
// opened without a read; a short form or a card number costs one read.
// Errors: *RefError (the reason to record), CodeInvalid, CodeUnavailable.
func (s *Service) ResolveMember(ctx context.Context, partner string, ref MemberRef) (Resolved, error) {
	return s.resolveMember(ctx, partner, ref, false)
}

// ResolveRefundMember is ResolveMember for a refund: a rotating code names
// the member of the purchase it paid, so its QR payload is taken after it
// expired and after its use (the refund spends nothing); its short form,
// kept only while it lives, is refused (code_unknown: name the card). A
// blocked card names its member still: the purchases made with it before
// it was lost are refunded.
func (s *Service) ResolveRefundMember(ctx context.Context, partner string, ref MemberRef) (MemberID, error) {
	if ref.Kind == RefCode && !strings.HasPrefix(ref.Value, qrPrefix) {
		return "", &RefError{Reason: RejectCodeUnknown, Message: "a refund names the member by card, by the QR payload of the code that paid, or by member id; short codes are gone once used"}
	}
	r, err := s.resolveMember(ctx, partner, ref, true)
	return r.Member, err
}

func (s *Service) resolveMember(ctx context.Context, partner string, ref MemberRef, refund bool) (Resolved, error) {
	pt, ok := s.Program.Partner(partner)
	if !ok {
		return Resolved{}, Invalid("partnerId", "partner %q is not listed in the program file", partner)
	}
	now := s.Clock.Now()
	switch ref.Kind {
	case RefMemberID:
		if !pt.MemberIDs {
			return Resolved{}, &RefError{Reason: RejectRefNotAllowed, Message: fmt.Sprintf(
				"partner %q may not name members by member id: send the card number or the member's code (or allow memberIds for the partner in the program file)", partner)}
		}
		id := MemberID(ref.Value)
		return Resolved{Member: id}, ValidateMemberID("memberRef", id)
	case RefCard:
		n, err := ParseCardNumber("member.card", ref.Value)
		if err != nil {
			return Resolved{}, &RefError{Reason: RejectCardUnknown, Message: ErrorMessage(err)}
		}
		if s.Cards == nil {
			return Resolved{}, &Error{Code: CodeInternal, Message: "internal error", Err: errNotWired("card store")}
		}
		c, err := s.Cards.CardByNumber(ctx, n)
		switch {
		case ErrorCode(err) == CodeNotFound:
			return Resolved{}, &RefError{Reason: RejectCardUnknown, Message: fmt.Sprintf("no card has the number %s", n.Printable())}
		case err != nil:
			return Resolved{}, err
		case c.State == CardBlocked && !refund: // a lost card's purchases are still refunded
			return Resolved{}, &RefError{Reason: RejectCardBlocked, Message: fmt.Sprintf("card %s was blocked: the member has a new card", n.Printable())}
		}
		return Resolved{Member: c.Member, Printed: c.ClaimHash != ""}, nil
	case RefCode:
		if s.Codes == nil {
			return Resolved{}, &Error{Code: CodeInternal, Message: "internal error", Err: errNotWired("code sealer")}
		}
		if strings.HasPrefix(ref.Value, qrPrefix) {
			sc, err := s.Codes.open(ref.Value)
			if err != nil {
				return Resolved{}, &RefError{Reason: RejectCodeForged, Message: "the QR code was not issued by this program (its seal does not verify)"}
			}
			if refund {
				return Resolved{Member: sc.Member}, nil
			}
			if !now.Before(sc.Expires) {
				return Resolved{}, codeExpired(sc.Expires)
			}
			return Resolved{Member: sc.Member, Code: sc.ID}, nil
		}
		digits := strings.NewReplacer(" ", "", "-", "").Replace(ref.Value)
		if len(digits) != shortCodeDigits || strings.Trim(digits, "0123456789") != "" {
			return Resolved{}, &RefError{Reason: RejectCodeUnknown, Message: fmt.Sprintf("a code is a QR payload or %d digits", shortCodeDigits)}
		}
		if s.Cards == nil {
			return Resolved{}, &Error{Code: CodeInternal, Message: "internal error", Err: errNotWired("card store")}
		}
		sc, err := s.Cards.ResolveShortCode(ctx, partner, digits, now, s.Program.ShortCodeMisses())
		switch {
		case ErrorCode(err) == CodeNotFound:
			return Resolved{}, &RefError{Reason: RejectCodeUnknown, Message: "no live code has these digits"}
		case err != nil:
			return Resolved{}, err
		case !now.Before(sc.Expires):
			return Resolved{}, codeExpired(sc.Expires)
		}
		return Resolved{Member: sc.Member, Code: sc.CodeID}, nil
	}
	return Resolved{}, Invalid("member", "a member is named by card, code or memberId, got %q", ref.Kind)
}

func codeExpired(at time.Time) error {
	return &RefError{Reason: RejectCodeExpired, Message: "the code expired at " + at.UTC().Format(time.RFC3339) + ": the member opens a new one in the app"}
}

// RateLimited is the error of a store that refuses a partner's short form
// because the partner had too many misses this minute.
func RateLimited(partner string, max int) error {
	return &RefError{Reason: RejectCodeRateLimited, Message: fmt.Sprintf(
		"partner %q sent %d unknown short codes this minute: short codes are refused until the minute ends (the QR code still works)", partner, max)}
}

// AsRefError returns err's *RefError, if it has one.
func AsRefError(err error) (*RefError, bool) {
	var re *RefError
	ok := errors.As(err, &re)
	return re, ok
}
