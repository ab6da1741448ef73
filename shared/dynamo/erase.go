package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// An erasure runs in steps, each one transaction, each safe to repeat:
//
//  1. mark: the erasure's mark (ERASURE#<fingerprint>, keys.go) is put and
//     the account deleted in one transaction, so from then on no write can
//     create anything of the member (Apply, Enrol, ClaimCode, Deliver and
//     the jobs' records check the account or the mark in their own
//     transactions) and the member's idempotency keys stay spent;
//  2. pages: first the history of a claimed card that is still moving
//     (MoveClaimHistory): what is left under the card's anonymous id is the
//     member's, so it goes a page at a time before the member's copy of
//     the card that points to it (eraseMovingCards); then the partition is
//     read (strongly consistent) a page at a time;
//     each page is deleted in one transaction with the items outside the
//     partition its items point to (linkedItem) and the mark's counters, so
//     the counts are exact however often a page is retried. Referees of the
//     member are rewritten to name loyalty.ErasedMember before the record
//     pointing at them goes;
//  3. rejections: recorded queue messages naming the member, found with one
//     Query per rejection shard, are deleted the same way;
//  4. finish: once a page reads empty, the mark is set done and the
//     anonymised totals are put, in one transaction.
//
// A call interrupted anywhere leaves the mark in progress and the next call
// starts again at step 2, which finds only what is left.

// erasurePage bounds the items of one page: with the item each may point to
// and the mark's update, a page's transaction stays under DynamoDB's 100.
const erasurePage = 40

// erasureRecord is the mark of a member's erasure.
type erasureRecord struct {
	PK        string           `dynamodbav:"pk"`
	SK        string           `dynamodbav:"sk"`
	State     string           `dynamodbav:"st"`
	Anon      string           `dynamodbav:"anon"`
	Balance   int64            `dynamodbav:"bal"`
	Lifetime  int64            `dynamodbav:"life"`
	Requested time.Time        `dynamodbav:"req"`
	Erased    string           `dynamodbav:"at,omitempty"` // RFC 3339, once done
	Deleted   map[string]int64 `dynamodbav:"del"`
	Rewritten int64            `dynamodbav:"rw"`
}

// The kinds of deleted items the mark counts (erasureRecord.Deleted).
const (
	delAccount       = "account"
	delLedger        = "ledger"
	delRedemptions   = "redemptions"
	delNotifications = "notifications"
	delFeedback      = "feedback"
	delReferrals     = "referrals"
	delRejections    = "rejections"
	delOther         = "other"
)

var deletedKinds = []string{delAccount, delLedger, delRedemptions, delNotifications, delFeedback, delReferrals, delRejections, delOther}

func (r erasureRecord) erasure() loyalty.Erasure {
	d := r.Deleted
	e := loyalty.Erasure{AnonymousID: r.Anon, State: loyalty.ErasureState(r.State), Entries: int(d[delLedger]),
		Balance: loyalty.Points(r.Balance), Lifetime: loyalty.Points(r.Lifetime), RequestedAt: r.Requested,
		Deleted: loyalty.ErasedItems{Account: int(d[delAccount]), Ledger: int(d[delLedger]), Redemptions: int(d[delRedemptions]),
			Notifications: int(d[delNotifications]), Feedback: int(d[delFeedback]), Referrals: int(d[delReferrals]),
			Rejections: int(d[delRejections]), Other: int(d[delOther])},
		Rewritten: int(r.Rewritten)}
	if t, err := time.Parse(time.RFC3339Nano, r.Erased); err == nil {
		e.ErasedAt = t
	}
	return e
}

// totalsRecord is the anonymised totals of an erased member (ERASED/<id>).
type totalsRecord struct {
	PK       string    `dynamodbav:"pk"`
	SK       string    `dynamodbav:"sk"`
	Entries  int       `dynamodbav:"n"`
	Balance  int64     `dynamodbav:"bal"`
	Lifetime int64     `dynamodbav:"life"`
	ErasedAt time.Time `dynamodbav:"at"`
}

