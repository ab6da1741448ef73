package localstack

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/config"
	"github.com/loyalty-functions/loyalty/shared/local/dynamolocal"
	"github.com/loyalty-functions/loyalty/shared/testkit/memstore"
	"github.com/loyalty-functions/loyalty/shared/testkit/storecontract"
)

// TestSeedGivesTheSameBalanceAtAnyHour seeds the repository's program
// into a fresh in-memory store as if `make run` started at every third hour
// of a week (the program's happy hour doubles points on weekday
// afternoons): the demo member's balance is always the README's 173, from
// two purchases in the past.
func TestSeedGivesTheSameBalanceAtAnyHour(t *testing.T) {
	root, err := dynamolocal.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	prog, err := config.ReadProgram(filepath.Join(root, "program.json"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Date(2026, 11, 30, 0, 0, 0, 0, prog.Location()) // a Monday
	for h := 0; h < 7*24; h += 3 {
		now := start.Add(time.Duration(h)*time.Hour + 17*time.Minute)
		st := memstore.New()
		if err := seed(ctx, st, prog, storecontract.NewClock(now)); err != nil {
			t.Fatalf("seed at %s: %v", now, err)
		}
		a, err := st.Account(ctx, DemoMember)
		if err != nil {
			t.Fatalf("seed at %s: %v", now, err)
		}
		if a.Balance != 173 {
			t.Errorf("seed at %s (%s): balance %d, want 173", now, now.Weekday(), a.Balance)
		}
		for _, days := range []int{1, 2} {
			if at := seedTime(now, prog.Location(), days); !at.Before(now) || now.Sub(at) > time.Duration(days+1)*24*time.Hour {
				t.Errorf("seed at %s: purchase %d days before at %s, want in the past and at most %d days ago", now, days, at, days+1)
			}
		}
	}
}
