package localstack

import (
	"context"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// DemoMember is the member the seed gives points to.
const DemoMember = "demo-member"

// SeedStore is what the seed writes to: the DynamoDB store of the local
// stack, or the in-memory one of a test.
type SeedStore interface {
	loyalty.Store
	loyalty.ReferralStore
	loyalty.Catalog
}

// seedHour and seedMinute are the local time of day (the program's
// timezone) of the seed's purchases: a morning, outside the sample
// program's happy hour, so that the demo member's balance is the same
// whatever the hour and weekday `make run` starts (the README's story
// prints it).
const seedHour, seedMinute = 9, 30

// Seed loads the program file's reward catalog and gives the demo member two
// purchases' worth of points. It is idempotent: seeding twice changes nothing.
func Seed(ctx context.Context, store SeedStore, program *loyalty.Program) error {
	return seed(ctx, store, program, loyalty.SystemClock{})
}

func seed(ctx context.Context, store SeedStore, program *loyalty.Program, clock loyalty.Clock) error {
	for _, r := range program.Rewards {
		if err := store.PutReward(ctx, r); err != nil {
			return err
		}
	}
	svc := &loyalty.Service{Store: store, Referrals: store, Catalog: store, Program: program, Clock: clock}
	now := clock.Now()
	for i, minor := range []int64{4_250, 3_180} {
		p := loyalty.Purchase{Key: loyalty.PurchaseKey("demo-shop", "seed-"+string(rune('1'+i))), MemberID: DemoMember,
			Ref: "demo-shop:seed", Spend: loyalty.Money{Minor: minor, Currency: program.Currency},
			OccurredAt: seedTime(now, program.Location(), 2-i), Actor: "seed"}
		if _, err := svc.Accrue(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// seedTime is seedHour:seedMinute in loc, daysBefore days before now's
// date there, in UTC.
func seedTime(now time.Time, loc *time.Location, daysBefore int) time.Time {
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d-daysBefore, seedHour, seedMinute, 0, 0, loc).UTC()
}