// errErased is what every write for an erased member fails with. The
// message names nobody: it may end up in a rejection record.
func errErased() error {
	return loyalty.Errorf(loyalty.CodeMemberErased, "the member was erased: their id takes no more changes")
}

// notErased is a transaction's check that the member was never erased.
func (s *Store) notErased(id loyalty.MemberID) types.TransactWriteItem {
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: &s.table,
		Key: s.key(erasurePK(id), skErasure), ConditionExpression: aws.String("attribute_not_exists(pk)")}}
}

// failedAt reports whether the transaction was cancelled by the condition
// of its i-th item.
func failedAt(tce *types.TransactionCanceledException, i int) bool {
	return len(tce.CancellationReasons) > i && aws.ToString(tce.CancellationReasons[i].Code) == "ConditionalCheckFailed"
}

// erasedOr returns errErased when the member's erasure was started, and
// otherwise err (nil: go on as if the member was never erased).
func (s *Store) erasedOr(ctx context.Context, id loyalty.MemberID, err error) error {
	_, erased, rerr := s.erasureMark(ctx, id)
	switch {
	case rerr != nil:
		return rerr
	case erased:
		return errErased()
	}
	return err
}

func (s *Store) erasureMark(ctx context.Context, id loyalty.MemberID) (erasureRecord, bool, error) {
	item, err := s.get(ctx, erasurePK(id), skErasure, true)
	if err != nil || item == nil {
		return erasureRecord{}, false, err
	}
	var r erasureRecord
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return erasureRecord{}, false, fmt.Errorf("decode erasure mark: %w", err)
	}
	return r, true, nil
}

// ErasureStatus implements loyalty.ErasureLog with one read of the mark.
func (s *Store) ErasureStatus(ctx context.Context, id loyalty.MemberID) (loyalty.Erasure, error) {
	r, ok, err := s.erasureMark(ctx, id)
	if err != nil {
		return loyalty.Erasure{}, err
	}
	if !ok {
		return loyalty.Erasure{}, loyalty.Errorf(loyalty.CodeNotFound, "no erasure of member %s", id)
	}
	return r.erasure(), nil
}

// EraseMember implements loyalty.Eraser in the steps above. It stops between
// pages when its context's deadline is nearer than EraseReserve and returns
// the erasure in progress.
func (s *Store) EraseMember(ctx context.Context, id loyalty.MemberID, now time.Time) (loyalty.Erasure, error) {
	mark, err := s.markErasure(ctx, id, now)
	if err != nil {
		return loyalty.Erasure{}, err
	}
	if mark.State == string(loyalty.ErasureDone) {
		// Nothing writes a member's items after the mark, but a restored
		// backup or a seed could: sweep the partition again, without
		// changing the receipt.
		for {
			n, err := s.eraseMovingCards(ctx, id, false)
			if err == nil && n == 0 {
				n, err = s.erasePage(ctx, id, false)
			}
			if err != nil || n == 0 {
				return mark.erasure(), err
			}
		}
	}
	for {
		for {
			if s.shortOfTime(ctx) {
				return s.ErasureStatus(ctx, id)
			}
			n, err := s.eraseMovingCards(ctx, id, true)
			if err == nil && n == 0 {
				n, err = s.erasePage(ctx, id, true)
			}
			if err != nil {
				return loyalty.Erasure{}, err
			}
			if n == 0 {
				break
			}
		}
		if err := s.eraseRejections(ctx, id); err != nil {
			return loyalty.Erasure{}, err
		}
		// The partition must still be empty after the rejections' sweep.
		n, err := s.erasePage(ctx, id, true)
		if err != nil {
			return loyalty.Erasure{}, err
		}
		if n == 0 {
			return s.finishErasure(ctx, id, now)
		}
	}
}

// shortOfTime reports whether the context's deadline is too near for
// another page.
func (s *Store) shortOfTime(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < s.EraseReserve
}

