package storecontract

import (
	"bytes"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// TillProgramJSON is ProgramJSON's rates with two partners: shop1, a till
// that names members by card or code, and webshop, a server-to-server
// partner allowed member ids; codes live two minutes, and a partner may
// send three unknown short codes a minute.
const TillProgramJSON = `{
  "version": 1, "id": "contract-till", "currency": "EUR", "timezone": "Europe/Berlin",
  "earn": {"points": 1, "perMinor": 100, "rounding": "down"},
  "expiry": {"months": 12, "endOfMonth": true},
  "refund": "negative_balance",
  "partners": [{"id": "shop1", "name": "Shop 1 (POS)"}, {"id": "webshop", "name": "Web shop", "memberIds": true}],
  "till": {"codeValidSeconds": 120, "shortCodeMissesPerMinute": 3}
}`

// CodeSecret is the code secret of the contract's services.
const CodeSecret = "contract-code-secret-of-32-bytes!!"

// TillService is Service with the card store and a code sealer on secret.
func TillService(tb testing.TB, store Store, prog *loyalty.Program, clock loyalty.Clock, secret string) *loyalty.Service {
	tb.Helper()
	sealer, err := loyalty.NewCodeSealer([]byte(secret))
	if err != nil {
		tb.Fatalf("code sealer: %v", err)
	}
	svc := Service(store, prog, clock)
	svc.Cards, svc.Codes = store, sealer
	return svc
}

func (f *fixture) till() *fixture {
	f.t.Helper()
	f.with(TillProgramJSON)
	f.svc = TillService(f.t, f.st, f.svc.Program, f.clock, CodeSecret)
	return f
}

// resolve is ResolveMember at shop1.
func (f *fixture) resolve(kind loyalty.RefKind, value string) (loyalty.MemberID, string, error) {
	r, err := f.svc.ResolveMember(ctx, "shop1", loyalty.MemberRef{Kind: kind, Value: value})
	return r.Member, r.Code, err
}

// wantRefused fails unless err is a *RefError with reason.
func wantRefused(tb testing.TB, what string, err error, reason loyalty.RejectReason) {
	tb.Helper()
	re, ok := loyalty.AsRefError(err)
	if !ok || re.Reason != reason {
		tb.Errorf("%s: got %v, want a refusal %q", what, err, reason)
	}
}

// tillPurchase resolves ref at shop1 and accrues a purchase of minor
// cents, as the ingest does (a purchase on a card claimed meanwhile goes
// to its new owner).
func (f *fixture) tillPurchase(kind loyalty.RefKind, value, event string, minor int64) (loyalty.Result, error) {
	member, code, err := f.resolve(kind, value)
	if err != nil {
		return loyalty.Result{}, err
	}
	return f.accrueResolved(member, code, kind, value, event, minor)
}

// accrueResolved is tillPurchase's write for a member resolved earlier.
func (f *fixture) accrueResolved(member loyalty.MemberID, code string, kind loyalty.RefKind, value, event string, minor int64) (loyalty.Result, error) {
	p := Purchase(string(member), event, minor, f.clock.Now())
	p.Code = code
	if kind == loyalty.RefCard {
		if n, err := loyalty.ParseCardNumber("card", value); err == nil {
			p.Holder = string(loyalty.AnonymousMember(n)) // as partner.Event.SetMember
		}
		// Whether the card was printed does not change with its claim: the
		// member resolved earlier (maybe before a claim) stays as given.
		if r, err := f.svc.ResolveMember(ctx, "shop1", loyalty.MemberRef{Kind: kind, Value: value}); err == nil {
			p.Printed = r.Printed
		}
	}
	res, err := f.svc.Accrue(ctx, p)
	if to, ok := f.svc.Reroute(ctx, "shop1", loyalty.MemberRef{Kind: kind, Value: value}, member, err); ok {
		p.MemberID = to
		res, err = f.svc.Accrue(ctx, p)
	}
	return res, err
}

// testCardIssuedOnce: concurrent first reads of a member's card agree on
// one printable, check-digited number that names the member and no other.
func testCardIssuedOnce(t *testing.T, f *fixture) {
	f.till()
	const n = 16
	numbers := make([]loyalty.CardNumber, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := f.svc.MemberCard(ctx, "m1")
			if err != nil {
				t.Errorf("card %d: %v", i, err)
			}
			numbers[i] = c.Number
		})
	}
	wg.Wait()
	for i, got := range numbers {
		if got != numbers[0] {
			t.Fatalf("card of call %d: got %s, want %s: one card per member", i, got, numbers[0])
		}
	}
	if _, err := loyalty.ParseCardNumber("card", numbers[0].Printable()); err != nil {
		t.Errorf("card %s does not parse back from its printed form: %v", numbers[0], err)
	}
	if strings.Contains(string(numbers[0]), "m1") {
		t.Errorf("card %s shows the member id", numbers[0])
	}
	other, err := f.svc.MemberCard(ctx, "m2")
	if err != nil || other.Number == numbers[0] {
		t.Errorf("card of m2: got %s (%v), want a number of its own", other.Number, err)
	}
	member, _, err := f.resolve(loyalty.RefCard, numbers[0].Printable())
	if err != nil || member != "m1" {
		t.Errorf("card %s at the till: got %q (%v), want m1", numbers[0], member, err)
	}
}

