package localgateway

import (
	"crypto/rsa"
	"encoding/pem"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestLoadOrCreateDevKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "keys", "jwt-dev.pem")

	created, err := LoadOrCreateDevKey(path)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("file mode: got %o, want 600", got)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if block, _ := pem.Decode(data); block == nil || block.Type != "PRIVATE KEY" {
		t.Errorf("PEM block: got %v, want PRIVATE KEY (PKCS#8)", block)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".devkey-*")); len(leftovers) != 0 {
		t.Errorf("temporary files: got %q, want none", leftovers)
	}

	loaded, err := LoadOrCreateDevKey(path)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if !loaded.Equal(created) {
		t.Errorf("second call: got a different key, want the stored one")
	}

	// A token from the stored key is accepted by a verifier of the loaded one.
	now := time.Now()
	tok, err := IssueDevToken(created, testIssuer, testAudience, "member-1", time.Hour, now, nil)
	if err != nil {
		t.Fatalf("IssueDevToken: %v", err)
	}
	v := JWTVerifier{Issuer: testIssuer, Audience: testAudience, PublicKey: &loaded.PublicKey}
	if _, err := v.Verify("Bearer " + tok); err != nil {
		t.Errorf("Verify: got %v, want no error", err)
	}
}

func TestLoadOrCreateDevKeyConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jwt-dev.pem")
	const n = 4
	keys := make([]*rsa.PrivateKey, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := LoadOrCreateDevKey(path)
			keys[i], errs[i] = k, err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
	}
	for i := 1; i < n; i++ {
		if !keys[i].Equal(keys[0]) {
			t.Errorf("call %d: got a different key, want every caller to share one", i)
		}
	}
}

func TestLoadOrCreateDevKeyRejectsOtherFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"garbage.pem": "not a key",
		"cert.pem":    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
		"bad.pem":     "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateDevKey(path); err == nil {
			t.Errorf("%s: got no error, want one", name)
		}
		if got, _ := os.ReadFile(path); string(got) != content {
			t.Errorf("%s: got the file rewritten, want it left alone", name)
		}
	}
}