// markErasure returns the member's mark, putting it (and deleting the
// account, in the same transaction) when there is none yet.
func (s *Store) markErasure(ctx context.Context, id loyalty.MemberID, now time.Time) (erasureRecord, error) {
	for attempt := 0; ; attempt++ {
		if mark, ok, err := s.erasureMark(ctx, id); err != nil || ok {
			return mark, err
		}
		item, err := s.get(ctx, memberPK(id), skAccount, true)
		if err != nil {
			return erasureRecord{}, err
		}
		var rnd [12]byte
		if _, err := rand.Read(rnd[:]); err != nil {
			return erasureRecord{}, err
		}
		mark := erasureRecord{PK: erasurePK(id), SK: skErasure, State: string(loyalty.ErasureInProgress),
			Anon: hex.EncodeToString(rnd[:]), Requested: now.UTC(), Deleted: map[string]int64{}}
		for _, k := range deletedKinds {
			mark.Deleted[k] = 0
		}
		var acct loyalty.Account
		if item != nil {
			if acct, err = decodeAccount(item); err != nil {
				return erasureRecord{}, err
			}
			mark.Balance, mark.Lifetime, mark.Deleted[delAccount] = int64(acct.Balance), int64(acct.Lifetime), 1
		} else if held, err := s.holdsAnything(ctx, id); err != nil {
			return erasureRecord{}, err
		} else if !held {
			return erasureRecord{}, loyalty.Errorf(loyalty.CodeNotFound, "member %s is not enrolled", id)
		}
		rec, err := attributevalue.MarshalMap(mark)
		if err != nil {
			return erasureRecord{}, err
		}
		items := []types.TransactWriteItem{{Put: &types.Put{TableName: &s.table, Item: rec, ConditionExpression: aws.String("attribute_not_exists(pk)")}}}
		if item != nil {
			ex, err := expression.NewBuilder().WithCondition(expression.Name(aVersion).Equal(expression.Value(acct.Version))).Build()
			if err != nil {
				return erasureRecord{}, fmt.Errorf("build erasure condition: %w", err)
			}
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: s.key(memberPK(id), skAccount),
				ConditionExpression: ex.Condition(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values()}})
		}
		out, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items,
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		if err == nil {
			s.meter(out.ConsumedCapacity...)
			return mark, nil
		}
		// Another erasure marked it first, or the account moved: look again.
		if !retryable(err) || attempt >= 10 {
			return erasureRecord{}, s.classify(err, "mark erasure of member %s", id)
		}
		if err := backoff(ctx, attempt+1); err != nil {
			return erasureRecord{}, err
		}
	}
}

// retryable reports whether a cancelled transaction failed only on
// conditions and conflicts, which reading again resolves.
func retryable(err error) bool {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return false
	}
	for _, r := range tce.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "", "None", "ConditionalCheckFailed", "TransactionConflict":
		default:
			return false
		}
	}
	return true
}

// holdsAnything reports whether the table holds anything of a member who
// has no account: items in their partition, or rejections naming them.
func (s *Store) holdsAnything(ctx context.Context, id loyalty.MemberID) (bool, error) {
	items, err := s.partitionPage(ctx, id, 1)
	if err != nil || len(items) > 0 {
		return len(items) > 0, err
	}
	keys, err := s.rejectionsNaming(ctx, id)
	return len(keys) > 0, err
}

