package ingest

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
)

// The lazy logger logs what the JSON handler would: the attributes of
// every With, in order, groups included, and nothing below the level.
func TestLazyLoggerLogsWhatTheHandlerWould(t *testing.T) {
	var lazy, eager bytes.Buffer
	noTime := func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && len(groups) == 0 {
			return slog.Attr{}
		}
		return a
	}
	opts := &slog.HandlerOptions{Level: slog.LevelInfo, ReplaceAttr: noTime}
	for _, c := range []struct {
		out *bytes.Buffer
		log *slog.Logger
	}{{&lazy, lazyLogger(slog.New(slog.NewJSONHandler(&lazy, opts)))}, {&eager, slog.New(slog.NewJSONHandler(&eager, opts))}} {
		l := c.log.With("requestId", "r1").With("messageId", "m1", "receiveCount", 2)
		l.Debug("not logged", "x", 1)
		l.Info("one", "entry", "k1")
		l.With("partnerId", "p").WithGroup("g").With("a", 1).Warn("two", "b", 2)
	}
	if lazy.String() != eager.String() {
		t.Fatalf("lazy logger wrote\n%s\nthe JSON handler\n%s", lazy.String(), eager.String())
	}
	lines := bytes.Split(bytes.TrimSpace(lazy.Bytes()), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2 (the debug line is below the level)", len(lines))
	}
	var rec map[string]any
	if err := json.Unmarshal(lines[1], &rec); err != nil || rec["partnerId"] != "p" || rec["messageId"] != "m1" {
		t.Errorf("second line %s: %v", lines[1], err)
	}
}
