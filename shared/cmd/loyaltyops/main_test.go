package main

import (
	"strings"
	"testing"
)

func TestAuditRefusesWhatItCannotHonour(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"loyalty-prod"}, "-table NAME"},
		{[]string{"-endpoint", "http://127.0.0.1:8000"}, "-endpoint needs -table"},
		{[]string{"-segments", "2", "-nope"}, "-nope"},
	} {
		if err := audit(c.args); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("audit %q: got %v, want an error containing %q", c.args, err, c.want)
		}
	}
}