func (s *Store) partitionPage(ctx context.Context, id loyalty.MemberID, limit int32) ([]map[string]types.AttributeValue, error) {
	ex, err := expression.NewBuilder().WithKeyCondition(expression.Key("pk").Equal(expression.Value(memberPK(id)))).Build()
	if err != nil {
		return nil, fmt.Errorf("build query: %w", err)
	}
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{TableName: &s.table, KeyConditionExpression: ex.KeyCondition(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(), ConsistentRead: aws.Bool(true),
		Limit: aws.Int32(limit), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return nil, s.classify(err, "read the partition of member %s", id)
	}
	s.mu.Lock()
	s.consumed.Queries++
	s.mu.Unlock()
	if out.ConsumedCapacity != nil {
		s.meterRead(int64(out.Count), *out.ConsumedCapacity)
	}
	return out.Items, nil
}

// erasedKind is what the mark counts an item of the member's partition as.
func erasedKind(sk string) string {
	switch {
	case sk == skAccount:
		return delAccount
	case strings.HasPrefix(sk, prefixEntry):
		return delLedger
	case strings.HasPrefix(sk, prefixRedemption):
		return delRedemptions
	case strings.HasPrefix(sk, prefixNotification):
		return delNotifications
	case strings.HasPrefix(sk, prefixFeedback):
		return delFeedback
	case sk == skReferralCode, sk == skReferredBy, strings.HasPrefix(sk, prefixReferee), strings.HasPrefix(sk, prefixRefMonth):
		return delReferrals
	}
	return delOther
}

// eraseMovingCards deletes one page of what is left under the anonymous id
// of a card the member claimed and whose history is still moving, counted
// as the member's, and returns how many items it deleted (0: no such card
// is left). A card whose anonymous partition reads empty loses its hist
// mark, so the next call goes on to the next card; the member's copy of
// the card itself goes with the member's partition, after.
func (s *Store) eraseMovingCards(ctx context.Context, id loyalty.MemberID, counting bool) (int, error) {
	cards, err := s.queryAll(ctx, memberPK(id), prefixMemberCard)
	if err != nil {
		return 0, err
	}
	for _, it := range cards {
		if stringAttr(it, aHistory) == "" {
			continue
		}
		n := loyalty.CardNumber(stringAttr(it, "n"))
		deleted, err := s.erasePageOf(ctx, loyalty.AnonymousMember(n), id, counting)
		if err != nil || deleted > 0 {
			return deleted, err
		}
		if err := s.claimDone(ctx, n, id); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// erasePage deletes one page of the member's partition with what its items
// point to, and returns how many of the partition's items it deleted (0:
// the partition is empty). Counting, the mark's counters go up in the same
// transaction, which holds only while the erasure is in progress.
func (s *Store) erasePage(ctx context.Context, id loyalty.MemberID, counting bool) (int, error) {
	return s.erasePageOf(ctx, id, id, counting)
}

// erasePageOf is erasePage for the partition of partition (the member's
// own, or the anonymous id of a card the member claimed), counted on the
// member's mark.
func (s *Store) erasePageOf(ctx context.Context, partition, id loyalty.MemberID, counting bool) (int, error) {
	for attempt := 0; ; attempt++ {
		items, err := s.partitionPage(ctx, partition, erasurePage)
		if err != nil || len(items) == 0 {
			return 0, err
		}
		counts := map[string]int64{}
		var rewritten int64
		var actions []types.TransactWriteItem
		exists := aws.String("attribute_exists(pk)")
		for _, it := range items {
			sk := stringAttr(it, "sk")
			if referee, ok := strings.CutPrefix(sk, prefixReferee); ok {
				// The referee's records name the member: rewrite them before
				// the pointer to them goes.
				if err := s.forgetReferrer(ctx, id, loyalty.MemberID(referee)); err != nil {
					return 0, err
				}
				rewritten++
			}
			kind := erasedKind(sk)
			counts[kind]++
			actions = append(actions, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table,
				Key: map[string]types.AttributeValue{"pk": it["pk"], "sk": it["sk"]}, ConditionExpression: exists}})
			linked, ok, err := linkedItem(it)
			if err != nil {
				return 0, err
			}
			if ok {
				counts[kind]++
				actions = append(actions, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: linked}})
			}
		}
		if counting {
			upd, err := s.countUpdate(id, counts, rewritten)
			if err != nil {
				return 0, err
			}
			actions = append(actions, upd)
		}
		out, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: actions,
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		if err == nil {
			s.meter(out.ConsumedCapacity...)
			return len(items), nil
		}
		// Another erasure of the member took some of the page, or a writer
		// held an item: read the page again.
		if !retryable(err) || attempt >= 10 {
			return 0, s.classify(err, "erase a page of member %s", id)
		}
		if err := backoff(ctx, attempt+1); err != nil {
			return 0, err
		}
	}
}