// testCardReplaced: a card replaced after loss is refused at the till, the
// new one earns, the balance keeps every point.
func testCardReplaced(t *testing.T, f *fixture) {
	f.till()
	old, err := f.svc.MemberCard(ctx, "m1")
	if err != nil {
		t.Fatalf("card: %v", err)
	}
	if _, err := f.tillPurchase(loyalty.RefCard, string(old.Number), "e1", 1200); err != nil {
		t.Fatalf("purchase on the first card: %v", err)
	}
	next, err := f.svc.ReplaceCard(ctx, "m1", old.Number)
	if err != nil {
		t.Fatalf("replace: %v", err)
	}
	if next.Number == old.Number || next.State != loyalty.CardActive {
		t.Fatalf("replacement: got %+v, want a new active number", next)
	}
	if again, err := f.svc.ReplaceCard(ctx, "m1", old.Number); err != nil || again.Number != next.Number {
		t.Errorf("the replacement retried: got %s (%v), want the same new card %s", again.Number, err, next.Number)
	}
	_, err = f.svc.ReplaceCard(ctx, "m2", next.Number)
	wantCode(t, "replacing another member's card", err, loyalty.CodeConflict)
	_, err = f.tillPurchase(loyalty.RefCard, string(old.Number), "e2", 5000)
	wantRefused(t, "purchase on the lost card", err, loyalty.RejectCardBlocked)
	if _, err := f.tillPurchase(loyalty.RefCard, string(next.Number), "e3", 800); err != nil {
		t.Fatalf("purchase on the new card: %v", err)
	}
	if got := f.balance(t, "m1"); got != 20 {
		t.Errorf("balance: got %d, want 20 (12 on the old card, 8 on the new)", got)
	}
	cur, err := f.svc.MemberCard(ctx, "m1")
	if err != nil || cur.Number != next.Number {
		t.Errorf("current card: got %s (%v), want %s", cur.Number, err, next.Number)
	}
	lost, err := f.st.CardByNumber(ctx, old.Number)
	if err != nil || lost.State != loyalty.CardBlocked || lost.BlockedAt.IsZero() {
		t.Errorf("lost card: got %+v (%v), want blocked with its time", lost, err)
	}
	f.audit(t, "m1")
}

