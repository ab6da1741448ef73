package config

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"
)

// Log lines carry "level" and "timestamp", the keys Lambda's JSON log
// format reads for its level filter.
func TestLoggerWritesLambdasKeys(t *testing.T) {
	var buf bytes.Buffer
	newLogger(&buf, slog.LevelInfo).Warn("hello", "n", 1)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("line %q: %v", buf.String(), err)
	}
	if line["level"] != "WARN" || line["msg"] != "hello" {
		t.Errorf("line: got %v, want level WARN and msg hello", line)
	}
	ts, _ := line["timestamp"].(string)
	if _, err := time.Parse(time.RFC3339Nano, ts); err != nil || line["time"] != nil {
		t.Errorf("line: got timestamp %q (%v) and time %v, want an RFC 3339 timestamp and no time key", ts, err, line["time"])
	}
}