// countUpdate adds counts to the mark's counters, only while the erasure is
// in progress.
func (s *Store) countUpdate(id loyalty.MemberID, counts map[string]int64, rewritten int64) (types.TransactWriteItem, error) {
	upd := expression.Add(expression.Name("rw"), expression.Value(rewritten))
	for k, n := range counts {
		upd = upd.Add(expression.Name("del."+k), expression.Value(n))
	}
	ex, err := expression.NewBuilder().WithUpdate(upd).
		WithCondition(expression.Name("st").Equal(expression.Value(string(loyalty.ErasureInProgress)))).Build()
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("build erasure counters: %w", err)
	}
	return types.TransactWriteItem{Update: &types.Update{TableName: &s.table, Key: s.key(erasurePK(id), skErasure),
		ConditionExpression: ex.Condition(), UpdateExpression: ex.Update(), ExpressionAttributeNames: ex.Names(),
		ExpressionAttributeValues: ex.Values()}}, nil
}

// forgetReferrer rewrites a referee's records that name the erased
// referrer to name loyalty.ErasedMember: the pending referral on their
// account (the referee still gets their bonus; nobody gets the referrer's)
// and their permanent record of who referred them, without the code. Each
// update holds only while the record still names the referrer, so doing it
// again changes nothing.
func (s *Store) forgetReferrer(ctx context.Context, referrer, referee loyalty.MemberID) error {
	me := expression.Value(string(referrer))
	erased := expression.Value(string(loyalty.ErasedMember))
	for _, u := range []struct {
		sk   string
		cond expression.ConditionBuilder
		upd  expression.UpdateBuilder
	}{
		{skAccount, expression.Name(aReferredBy).Equal(me),
			expression.Set(expression.Name(aReferredBy), erased).Add(expression.Name(aVersion), expression.Value(1))},
		{skReferredBy, expression.Name("rr").Equal(me),
			expression.Set(expression.Name("rr"), erased).Remove(expression.Name("code"))},
	} {
		ex, err := expression.NewBuilder().WithCondition(u.cond).WithUpdate(u.upd).Build()
		if err != nil {
			return fmt.Errorf("build referral rewrite: %w", err)
		}
		_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: s.key(memberPK(referee), u.sk),
			ConditionExpression: ex.Condition(), UpdateExpression: ex.Update(), ExpressionAttributeNames: ex.Names(),
			ExpressionAttributeValues: ex.Values()})
		var ccf *types.ConditionalCheckFailedException
		if err != nil && !errors.As(err, &ccf) { // failed condition: rewritten already, or nothing to rewrite
			return s.classify(err, "rewrite the referral records of a referee of member %s", referrer)
		}
	}
	return nil
}

// rejectionsNaming returns the keys of the recorded rejections naming the
// member (loyalty.Rejection.Names): one Query per rejection shard.
func (s *Store) rejectionsNaming(ctx context.Context, id loyalty.MemberID) ([]map[string]types.AttributeValue, error) {
	filter := expression.Name("mem").Equal(expression.Value(string(id))).
		Or(expression.Contains(expression.Name("body"), `"`+string(id)+`"`))
	var keys []map[string]types.AttributeValue
	for shard := range RejectionShards {
		ex, err := expression.NewBuilder().WithKeyCondition(expression.Key("pk").Equal(expression.Value(fmt.Sprintf("%s%d", prefixRejection, shard)))).
			WithFilter(filter).WithProjection(expression.NamesList(expression.Name("pk"), expression.Name("sk"))).Build()
		if err != nil {
			return nil, fmt.Errorf("build rejection query: %w", err)
		}
		p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{TableName: &s.table, KeyConditionExpression: ex.KeyCondition(),
			FilterExpression: ex.Filter(), ProjectionExpression: ex.Projection(), ExpressionAttributeNames: ex.Names(),
			ExpressionAttributeValues: ex.Values(), ConsistentRead: aws.Bool(true), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return nil, s.classify(err, "find rejections naming member %s", id)
			}
			if out.ConsumedCapacity != nil {
				s.meterRead(int64(out.ScannedCount), *out.ConsumedCapacity)
			}
			keys = append(keys, out.Items...)
		}
	}
	return keys, nil
}