// testCodeUsedOnce: one code shown to two tills (and more) at once credits
// exactly one purchase, by its QR form or its short form; the purchase
// that got it is a replay on redelivery, not a reuse.
func testCodeUsedOnce(t *testing.T, f *fixture) {
	f.till()
	if _, err := f.svc.Enrol(ctx, "m1"); err != nil {
		t.Fatalf("enrol: %v", err)
	}
	code, err := f.svc.IssueCode(ctx, "m1")
	if err != nil {
		t.Fatalf("code: %v", err)
	}
	if len(code.Short) != 10 {
		t.Fatalf("code: got %+v, want 10 digits", code)
	}
	// The QR payload hides the member, in its text and in the bytes its
	// base64 carries (a signed but unencrypted payload would show it there):
	// checked with an id too long to turn up in random bytes by chance ("m1"
	// does, about once in 50 codes).
	const hidden = "member-whose-id-stays-sealed-0042"
	if _, err := f.svc.Enrol(ctx, hidden); err != nil {
		t.Fatalf("enrol: %v", err)
	}
	sealed, err := f.svc.IssueCode(ctx, hidden)
	payload, ok := strings.CutPrefix(sealed.QR, "LFC1.")
	raw, decodeErr := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || !ok || decodeErr != nil || strings.Contains(sealed.QR, hidden) || bytes.Contains(raw, []byte(hidden)) {
		t.Fatalf("code of %s: got %+v, %v (payload decodes: %v); want a sealed QR, LFC1. and base64url, that hides the member", hidden, sealed, err, decodeErr)
	}
	const tills = 8
	errs := make([]error, tills)
	var wg sync.WaitGroup
	for i := range tills {
		wg.Go(func() {
			kind, value := loyalty.RefCode, code.QR
			if i%2 == 1 {
				value = code.Short
			}
			_, errs[i] = f.tillPurchase(kind, value, "till-"+string(rune('a'+i)), 1500)
		})
	}
	wg.Wait()
	credited := 0
	for i, err := range errs {
		if err == nil {
			credited++
			continue
		}
		wantRefused(t, "till "+string(rune('a'+i)), err, loyalty.RejectCodeUsed)
	}
	if credited != 1 {
		t.Fatalf("purchases credited: got %d, want exactly 1", credited)
	}
	if got := f.balance(t, "m1"); got != 15 {
		t.Errorf("balance: got %d, want 15", got)
	}
	for i, err := range errs {
		if err == nil {
			res, err := f.tillPurchase(loyalty.RefCode, code.QR, "till-"+string(rune('a'+i)), 1500)
			if err != nil || !res.Replayed {
				t.Errorf("redelivery of the purchase that used the code: got %+v, %v, want a replay", res, err)
			}
		}
	}
	f.audit(t, "m1")
}

// testCodeExpiredForged: an expired code, in either form, and a QR code not
// sealed with the program's secret (tampered, or another deployment's) are
// refused with their reasons and credit nothing.
func testCodeExpiredForged(t *testing.T, f *fixture) {
	f.till()
	code, err := f.svc.IssueCode(ctx, "m1")
	if err != nil {
		t.Fatalf("code: %v", err)
	}
	if want := f.clock.Now().Add(2 * time.Minute); code.ExpiresAt.After(want) || code.ExpiresAt.Before(want.Add(-time.Second)) {
		t.Errorf("code expires at %v, want two minutes from %v", code.ExpiresAt, f.clock.Now())
	}
	other := TillService(t, f.st, f.svc.Program, f.clock, "another-deployment-secret-32-bytes!!")
	foreign, err := other.IssueCode(ctx, "m1")
	if err != nil {
		t.Fatalf("foreign code: %v", err)
	}
	_, err = f.tillPurchase(loyalty.RefCode, foreign.QR, "f1", 1000)
	wantRefused(t, "a code sealed with another secret", err, loyalty.RejectCodeForged)
	tampered := []byte(code.QR)
	tampered[len(tampered)-3] ^= 1
	_, err = f.tillPurchase(loyalty.RefCode, string(tampered), "f2", 1000)
	wantRefused(t, "a tampered code", err, loyalty.RejectCodeForged)
	_, err = f.tillPurchase(loyalty.RefCode, "LFC1.bm90LWEtY29kZQ", "f3", 1000)
	wantRefused(t, "a made-up code", err, loyalty.RejectCodeForged)

	f.clock.Advance(2*time.Minute + time.Second)
	_, err = f.tillPurchase(loyalty.RefCode, code.QR, "x1", 1000)
	wantRefused(t, "an expired QR code", err, loyalty.RejectCodeExpired)
	_, err = f.tillPurchase(loyalty.RefCode, code.Short, "x2", 1000)
	wantRefused(t, "an expired short code", err, loyalty.RejectCodeExpired)
	if _, err := f.st.Account(ctx, "m1"); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("account of m1: got %v, want none: nothing was credited", err)
	}
}

