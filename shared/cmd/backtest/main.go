// Command backtest replays past purchases against a candidate program file
// and reports, beside the current program, the points each would have
// issued and what they are worth (the liability), per rule and in total:
//
//	backtest -candidate FILE -purchases FILE [-current program.json] [-point-value 0.01] [-json]
//
// The purchases file holds partner events as JSON lines, one
// purchase.completed v1 event a line (the partner queue's format, as in
// events/partner); purchase.refunded events are counted and skipped, blank
// lines are ignored, any other line stops the run with its line number.
// Both programs are validated as every function validates them at start.
// What the replay simulates is in loyalty.Backtest; it reads and writes no
// table and needs no AWS access.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/loyalty-functions/loyalty/events/partner"
	"github.com/loyalty-functions/loyalty/shared/config"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/tools/cliflags"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "backtest:", err)
		os.Exit(1)
	}
}

// Report is the -json output: the replay and the value of its points.
type Report struct {
	loyalty.BacktestReport
	RefundsSkipped int       `json:"refundsSkipped"`
	PointValue     string    `json:"pointValue"` // per point, in major units of the currency
	Currency       string    `json:"currency"`
	Liability      Liability `json:"liability"`
}

// Liability is what the points issued are worth, in minor units.
type Liability struct {
	Current   int64               `json:"currentMinor"`
	Candidate int64               `json:"candidateMinor"`
	Rules     map[string][2]int64 `json:"rulesMinor"` // rule -> [current, candidate]
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("backtest", flag.ContinueOnError)
	current := fs.String("current", "program.json", "the program file in force")
	candidate := fs.String("candidate", "", "the program file to try (required)")
	purchases := fs.String("purchases", "", "past purchase.completed events, one JSON object a line (required)")
	value := fs.String("point-value", "0.01", "what one point is worth, in major units of the program's currency")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	rest, err := cliflags.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("usage: backtest takes flags only, got the argument %q (files go after -candidate and -purchases)", rest[0])
	}
	if *candidate == "" || *purchases == "" {
		return errors.New("usage: backtest -candidate FILE -purchases FILE [-current program.json] [-point-value 0.01] [-json]")
	}
	cur, err := config.ReadProgram(*current)
	if err != nil {
		return err
	}
	cand, err := config.ReadProgram(*candidate)
	if err != nil {
		return err
	}
	if cand.Currency != cur.Currency {
		return fmt.Errorf("the candidate program earns in %s, the current one in %s: their liabilities do not compare", cand.Currency, cur.Currency)
	}
	pv, err := loyalty.ParsePointValue(*value, cur.Currency)
	if err != nil {
		return fmt.Errorf("-point-value: %w", err)
	}
	list, refunds, err := readPurchases(*purchases)
	if err != nil {
		return err
	}
	rep, err := loyalty.Backtest(cur, cand, list)
	if err != nil {
		return err
	}
	out := Report{BacktestReport: rep, RefundsSkipped: refunds, PointValue: *value, Currency: cur.Currency,
		Liability: Liability{Current: pv.Of(rep.Current.Points).Minor, Candidate: pv.Of(rep.Candidate.Points).Minor, Rules: map[string][2]int64{}}}
	for _, r := range ruleNames(rep) {
		out.Liability.Rules[r] = [2]int64{pv.Of(rep.Current.Rules[r]).Minor, pv.Of(rep.Candidate.Rules[r]).Minor}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return printReport(stdout, out, *purchases)
}

// readPurchases reads the events file: purchases in, refunds counted.
func readPurchases(path string) ([]loyalty.Purchase, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	var (
		list    []loyalty.Purchase
		refunds int
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		ev, err := partner.Decode([]byte(line))
		if err != nil {
			return nil, 0, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		switch {
		case ev.Purchase != nil:
			list = append(list, *ev.Purchase)
		case ev.Refund != nil:
			refunds++
		}
	}
	if err := sc.Err(); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	return list, refunds, nil
}

func ruleNames(rep loyalty.BacktestReport) []string {
	seen := map[string]bool{}
	for r := range rep.Current.Rules {
		seen[r] = true
	}
	for r := range rep.Candidate.Rules {
		seen[r] = true
	}
	names := make([]string, 0, len(seen))
	for r := range seen {
		names = append(names, r)
	}
	sort.Strings(names)
	return names
}

func printReport(w io.Writer, r Report, source string) error {
	money := func(minor int64) string {
		return loyalty.FormatMoney(loyalty.Money{Minor: minor, Currency: r.Currency})
	}
	signed := func(n int64) string {
		if n > 0 {
			return fmt.Sprintf("+%d", n)
		}
		return fmt.Sprint(n)
	}
	signedMoney := func(n int64) string {
		if n > 0 {
			return "+" + money(n)
		}
		return money(n)
	}
	fmt.Fprintf(w, "Backtest of %s: %d purchases by %d members; skipped: %d repeated deliveries, %d refunds\n",
		source, r.Purchases, r.Members, r.Duplicates, r.RefundsSkipped)
	fmt.Fprintf(w, "current %s, candidate %s, one point = %s %s\n\n", r.Current.Program, r.Candidate.Program, r.PointValue, r.Currency)
	names := ruleNames(r.BacktestReport)
	width := len("total")
	for _, name := range names {
		width = max(width, len(name))
	}
	left := func(s string) string { return fmt.Sprintf("%-*s", width, s) } // numbers align right, names left
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\tcurrent\tcandidate\tchange\tcurrent value\tcandidate value\tchange\t\n", left("rule"))
	for _, name := range names {
		c, d := r.Current.Rules[name], r.Candidate.Rules[name]
		v := r.Liability.Rules[name]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t\n", left(name), c, d, signed(int64(d-c)), money(v[0]), money(v[1]), signedMoney(v[1]-v[0]))
	}
	fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t\n", left("total"), r.Current.Points, r.Candidate.Points, signed(int64(r.Candidate.Points-r.Current.Points)),
		money(r.Liability.Current), money(r.Liability.Candidate), signedMoney(r.Liability.Candidate-r.Liability.Current))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "(values are rounded to a minor unit on each line)\n\ntier upgrades: %d -> %d\n", r.Current.TierUpgrades, r.Candidate.TierUpgrades)
	rewards := map[string]bool{}
	for id := range r.Current.RewardsIssued {
		rewards[id] = true
	}
	for id := range r.Candidate.RewardsIssued {
		rewards[id] = true
	}
	ids := make([]string, 0, len(rewards))
	for id := range rewards {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintf(w, "stamp card rewards %s: %d -> %d\n", id, r.Current.RewardsIssued[id], r.Candidate.RewardsIssued[id])
	}
	return nil
}
