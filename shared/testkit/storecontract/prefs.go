package storecontract

import (
	"testing"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// A member's preferred locale reads back as set, changes with the next
// choice, is one member's only, and goes with an erasure, after which the
// member's id takes no choice any more.
func testPreferredLocale(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	now := f.clock.Now()
	for _, m := range []loyalty.MemberID{"m-loc", "m-other"} {
		if _, err := f.svc.Enrol(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := f.st.PreferredLocale(ctx, "m-loc"); err != nil || got != "" {
		t.Fatalf("before a choice: got %q (%v), want none", got, err)
	}
	for _, loc := range []string{"nl", "hu"} {
		if err := f.st.SetPreferredLocale(ctx, "m-loc", loc, now); err != nil {
			t.Fatal(err)
		}
		if got, err := f.st.PreferredLocale(ctx, "m-loc"); err != nil || got != loc {
			t.Fatalf("after choosing %s: got %q (%v)", loc, got, err)
		}
	}
	if got, err := f.st.PreferredLocale(ctx, "m-other"); err != nil || got != "" {
		t.Fatalf("another member: got %q (%v), want none", got, err)
	}
	if _, err := f.svc.Erase(ctx, "m-loc"); err != nil {
		t.Fatal(err)
	}
	if got, err := f.st.PreferredLocale(ctx, "m-loc"); err != nil || got != "" {
		t.Errorf("after the erasure: got %q (%v), want none", got, err)
	}
	if err := f.st.SetPreferredLocale(ctx, "m-loc", "de", now); loyalty.ErrorCode(err) != loyalty.CodeMemberErased {
		t.Errorf("choosing after the erasure: got %v, want %s", err, loyalty.CodeMemberErased)
	}
}
