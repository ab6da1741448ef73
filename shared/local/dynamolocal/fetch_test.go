package dynamolocal

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExtractEmulatorTakesOnlyTheEmulatorFolder(t *testing.T) {
	tarball := writeTarball(t, map[string]string{
		"package/package.json":                        "{}",
		"package/emulator/DynamoDBLocal.jar":          "jar",
		"package/emulator/DynamoDBLocal_lib/a.so":     "lib",
		"package/emulator/DynamoDBLocal_lib/sub/b.so": "lib",
		"package/lib/index.js":                        "js",
	})
	dst := t.TempDir()
	if err := extractEmulator(tarball, dst); err != nil {
		t.Fatalf("extractEmulator: got %v, want no error", err)
	}
	if err := checkLayout(dst); err != nil {
		t.Fatalf("checkLayout: got %v, want no error", err)
	}
	var got []string
	err := filepath.WalkDir(dst, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dst, path)
			got = append(got, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "DynamoDBLocal.jar DynamoDBLocal_lib/a.so DynamoDBLocal_lib/sub/b.so"
	if strings.Join(got, " ") != want {
		t.Fatalf("extracted files: got %v, want %s", got, want)
	}
}

func TestExtractEmulatorRefusesEscapingEntries(t *testing.T) {
	tarball := writeTarball(t, map[string]string{"package/emulator/../../evil": "x"})
	err := extractEmulator(tarball, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "leaves the emulator folder") {
		t.Fatalf("extractEmulator: got %v, want an error about leaving the folder", err)
	}
}

func TestCheckLayoutWantsJarAndLib(t *testing.T) {
	dir := t.TempDir()
	if err := checkLayout(dir); err == nil {
		t.Fatalf("checkLayout on an empty folder: got no error, want one")
	}
}

func TestVerifySHA256(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if err := verifySHA256(path, abc); err != nil {
		t.Fatalf("matching hash: got %v, want no error", err)
	}
	if err := verifySHA256(path, tarballSHA256); err == nil {
		t.Fatalf("wrong hash: got no error, want a mismatch")
	}
}

func TestEnsureUsesAVerifiedCache(t *testing.T) {
	cache := t.TempDir()
	dir := filepath.Join(cache, "dynamodb-local", npmVersion)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, markerName), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Ensure(t.Context(), Options{CacheDir: cache, Logf: t.Logf})
	if err != nil {
		t.Fatalf("Ensure: got %v, want no error", err)
	}
	if got != dir {
		t.Fatalf("Ensure: got %s, want %s", got, dir)
	}
}

func TestCacheDirFromEnvironment(t *testing.T) {
	want := t.TempDir()
	t.Setenv(CacheDirEnv, want)
	got, err := resolveCacheDir("")
	if err != nil || got != want {
		t.Fatalf("resolveCacheDir: got %q, %v, want %q", got, err, want)
	}
}

func writeTarball(tb testing.TB, files map[string]string) string {
	tb.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			tb.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "p.tgz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

func TestLockFileWaitsForTheHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := lockFile(t.Context(), path, nil)
	if err != nil {
		t.Fatalf("first lock: got %v, want no error", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	waited := false
	if _, err := lockFile(ctx, path, func() { waited = true }); err == nil {
		t.Fatalf("second lock while held: got no error, want a timeout")
	}
	if !waited {
		t.Fatalf("waiting callback: got not called, want called")
	}
	unlock()
	unlockAgain, err := lockFile(t.Context(), path, nil)
	if err != nil {
		t.Fatalf("lock after unlock: got %v, want no error", err)
	}
	unlockAgain()
}
