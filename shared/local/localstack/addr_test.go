package localstack

import "testing"

// The jobs API and the SQS sit on the two ports after the HTTP API's, so
// make run PORT=3100 moves all three.
func TestPartsSitBesideTheHTTPAPI(t *testing.T) {
	for _, c := range []struct {
		api, asked string
		offset     int
		want       string
	}{
		{"127.0.0.1:3000", "", 1, "127.0.0.1:3001"},
		{"127.0.0.1:3100", "", 2, "127.0.0.1:3102"},
		{"localhost:3100", "", 1, "127.0.0.1:3101"},
		{"127.0.0.1:0", "", 2, "127.0.0.1:0"},
		{"127.0.0.1:3100", "127.0.0.1:4000", 1, "127.0.0.1:4000"},
	} {
		got, err := nextAddr(c.api, c.asked, c.offset)
		if err != nil || got != c.want {
			t.Errorf("nextAddr(%q, %q, %d): got %q (%v), want %q", c.api, c.asked, c.offset, got, err, c.want)
		}
	}
	if _, err := nextAddr("127.0.0.1:65535", "", 1); err == nil {
		t.Errorf("nextAddr beyond the last port: got no error, want one")
	}
}