// testShortCodeRateLimit: a partner's unknown short codes are counted by
// minute; past the allowance every short code of that partner is refused,
// a live one too, until the minute ends; other partners are not affected.
func testShortCodeRateLimit(t *testing.T, f *fixture) {
	f.till()
	code, err := f.svc.IssueCode(ctx, "m1")
	if err != nil {
		t.Fatalf("code: %v", err)
	}
	wrong := "0000000000"
	if code.Short == wrong {
		wrong = "0000000001"
	}
	for i := range 3 {
		_, _, err := f.resolve(loyalty.RefCode, wrong)
		wantRefused(t, "guess "+string(rune('1'+i)), err, loyalty.RejectCodeUnknown)
	}
	_, _, err = f.resolve(loyalty.RefCode, code.Short)
	wantRefused(t, "a live code after three misses", err, loyalty.RejectCodeRateLimited)
	if r, err := f.svc.ResolveMember(ctx, "webshop", loyalty.MemberRef{Kind: loyalty.RefCode, Value: code.Short}); err != nil || r.Member != "m1" {
		t.Errorf("the same code from another partner: got %q (%v), want m1", r.Member, err)
	}
	if m, _, err := f.resolve(loyalty.RefCode, code.QR); err != nil || m != "m1" {
		t.Errorf("the QR form while short codes are limited: got %q (%v), want m1", m, err)
	}
	f.clock.Advance(time.Minute)
	if m, _, err := f.resolve(loyalty.RefCode, code.Short); err != nil || m != "m1" {
		t.Errorf("the live code a minute later: got %q (%v), want m1", m, err)
	}
}

// testMemberIDRefs: member ids are taken only from partners the program
// allows them; a malformed card number is refused before any read.
func testMemberIDRefs(t *testing.T, f *fixture) {
	f.till()
	_, _, err := f.resolve(loyalty.RefMemberID, "m1")
	wantRefused(t, "a member id from a till", err, loyalty.RejectRefNotAllowed)
	if r, err := f.svc.ResolveMember(ctx, "webshop", loyalty.MemberRef{Kind: loyalty.RefMemberID, Value: "m1"}); err != nil || r.Member != "m1" {
		t.Errorf("a member id from the web shop: got %q (%v), want m1", r.Member, err)
	}
	_, _, err = f.resolve(loyalty.RefCard, "1234 5678 9012 3456")
	wantRefused(t, "a card number with a wrong check digit", err, loyalty.RejectCardUnknown)
	n, err := loyalty.NewCardNumber(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = f.resolve(loyalty.RefCard, string(n))
	wantRefused(t, "a card never issued", err, loyalty.RejectCardUnknown)
}

// testEraseTill: erasure takes the member's cards and codes with them: the
// numbers become unknown, the short code unknown, the QR code credits
// nothing.
func testEraseTill(t *testing.T, f *fixture) {
	f.till()
	f.accrue(t, "m1", "e1", 1000)
	card, err := f.svc.MemberCard(ctx, "m1")
	if err != nil {
		t.Fatalf("card: %v", err)
	}
	next, err := f.svc.ReplaceCard(ctx, "m1", card.Number)
	if err != nil {
		t.Fatalf("replace: %v", err)
	}
	code, err := f.svc.IssueCode(ctx, "m1")
	if err != nil {
		t.Fatalf("code: %v", err)
	}
	er, err := f.svc.Erase(ctx, "m1")
	if err != nil || er.State != loyalty.ErasureDone {
		t.Fatalf("erase: got %+v, %v", er, err)
	}
	for _, n := range []loyalty.CardNumber{card.Number, next.Number} {
		if _, err := f.st.CardByNumber(ctx, n); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
			t.Errorf("card %s after erasure: got %v, want not found", n, err)
		}
		_, err := f.tillPurchase(loyalty.RefCard, string(n), "after-"+string(n), 1000)
		wantRefused(t, "a purchase on an erased member's card", err, loyalty.RejectCardUnknown)
	}
	_, err = f.tillPurchase(loyalty.RefCode, code.Short, "after-short", 1000)
	wantRefused(t, "the erased member's short code", err, loyalty.RejectCodeUnknown)
	_, err = f.tillPurchase(loyalty.RefCode, code.QR, "after-qr", 1000)
	wantCode(t, "the erased member's QR code", err, loyalty.CodeMemberErased)
	if _, err := f.st.MemberCard(ctx, "m1"); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("member card after erasure: got %v, want not found", err)
	}
	_, err = f.svc.MemberCard(ctx, "m1")
	wantCode(t, "a new card for the erased id", err, loyalty.CodeMemberErased)
}
