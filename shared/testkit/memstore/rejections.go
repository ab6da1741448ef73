package memstore

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// RecordRejection stores a refused queue message. Recording the same message
// again (a redelivery) refreshes reason, message, body, last-seen time and
// receive count, and the source, partner, event and member when it names
// them, and keeps its first-seen time, its state and its replay. A
// rejection naming an erased member is recorded without anything of them:
// no body, no member or event id, the id taken out of the message.
// Errors: CodeInvalid (no message id).
func (s *Store) RecordRejection(ctx context.Context, r loyalty.Rejection) error {
	if r.MessageID == "" {
		return loyalty.Invalid("messageId", "a rejection needs the message id")
	}
	if err := live(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.MemberID != "" && s.isErased(r.MemberID) {
		r.Message = strings.ReplaceAll(r.Message, string(r.MemberID), string(loyalty.ErasedMember))
		r.Body, r.EventID, r.MemberID = "", "", ""
	}
	rec, seen := s.rejections[r.MessageID]
	rec.MessageID = r.MessageID
	rec.Body = r.Body
	if len(rec.Body) > maxRejectionBody {
		rec.Body = rec.Body[:maxRejectionBody]
	}
	rec.Reason, rec.Message, rec.LastSeen, rec.ReceiveCount = r.Reason, r.Message, r.LastSeen, r.ReceiveCount
	if !seen {
		rec.FirstSeen, rec.State = r.FirstSeen, loyalty.RejectionOpen
	}
	for _, f := range []struct {
		to   *string
		from string
	}{{&rec.Source, r.Source}, {&rec.PartnerID, r.PartnerID}, {&rec.EventType, r.EventType}, {&rec.EventID, r.EventID}} {
		if f.from != "" {
			*f.to = f.from
		}
	}
	if r.MemberID != "" {
		rec.MemberID = r.MemberID
	}
	if r.MemberID == "" && r.EventID == "" {
		rec.MemberID, rec.EventID = "", "" // an erased member's message keeps nothing of them
	}
	if !r.SentAt.IsZero() {
		rec.SentAt = r.SentAt
	}
	s.rejections[r.MessageID] = normRejection(rec)
	return nil
}

// Rejection returns one recorded rejection. Errors: CodeNotFound.
func (s *Store) Rejection(ctx context.Context, messageID string) (loyalty.Rejection, error) {
	if err := live(ctx); err != nil {
		return loyalty.Rejection{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.rejections[messageID]; ok {
		return r, nil
	}
	return loyalty.Rejection{}, loyalty.Errorf(loyalty.CodeNotFound, "no rejected message %s", messageID)
}

// Rejections lists recorded rejections matching f, oldest first (first
// seen, then message id).
func (s *Store) Rejections(ctx context.Context, f loyalty.RejectionFilter) ([]loyalty.Rejection, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []loyalty.Rejection
	for _, r := range s.rejections {
		if f.Match(r) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].FirstSeen.Equal(out[j].FirstSeen) {
			return out[i].FirstSeen.Before(out[j].FirstSeen)
		}
		return out[i].MessageID < out[j].MessageID
	})
	return out, nil
}

// MarkRejectionReplayed records that ops sent the rejected message again as
// message replayedAs. Only an open rejection can be marked.
// Errors: CodeNotFound, CodeConflict (already replayed).
func (s *Store) MarkRejectionReplayed(ctx context.Context, messageID, replayedAs, by string, at time.Time) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rejections[messageID]
	switch {
	case !ok:
		return loyalty.Errorf(loyalty.CodeNotFound, "no rejected message %s", messageID)
	case r.State != loyalty.RejectionOpen:
		return loyalty.Errorf(loyalty.CodeConflict, "rejected message %s was replayed already", messageID)
	}
	r.State, r.ReplayedAt, r.ReplayedAs, r.ReplayedBy = loyalty.RejectionReplayed, utc(at), replayedAs, by
	s.rejections[messageID] = r
	return nil
}
