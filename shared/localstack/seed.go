package localstack

import (
	"context"
	"time"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// DemoMember is the member the seed gives points to.
const DemoMember = "demo-member"

// DemoRewards is the seeded catalog.
var DemoRewards = []loyalty.Reward{
	{ID: "free-coffee", Name: "Free coffee", Kind: loyalty.RewardFreeProduct, Cost: 20, ValidDays: 30, Active: true},
	{ID: "five-off", Name: "5 EUR off your next order", Kind: loyalty.RewardDiscount, Cost: 50,
		Value: &loyalty.Money{Minor: 500, Currency: "EUR"}, ValidDays: 60, Active: true},
	{ID: "gift-card-25", Name: "25 EUR partner gift card", Kind: loyalty.RewardGiftCard, Cost: 250,
		Value: &loyalty.Money{Minor: 2500, Currency: "EUR"}, ValidDays: 365, Active: true},
}

// Seed loads the demo catalog and gives the demo member two purchases'
// worth of points. It is idempotent: seeding twice changes nothing.
func Seed(ctx context.Context, store *dynamo.Store, program *loyalty.Program) error {
	for _, r := range DemoRewards {
		if err := store.PutReward(ctx, r); err != nil {
			return err
		}
	}
	svc := &loyalty.Service{Store: store, Program: program, Clock: loyalty.SystemClock{}}
	now := time.Now().UTC()
	for i, minor := range []int64{4_250, 3_180} {
		p := loyalty.Purchase{Key: loyalty.PurchaseKey("demo-shop", "seed-"+string(rune('1'+i))), MemberID: DemoMember,
			Ref: "demo-shop:seed", Spend: loyalty.Money{Minor: minor, Currency: program.Currency}, OccurredAt: now.Add(-time.Duration(48-24*i) * time.Hour), Actor: "seed"}
		if _, err := svc.Accrue(ctx, p); err != nil {
			return err
		}
	}
	return nil
}
