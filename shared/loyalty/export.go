package loyalty

import (
	"context"
	"sort"
)

// MemberReferrals is what the referral programme keeps about one member,
// for their data export: their code, who referred them, whom they referred
// and their monthly bonus counters.
type MemberReferrals struct {
	Code       string          // "" when the member never claimed one
	ReferredBy *Referee        // nil when nobody referred them
	Referees   []Referee       // the members who enrolled with their code
	Months     []ReferralMonth // months with settled referrals, oldest first
}

// MemberReferrals reads the member's referral records without changing
// anything (unlike ReferralCode, it never claims a code). The months are
// those of the referees' settlements and the current one.
// Errors: CodeUnavailable, CodeInternal when no referral store is wired.
func (s *Service) MemberReferrals(ctx context.Context, member MemberID) (MemberReferrals, error) {
	rs, err := s.referrals()
	if err != nil {
		return MemberReferrals{}, &Error{Code: CodeInternal, Message: "internal error", Err: err}
	}
	var out MemberReferrals
	// The code is the first derivation nobody else held when the member
	// claimed one; another member's code can have gone since, so every
	// derivation is looked at.
	for attempt := range maxCodeAttempts {
		code := referralCode(member, attempt)
		owner, err := rs.CodeOwner(ctx, code)
		if err != nil && ErrorCode(err) != CodeNotFound {
			return MemberReferrals{}, err
		}
		if err == nil && owner == member {
			out.Code = code
			break
		}
	}
	if by, ok, err := rs.Referral(ctx, member); err != nil {
		return MemberReferrals{}, err
	} else if ok {
		out.ReferredBy = &by
	}
	if out.Referees, err = rs.Referees(ctx, member); err != nil {
		return MemberReferrals{}, err
	}
	months := map[string]bool{s.Program.monthOf(s.Clock.Now()): true}
	for _, r := range out.Referees {
		if !r.SettledAt.IsZero() {
			months[s.Program.monthOf(r.SettledAt)] = true
		}
	}
	for m := range months {
		rm, err := rs.ReferralMonth(ctx, member, m)
		if err != nil {
			return MemberReferrals{}, err
		}
		if rm.Paid+rm.Capped > 0 {
			out.Months = append(out.Months, rm)
		}
	}
	sort.Slice(out.Months, func(i, j int) bool { return out.Months[i].Month < out.Months[j].Month })
	return out, nil
}
