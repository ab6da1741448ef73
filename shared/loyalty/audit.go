package loyalty

import (
	"fmt"
	"sort"
)

// AuditProblem describes a member whose account, ledger and lots disagree.
type AuditProblem struct {
	MemberID  MemberID `json:"memberId"`
	Balance   Points   `json:"balance"`
	LedgerSum Points   `json:"ledgerSum"`
	LotSum    Points   `json:"lotSum"`
	Deficit   Points   `json:"deficit"`
	Problems  []string `json:"problems"`
}

// AuditAccount checks one member: the balance equals the sum of the ledger
// and the sum of the lots less the deficit; every lot equals the sum of the
// ledger's movements of that lot; lots are positive and ordered; the balance
// is negative only through a deficit. It returns nil when all holds.
func AuditAccount(a Account, entries []Entry) *AuditProblem {
	p := AuditProblem{MemberID: a.MemberID, Balance: a.Balance, LotSum: a.LotTotal(), Deficit: a.Deficit}
	byLot := map[Date]Points{}
	var deficit, debt Points
	for _, e := range entries {
		p.LedgerSum += e.Delta
		deficit += e.DeficitDelta
		debt += e.DebtDelta
		var lotDelta Points
		for _, l := range e.Lots {
			byLot[l.Expires] += l.Points
			lotDelta += l.Points
		}
		if lotDelta-e.DeficitDelta != e.Delta {
			p.Problems = append(p.Problems, fmt.Sprintf("entry %s: lots %d - deficit %d != delta %d", e.Key, lotDelta, e.DeficitDelta, e.Delta))
		}
	}
	if p.LedgerSum != a.Balance {
		p.Problems = append(p.Problems, fmt.Sprintf("balance %d != ledger sum %d", a.Balance, p.LedgerSum))
	}
	if p.LotSum-a.Deficit != a.Balance {
		p.Problems = append(p.Problems, fmt.Sprintf("balance %d != lots %d - deficit %d", a.Balance, p.LotSum, a.Deficit))
	}
	if deficit != a.Deficit {
		p.Problems = append(p.Problems, fmt.Sprintf("deficit %d != ledger deficit %d", a.Deficit, deficit))
	}
	if debt != a.Debt {
		p.Problems = append(p.Problems, fmt.Sprintf("debt %d != ledger debt %d", a.Debt, debt))
	}
	if a.Balance < 0 && a.Deficit == 0 {
		p.Problems = append(p.Problems, fmt.Sprintf("balance %d is negative without a deficit", a.Balance))
	}
	held := map[Date]Points{}
	for i, l := range a.Lots {
		held[l.Expires] = l.Points
		if l.Points <= 0 {
			p.Problems = append(p.Problems, fmt.Sprintf("lot %s holds %d points", l.Expires, l.Points))
		}
		if i > 0 && a.Lots[i-1].Expires >= l.Expires {
			p.Problems = append(p.Problems, fmt.Sprintf("lots out of order at %s", l.Expires))
		}
	}
	var days []Date
	for d := range byLot {
		days = append(days, d)
	}
	for d := range held {
		if _, ok := byLot[d]; !ok {
			days = append(days, d)
		}
	}
	sort.Slice(days, func(i, j int) bool { return days[i] < days[j] })
	for _, d := range days {
		if byLot[d] != held[d] {
			p.Problems = append(p.Problems, fmt.Sprintf("lot %s holds %d, ledger says %d", d, held[d], byLot[d]))
		}
	}
	if len(p.Problems) == 0 {
		return nil
	}
	return &p
}