// eraseRejections deletes the rejections naming the member, up to 99 a
// transaction with the mark's counter.
func (s *Store) eraseRejections(ctx context.Context, id loyalty.MemberID) error {
	for attempt := 0; ; attempt++ {
		keys, err := s.rejectionsNaming(ctx, id)
		if err != nil || len(keys) == 0 {
			return err
		}
		n := min(len(keys), 99)
		actions := make([]types.TransactWriteItem, 0, n+1)
		for _, k := range keys[:n] {
			actions = append(actions, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table,
				Key: map[string]types.AttributeValue{"pk": k["pk"], "sk": k["sk"]}, ConditionExpression: aws.String("attribute_exists(pk)")}})
		}
		upd, err := s.countUpdate(id, map[string]int64{delRejections: int64(n)}, 0)
		if err != nil {
			return err
		}
		out, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: append(actions, upd),
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		if err == nil {
			s.meter(out.ConsumedCapacity...)
			attempt = -1 // progress: the next batch has its own attempts
			continue
		}
		if !retryable(err) || attempt >= 10 {
			return s.classify(err, "erase the rejections naming member %s", id)
		}
		if err := backoff(ctx, attempt+1); err != nil {
			return err
		}
	}
}

// finishErasure marks the erasure done and puts the anonymised totals, in
// one transaction; an erasure someone else finished is returned as it is.
func (s *Store) finishErasure(ctx context.Context, id loyalty.MemberID, now time.Time) (loyalty.Erasure, error) {
	for attempt := 0; ; attempt++ {
		mark, ok, err := s.erasureMark(ctx, id)
		if err != nil {
			return loyalty.Erasure{}, err
		}
		if !ok {
			return loyalty.Erasure{}, fmt.Errorf("finish erasure of member %s: the mark is gone", id)
		}
		if mark.State == string(loyalty.ErasureDone) {
			return mark.erasure(), nil
		}
		mark.State, mark.Erased = string(loyalty.ErasureDone), now.UTC().Format(time.RFC3339Nano)
		totals, err := attributevalue.MarshalMap(totalsRecord{PK: pkErased, SK: mark.Anon, Entries: int(mark.Deleted[delLedger]),
			Balance: mark.Balance, Lifetime: mark.Lifetime, ErasedAt: now.UTC()})
		if err != nil {
			return loyalty.Erasure{}, err
		}
		ex, err := expression.NewBuilder().
			WithCondition(expression.Name("st").Equal(expression.Value(string(loyalty.ErasureInProgress)))).
			WithUpdate(expression.Set(expression.Name("st"), expression.Value(mark.State)).Set(expression.Name("at"), expression.Value(mark.Erased))).Build()
		if err != nil {
			return loyalty.Erasure{}, fmt.Errorf("build erasure finish: %w", err)
		}
		out, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Update: &types.Update{TableName: &s.table, Key: s.key(erasurePK(id), skErasure), ConditionExpression: ex.Condition(),
				UpdateExpression: ex.Update(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values()}},
			{Put: &types.Put{TableName: &s.table, Item: totals, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		}, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		if err == nil {
			s.meter(out.ConsumedCapacity...)
			return mark.erasure(), nil
		}
		if !retryable(err) || attempt >= 10 {
			return loyalty.Erasure{}, s.classify(err, "finish erasure of member %s", id)
		}
		if err := backoff(ctx, attempt+1); err != nil {
			return loyalty.Erasure{}, err
		}
	}
}
