package cliflags_test

import (
	"flag"
	"io"
	"slices"
	"testing"

	"github.com/loyalty-functions/loyalty/shared/tools/cliflags"
)

func TestParseTakesFlagsWhereverTheyStand(t *testing.T) {
	cases := []struct {
		name string
		args []string
		url  string
		n    int
		pos  []string
	}{
		{"flags first", []string{"-url", "u", "-n", "2", "GET", "/x"}, "u", 2, []string{"GET", "/x"}},
		{"flags last", []string{"GET", "/x", "-url", "u", "-n=2"}, "u", 2, []string{"GET", "/x"}},
		{"flags between", []string{"GET", "-url", "u", "/x", "{}"}, "u", 0, []string{"GET", "/x", "{}"}},
		{"double dash ends flags", []string{"-n", "1", "--", "-url", "x"}, "", 1, []string{"-url", "x"}},
		{"no arguments", nil, "", 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			url := fs.String("url", "", "")
			n := fs.Int("n", 0, "")
			pos, err := cliflags.Parse(fs, c.args)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if *url != c.url || *n != c.n || !slices.Equal(pos, c.pos) {
				t.Errorf("got url %q n %d positional %q, want %q %d %q", *url, *n, pos, c.url, c.n, c.pos)
			}
		})
	}
}

func TestParseRefusesAnUnknownFlagAfterArguments(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := cliflags.Parse(fs, []string{"GET", "/x", "-nope"}); err == nil {
		t.Errorf("got no error for -nope after the arguments, want flag provided but not defined")
	}
}
