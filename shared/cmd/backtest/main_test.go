package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	current   = "../../../program.json"
	candidate = "../../../events/backtest/candidate-program.json"
	purchases = "../../../events/backtest/purchases.jsonl"
)

func backtest(tb testing.TB, args ...string) (string, error) {
	tb.Helper()
	var out bytes.Buffer
	err := run(append([]string{"-current", current}, args...), &out)
	return out.String(), err
}

// The shipped sample: the candidate triples happy hour, lowers the welcome
// bonus to 30, the beans multiplier to 1.5 and adds double bakery points at
// weekends.
func TestBacktestOfTheSample(t *testing.T) {
	out, err := backtest(t, "-candidate", candidate, "-purchases", purchases, "-json")
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("-json output: %v\n%s", err, out)
	}
	if r.Purchases != 12 || r.Duplicates != 1 || r.RefundsSkipped != 1 || r.Members != 4 {
		t.Errorf("counts: got %d purchases, %d duplicates, %d refunds, %d members; want 12, 1, 1, 4",
			r.Purchases, r.Duplicates, r.RefundsSkipped, r.Members)
	}
	want := map[string][2]int64{ // rule -> current, candidate points
		"base":                 {762, 762},
		"category:beans":       {42, 21},
		"promo:happy-hour":     {240, 464},
		"promo:weekend-bakery": {0, 21},
		"promo:welcome-bonus":  {450, 270},
		"sku:LATTE-XL":         {2, 2},
	}
	for rule, w := range want {
		if got := [2]int64{int64(r.Current.Rules[rule]), int64(r.Candidate.Rules[rule])}; got != w {
			t.Errorf("rule %s: got %v, want %v", rule, got, w)
		}
		if got := r.Liability.Rules[rule]; got != w { // 0.01 EUR a point: one cent each
			t.Errorf("liability of %s: got %v cents, want %v", rule, got, w)
		}
	}
	if r.Current.Points != 1496 || r.Candidate.Points != 1540 || r.Liability.Current != 1496 || r.Liability.Candidate != 1540 {
		t.Errorf("totals: got %d and %d points, %d and %d cents; want 1496, 1540, 1496, 1540",
			r.Current.Points, r.Candidate.Points, r.Liability.Current, r.Liability.Candidate)
	}
	if r.Current.TierUpgrades != 1 || r.Candidate.TierUpgrades != 1 {
		t.Errorf("tier upgrades: got %d and %d, want 1 and 1", r.Current.TierUpgrades, r.Candidate.TierUpgrades)
	}
}

func TestBacktestTable(t *testing.T) {
	out, err := backtest(t, "-candidate", candidate, "-purchases", purchases, "-point-value", "0.0125")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"12 purchases by 4 members; skipped: 1 repeated deliveries, 1 refunds",
		"promo:happy-hour          240        464    +224       3.00 EUR         5.80 EUR  +2.80 EUR",
		"total                    1496       1540     +44      18.70 EUR        19.25 EUR  +0.55 EUR",
		"tier upgrades: 1 -> 1",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q; got\n%s", line, out)
		}
	}
}

func TestBacktestRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, _ := os.ReadFile(purchases)
	firstLine := strings.SplitN(string(good), "\n", 2)[0]
	usd := write("usd.json", strings.Replace(strings.Replace(mustRead(t, candidate), `"EUR"`, `"USD"`, -1), `"currency": "EUR"`, `"currency": "USD"`, 1))
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no candidate", []string{"-purchases", purchases}, "usage"},
		{"no purchases", []string{"-candidate", candidate}, "usage"},
		{"a stray argument", []string{"-candidate", candidate, "-purchases", purchases, "extra"}, "usage"},
		{"invalid candidate", []string{"-candidate", write("bad.json", `{"version":1,"id":"x","currency":"EUR","timezone":"Mars/Olympus"}`), "-purchases", purchases}, "bad.json: timezone"},
		{"candidate in another currency", []string{"-candidate", usd, "-purchases", purchases}, "earns in USD"},
		{"point value not a number", []string{"-candidate", candidate, "-purchases", purchases, "-point-value", "one cent"}, "-point-value"},
		{"point value negative", []string{"-candidate", candidate, "-purchases", purchases, "-point-value", "-0.01"}, "-point-value"},
		{"a line that is not JSON", []string{"-candidate", candidate, "-purchases", write("broken.jsonl", firstLine+"\n\n{oops\n")}, "broken.jsonl:3"},
		{"a line of another schema", []string{"-candidate", candidate, "-purchases", write("schema.jsonl", `{"type":"purchase.completed","version":1}`+"\n")}, "schema.jsonl:1"},
		{"another currency than the program", []string{"-candidate", candidate, "-purchases", write("usd.jsonl", strings.Replace(firstLine, `"EUR"`, `"USD"`, 1)+"\n")}, "USD"},
		{"no such file", []string{"-candidate", candidate, "-purchases", filepath.Join(dir, "missing.jsonl")}, "missing.jsonl"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := backtest(t, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error mentioning %q", err, c.want)
			}
		})
	}
}

func mustRead(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
