package dynamo

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/spec/table"
)

// Key formats of the table. Every item of a member lives in the member's
// partition, so a member's account, ledger and redemptions are one Query away
// and a transaction touches one partition:
//
//	pk               sk            item
//	M#<member>       A             account: balance, lots, version (hot, kept small)
//	M#<member>       L#<key>       ledger entry, keyed by its idempotency key
//	M#<member>       R#<id>        redemption (issued reward and its code)
//	CATALOG          RW#<id>       reward of the catalog
//	CATALOG          PB#<id>       points a promotion with a budget has given (attribute used)
//	ERASED           <random id>   anonymised totals of an erased member
//
// The due index (dk) holds "DUE#<day>#<shard>" on accounts that have lots to
// expire; only accounts carry it, and only while they hold expiring lots.
// The review index (rk) holds "REV#<day>#<shard>" on accounts above the base
// tier: the day the tier-review job looks at them.
const (
	prefixMember     = "M#"
	skAccount        = "A"
	prefixEntry      = "L#"
	prefixRedemption = "R#"
	pkCatalog        = "CATALOG"
	prefixReward     = "RW#"
	prefixBudget     = "PB#"
	prefixDue        = "DUE#"
	pkErased         = "ERASED"
	prefixReview     = "REV#"
)

// DueShards is how many partitions one day of the due index spreads over.
const DueShards = table.Shards

func memberPK(id loyalty.MemberID) string { return prefixMember + string(id) }
func entrySK(key string) string           { return prefixEntry + key }

// historyKey is an entry's sort key in the history index (ht): its time as
// 19-digit Unix nanoseconds, "#", its ledger key, so that the index orders a
// member's entries as an activity page does, by time and then key.
func historyKey(at time.Time, key string) string {
	return fmt.Sprintf("%019d#%s", max(at.UnixNano(), 0), key)
}
func redemptionSK(id string) string { return prefixRedemption + id }
func rewardSK(id string) string     { return prefixReward + id }

func memberFromPK(pk string) (loyalty.MemberID, bool) {
	id, ok := strings.CutPrefix(pk, prefixMember)
	return loyalty.MemberID(id), ok
}

// DueShard is the shard of the due index a member's account goes to.
func DueShard(id loyalty.MemberID) int { return table.Shard(string(id)) }

// ReviewKey is the review-index partition of one day and shard.
func ReviewKey(day loyalty.Date, shard int) string {
	return fmt.Sprintf("%s%s#%02d", prefixReview, day, shard)
}

// DueKey is the due-index partition of one day and shard.
func DueKey(day loyalty.Date, shard int) string {
	return fmt.Sprintf("%s%s#%02d", prefixDue, day, shard)
}

// Rejected queue messages (rejections.go) live outside members' partitions,
// spread over a few shards so that a burst of bad messages from one partner
// does not make one hot partition; ops list them with one Query per shard:
//
//	pk               sk            item
//	REJ#<shard>      <message id>  a queue message refused for good, with its body
const (
	prefixRejection = "REJ#"
	// RejectionShards is how many partitions hold rejections.
	RejectionShards = 8
)

func rejectionPK(messageID string) string {
	h := fnv.New32a()
	h.Write([]byte(messageID))
	return fmt.Sprintf("%s%d", prefixRejection, h.Sum32()%RejectionShards)
}

// Referrals and feedback (referrals.go, feedback.go). A member's own items
// stay in their partition; what must be found by something else than the
// member lives under its own key:
//
//	pk               sk                         item
//	M#<member>       RC                         the member's referral code
//	M#<member>       RB                         who referred the member, with which code (kept for good)
//	M#<member>       RE#<referee>               a member the member referred, and where that referral stands
//	M#<member>       RM#<yyyy-mm>               the member's referral bonuses of a month, against the cap
//	M#<member>       FB#<purchase key>          the member's feedback on one purchase
//	RC#<code>        C                          referral code -> member
//	FB#<yyyy-mm-dd>  <at>#<member>#<purchase>   feedback of one program-local day, for ops to list without a Scan
const (
	skReferralCode   = "RC"
	skReferredBy     = "RB"
	prefixReferee    = "RE#"
	prefixRefMonth   = "RM#"
	prefixFeedback   = "FB#"
	prefixCode       = "RC#"
	skCode           = "C"
	feedbackAtLayout = "2006-01-02T15:04:05.000000000Z" // fixed width, so that sort keys sort by time
)

func codePK(code string) string                 { return prefixCode + code }
func refereeSK(referee loyalty.MemberID) string { return prefixReferee + string(referee) }
func refMonthSK(month string) string            { return prefixRefMonth + month }
func feedbackSK(purchaseKey string) string      { return prefixFeedback + purchaseKey }
func feedbackDayPK(day loyalty.Date) string     { return prefixFeedback + string(day) }
func feedbackDaySK(fb loyalty.PurchaseFeedback) string {
	return fb.At.UTC().Format(feedbackAtLayout) + "#" + string(fb.MemberID) + "#" + fb.PurchaseID
}

