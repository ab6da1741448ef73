package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// make validate runs validate: a template naming a placeholder its kind
// does not have fails with the file, the field and the reason.
func TestValidateNamesFileFieldAndReason(t *testing.T) {
	good, err := os.ReadFile("../../../program.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := validate([]string{"../../../program.json"}); err != nil {
		t.Fatalf("the repository's program.json: %v", err)
	}
	old := `"points_expired": "{points} pont lejárt"`
	if !strings.Contains(string(good), old) {
		t.Fatalf("test setup: %s is not in program.json", old)
	}
	bad := filepath.Join(t.TempDir(), "shop.json")
	if err := os.WriteFile(bad, []byte(strings.Replace(string(good), old, `"points_expired": "{pont} pont lejárt"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	err = validate([]string{bad})
	want := "shop.json: locales.texts.hu.messages.points_expired: unknown placeholder {pont}: points_expired offers {points} {expiredBefore}"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}
