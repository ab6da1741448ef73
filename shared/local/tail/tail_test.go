package tail

import "testing"

func TestBufferKeepsTheLastMaxBytes(t *testing.T) {
	b := &Buffer{Max: 8}
	for _, s := range []string{"abc", "defgh", "ijk"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v; want %d, nil", s, n, err, len(s))
		}
	}
	if got := b.String(); got != "defghijk" {
		t.Errorf("got %q, want the last 8 bytes %q", got, "defghijk")
	}
	if !b.Contains("ghi") || b.Contains("abc") {
		t.Errorf("Contains: got ghi %v, abc %v; want true, false", b.Contains("ghi"), b.Contains("abc"))
	}
}
