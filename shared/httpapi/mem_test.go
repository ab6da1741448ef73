package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/events/partner"
	"github.com/loyalty-functions/loyalty/shared/config"
	"github.com/loyalty-functions/loyalty/shared/httpapi"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/testkit/memstore"
)

// The second harness: the APIs on the in-memory store, for the tests whose
// subject is the handlers' logic (routing, validation, error shapes,
// paging rules, rendering), which need no Java. Package storecontract holds
// the memory store to the DynamoDB store's guarantees; the tests of what
// only the table shows (its items, a fault of DynamoDB) keep newAPIs.
// Every answer still goes through apis.call, so checkResponse validates it
// against openapi.json and counts it for the coverage check.

// memAPIs are the APIs on a memory store; store is what the test reads
// and writes with directly.
type memAPIs struct {
	apis
	store *memstore.Store
}

func memLog() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

// newMemAPIs is newAPIs (main_test.go) on a memory store: the same
// program, ports and partner decoder.
func newMemAPIs(tb testing.TB) memAPIs {
	tb.Helper()
	p := &loyalty.Program{Version: 1, ID: "t", Currency: "EUR", Timezone: "Europe/Berlin",
		Earn:   loyalty.EarnRate{Points: 1, PerMinor: 100, Rounding: loyalty.RoundDown},
		Expiry: loyalty.ExpiryPolicy{Months: 12, EndOfMonth: true}, Refund: loyalty.RefundNegative,
		Partners: []loyalty.Partner{{ID: "demo-coffee-berlin", Name: "Demo coffee shop", MemberIDs: true}, {ID: "shop-berlin-01", Name: "Shop Berlin 01"}}}
	if err := p.Validate(); err != nil {
		tb.Fatal(err)
	}
	st := memstore.New()
	svc := &loyalty.Service{Store: st, Referrals: st, Catalog: st, Erasures: st, ErasureLog: st, Program: p, Clock: loyalty.SystemClock{},
		Cards: st, Codes: testSealer(tb)}
	return memAPIs{apis: apis{member: httpapi.NewMemberAPI(svc, st, memLog()), admin: httpapi.NewAdminAPI(svc, st, memLog()).WithPartnerDecoder(partner.DecodeParts)},
		store: st}
}

// newMemReviewAPIs are the APIs on reviewProgram (referral_test.go) at
// reviewNow, on a memory store.
func newMemReviewAPIs(tb testing.TB) memAPIs {
	tb.Helper()
	p, err := config.ParseProgram("review.json", []byte(reviewProgram))
	if err != nil {
		tb.Fatal(err)
	}
	st := memstore.New()
	svc := &loyalty.Service{Store: st, Referrals: st, Catalog: st, Erasures: st, ErasureLog: st, Program: p, Clock: loyalty.ClockFunc(func() time.Time { return reviewNow })}
	return memAPIs{apis: apis{member: httpapi.NewMemberAPI(svc, st, memLog()), admin: httpapi.NewAdminAPI(svc, st, memLog())}, store: st}
}

// memLocaleAPIs are the APIs on the program in programFile (the
// repository's program.json speaks en, its default, nl, de and hu) with
// its catalog seeded, on a memory store.
func memLocaleAPIs(tb testing.TB, programFile string) (memAPIs, *loyalty.Service) {
	tb.Helper()
	p, err := config.ReadProgram(programFile)
	if err != nil {
		tb.Fatal(err)
	}
	st := memstore.New()
	for _, r := range p.Rewards {
		if err := st.PutReward(context.Background(), r); err != nil {
			tb.Fatal(err)
		}
	}
	svc := &loyalty.Service{Store: st, Referrals: st, Catalog: st, Erasures: st, ErasureLog: st, Program: p, Clock: loyalty.SystemClock{}}
	return memAPIs{apis: apis{member: httpapi.NewMemberAPI(svc, st, memLog()), admin: httpapi.NewAdminAPI(svc, st, memLog())}, store: st}, svc
}
