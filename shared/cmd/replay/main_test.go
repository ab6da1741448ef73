package main

import (
	"flag"
	"strings"
	"testing"

	"github.com/loyalty-functions/loyalty/shared/tools/localstate"
	"github.com/loyalty-functions/loyalty/shared/tools/replay"
)

func TestLocalQueuesComeFromTheStateFile(t *testing.T) {
	s := localstate.State{Partners: []localstate.Partner{{ID: "a", QueueURL: "qa", DLQURL: "da"}, {ID: "b", QueueURL: "qb", DLQURL: "db"}}}
	tool := &replay.Tool{}
	if err := pickLocalQueues(tool, s, "b", true); err != nil || tool.QueueURL != "qb" || tool.DLQURL != "db" {
		t.Errorf("-partner-queue b: got %q %q (%v), want qb db", tool.QueueURL, tool.DLQURL, err)
	}
	if err := pickLocalQueues(&replay.Tool{}, s, "", true); err == nil || !strings.Contains(err.Error(), "a, b") {
		t.Errorf("dlq without a partner: got %v, want the partners listed", err)
	}
	if err := pickLocalQueues(&replay.Tool{}, s, "nope", false); err == nil || !strings.Contains(err.Error(), "no such partner") {
		t.Errorf("-partner-queue nope: got %v, want no such partner", err)
	}
	if err := pickLocalQueues(&replay.Tool{}, s, "", false); err != nil {
		t.Errorf("rejections without a partner: got %v, want none needed", err)
	}
}

func TestReplaysOwnFlagAfterTheCommandIsRefused(t *testing.T) {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.String("partner-queue", "", "")
	fs.String("table", "", "")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"dlq", "-partner-queue", "x"}, "partner-queue"},
		{[]string{"rejections", "-json", "--table=t"}, "table"},
		{[]string{"rejections", "-partner", "x", "-json"}, ""}, // the command's own -partner
		{[]string{"replay", "--", "-table"}, ""},               // an id after --
	} {
		if got := misplacedFlag(fs, c.args); got != c.want {
			t.Errorf("misplacedFlag(%q): got %q, want %q", c.args, got, c.want)
		}
	}
}
