package localstack

import (
	"context"
	"time"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// DemoMember is the member the seed gives points to.
const DemoMember = "demo-member"

// Seed loads the program file's reward catalog and gives the demo member two
// purchases' worth of points. It is idempotent: seeding twice changes nothing.
func Seed(ctx context.Context, store *dynamo.Store, program *loyalty.Program) error {
	for _, r := range program.Rewards {
		if err := store.PutReward(ctx, r); err != nil {
			return err
		}
	}
	svc := &loyalty.Service{Store: store, Referrals: store, Catalog: store, Program: program, Clock: loyalty.SystemClock{}}
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