// Scheduled jobs and the inbox (jobs.go, inbox.go):
//
//	pk               sk            item
//	M#<member>       N#<id>        inbox notification (TTL); id names the occasion, once per member
//	M#<member>       CLASS         customer class and the metrics it was given on
//	M#<member>       AFF           balance the affordability reminder last saw
//	JOB#<job>#<day>  <scope>       checkpoint of one run of a job over one index partition (TTL)
//
// The due index (dk) also holds "RWD#<day>#<shard>" on issued rewards that
// end on that day, and carries "ds", a copy of an account's lots as of its
// last planned write, so the expiry job rarely needs to read the account.
// The activity index (ak) holds "ACT#<ISO week>#<shard>" on accounts: the
// UTC week of the last activity. A credit sets it to the same value all week,
// which writes the index only on the first credit of a week.
const (
	prefixNotification = "N#"
	skClass            = "CLASS"
	skAfford           = "AFF"
	prefixJob          = "JOB#"
	prefixRewardDue    = "RWD#"
	prefixActivity     = "ACT#"
)

// The member's preferences (prefs.go):
//
//	pk               sk            item
//	M#<member>       PREF          the preferred locale
const skPrefs = "PREF"

func notificationSK(id string) string { return prefixNotification + id }

func jobPK(job string, run loyalty.Date) string { return prefixJob + job + "#" + string(run) }

// RewardDueKey is the due-index partition of the issued rewards whose last
// valid day is day.
func RewardDueKey(day loyalty.Date, shard int) string {
	return fmt.Sprintf("%s%s#%02d", prefixRewardDue, day, shard)
}

// ActivityKey is the activity-index partition of one ISO week ("2026-W14").
func ActivityKey(week string, shard int) string {
	return fmt.Sprintf("%s%s#%02d", prefixActivity, week, shard)
}

// The due index (dk) also holds "OUT#<day>#<shard>" on notifications whose
// event is not published yet (the outbox of the day they were made), so a
// job's next run publishes what a failed run left behind.
const prefixOutbox = "OUT#"

// OutboxKey is the due-index partition of one day's unpublished notifications.
func OutboxKey(day loyalty.Date, shard int) string {
	return fmt.Sprintf("%s%s#%02d", prefixOutbox, day, shard)
}

// Erasures (erase.go). The mark of a member's erasure is keyed by a one-way
// fingerprint of the member id, never the id: it says "this id was erased"
// to whoever already knows the id (the writers that must refuse it), and
// nothing to anyone else. It holds the erasure's state, its counts and the
// receipt; the totals stay under their random id as well:
//
//	pk               sk            item
//	ERASURE#<fp>     E             erasure of a member: state, what was deleted, receipt (kept for good)
//	ERASED           <random id>   anonymised totals of an erased member
//
// Every write that could create an item of a member outside Apply's account
// conditions (enrolment, a referral code, a notification, the class, the
// reminder state) checks in its transaction that the mark does not exist.
const (
	prefixErasure = "ERASURE#"
	skErasure     = "E"
)

func erasurePK(id loyalty.MemberID) string {
	sum := sha256.Sum256([]byte("erased-member\x00" + string(id)))
	return prefixErasure + hex.EncodeToString(sum[:16])
}

// Cards and codes at the till (cards.go). A card number and a short code
// must be found from what the till sends, so each has its own item; the
// member's partition holds a pointer to each, which an erasure follows:
//
//	pk                  sk            item
//	M#<member>          CN            the member's current card number (issuing and replacing hold it)
//	M#<member>          MC#<number>   a card the member has (had): erasure deletes CARD#<number> with it
//	M#<member>          SC#<digits>   a short code of the member (TTL): erasure deletes SC#<digits> with it
//	CARD#<number>       C             card -> member, state (active, blocked)
//	SC#<digits>         C             short code -> member, code id, expiry (TTL)
//	CU#<code id>        U             a rotating code's use: the ledger key of the purchase it paid (TTL; no member)
//	SCM#<partner>#<min> M             a partner's unknown short codes in one UTC minute (TTL)
const (
	skCardCurrent     = "CN"
	prefixMemberCard  = "MC#"
	prefixCard        = "CARD#"
	skCard            = "C"
	prefixShortCode   = "SC#"
	prefixCodeUse     = "CU#"
	skCodeUse         = "U"
	prefixShortMisses = "SCM#"
	skShortMisses     = "M"
)

func cardPK(n loyalty.CardNumber) string       { return prefixCard + string(n) }
func memberCardSK(n loyalty.CardNumber) string { return prefixMemberCard + string(n) }
func shortCodePK(digits string) string         { return prefixShortCode + digits }
func codeUsePK(codeID string) string           { return prefixCodeUse + codeID }
func shortMissesPK(partner string, minute string) string {
	return prefixShortMisses + partner + "#" + minute
}
