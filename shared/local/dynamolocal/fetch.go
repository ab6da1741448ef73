package dynamolocal

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/loyalty-functions/loyalty/shared/tools/localstate"
)

// The pinned emulator. Bumping the version means bumping the hash: the hash is
// what makes a cached copy trustworthy.
const (
	npmPackage    = "amplify-dynamodb-simulator"
	npmVersion    = "2.9.30"
	tarballSHA256 = "3503ffac19f183407909fecdacf4db51ab1fdad1da7b2f177016670b2d80e4b9"

	// emulatorPrefix is the folder of the tarball that holds DynamoDB Local;
	// the rest of the package (its JavaScript and 283 dependencies) is not needed.
	emulatorPrefix = "package/emulator/"

	jarName    = "DynamoDBLocal.jar"
	libDirName = "DynamoDBLocal_lib"

	// markerName is written last, after the extracted folder was checked; a
	// folder without it is an interrupted extraction and is thrown away.
	markerName = ".verified"

	// CacheDirEnv overrides the cache folder (by default <module root>/.cache).
	CacheDirEnv = "LOYALTY_CACHE_DIR"
)

// Ensure fetches and verifies the emulator if the cache does not hold it yet
// and returns the folder that contains DynamoDBLocal.jar and DynamoDBLocal_lib.
//
// The cache folder is opts.CacheDir, else $LOYALTY_CACHE_DIR, else the .cache
// folder of the module root (the first folder holding a go.mod, walking up from
// the working directory). The emulator lives in <cache>/dynamodb-local/2.9.30.
func Ensure(ctx context.Context, opts Options) (string, error) {
	logf := opts.logf()
	cacheDir, err := resolveCacheDir(opts.CacheDir)
	if err != nil {
		return "", err
	}
	parent := filepath.Join(cacheDir, "dynamodb-local")
	dir := filepath.Join(parent, npmVersion)
	if isVerified(dir) {
		return dir, nil
	}

	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("create cache folder: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(parent, npmVersion+".lock"), func() {
		logf("dynamolocal: waiting for another process to fetch DynamoDB Local into %s", dir)
	})
	if err != nil {
		return "", err
	}
	defer unlock()

	// Another process may have finished while this one waited for the lock.
	if isVerified(dir) {
		return dir, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("remove incomplete emulator folder: %w", err)
	}

	start := time.Now()
	logf("dynamolocal: fetching %s@%s with npm pack", npmPackage, npmVersion)
	tarball, cleanup, err := npmPack(ctx)
	if err != nil {
		return "", err
	}
	defer cleanup()
	if err := verifySHA256(tarball, tarballSHA256); err != nil {
		return "", err
	}

	tmp, err := os.MkdirTemp(parent, "."+npmVersion+".tmp-")
	if err != nil {
		return "", fmt.Errorf("create extraction folder: %w", err)
	}
	defer os.RemoveAll(tmp) // no-op after a successful rename
	if err := extractEmulator(tarball, tmp); err != nil {
		return "", err
	}
	if err := checkLayout(tmp); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, markerName), []byte(tarballSHA256+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("write marker: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp made it private
		return "", fmt.Errorf("open up emulator folder: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("move emulator into the cache: %w", err)
	}
	logf("dynamolocal: DynamoDB Local %s cached in %s (%s)", npmVersion, dir, time.Since(start).Round(time.Millisecond))
	return dir, nil
}

func resolveCacheDir(fromOptions string) (string, error) {
	if fromOptions != "" {
		return filepath.Abs(fromOptions)
	}
	if env := os.Getenv(CacheDirEnv); env != "" {
		return filepath.Abs(env)
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", fmt.Errorf("find the cache folder (set %s to choose one): %w", CacheDirEnv, err)
	}
	return filepath.Join(root, ".cache"), nil
}

// ModuleRoot is the folder holding go.mod (localstate.ModuleRoot): where the
// git-ignored .cache lives, and what the local stack builds.
func ModuleRoot() (string, error) { return localstate.ModuleRoot() }

func isVerified(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, markerName))
	return err == nil
}

// lockFile takes an exclusive flock on path, polling so that ctx can cancel the
// wait; waiting is called once if another process holds the lock. The lock goes
// away with the process, so a crashed download never blocks the next one.
func lockFile(ctx context.Context, path string, waiting func()) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	announced := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !announced && waiting != nil {
			waiting()
			announced = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for lock %s: %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// npmPack downloads the pinned tarball into a temporary folder that cleanup removes.
func npmPack(ctx context.Context) (tarball string, cleanup func(), err error) {
	tmp, err := os.MkdirTemp("", "dynamolocal-npm-")
	if err != nil {
		return "", nil, fmt.Errorf("create download folder: %w", err)
	}
	cleanup = func() { os.RemoveAll(tmp) }

	spec := npmPackage + "@" + npmVersion
	cmd := exec.CommandContext(ctx, "npm", "pack", spec, "--pack-destination", tmp)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false", "npm_config_fund=false")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("npm pack %s: %w\n%s", spec, err, out.String())
	}
	matches, err := filepath.Glob(filepath.Join(tmp, "*.tgz"))
	if err != nil || len(matches) != 1 {
		cleanup()
		return "", nil, fmt.Errorf("npm pack %s: got %d tarballs, want 1\n%s", spec, len(matches), out.String())
	}
	return matches[0], cleanup, nil
}

func verifySHA256(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("hash %s: %w", filepath.Base(path), err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("sha256 of %s: got %s, want %s", filepath.Base(path), got, want)
	}
	return nil
}

// extractEmulator copies the regular files and folders under package/emulator/
// of the gzipped tarball into dst, refusing any entry that would leave dst.
func extractEmulator(tarball, dst string) error {
	f, err := os.Open(tarball)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Base(tarball), err)
	}
	defer gz.Close()

	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", filepath.Base(tarball), err)
		}
		rel, ok := strings.CutPrefix(hdr.Name, emulatorPrefix)
		if !ok || rel == "" {
			continue
		}
		rel = strings.TrimSuffix(rel, "/")
		if !filepath.IsLocal(rel) {
			return fmt.Errorf("tarball entry %q leaves the emulator folder", hdr.Name)
		}
		target := filepath.Join(dst, filepath.FromSlash(rel))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(target, tr, hdr.FileInfo().Mode().Perm()|0o600); err != nil {
				return fmt.Errorf("extract %s: %w", hdr.Name, err)
			}
		default:
			return fmt.Errorf("tarball entry %q has type %q, want a file or a folder", hdr.Name, hdr.Typeflag)
		}
	}
}

func writeFile(path string, r io.Reader, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// checkLayout makes sure the folder holds what Start runs.
func checkLayout(dir string) error {
	jar, err := os.Stat(filepath.Join(dir, jarName))
	if err != nil || !jar.Mode().IsRegular() {
		return fmt.Errorf("extracted emulator: %s missing or not a file", jarName)
	}
	lib, err := os.Stat(filepath.Join(dir, libDirName))
	if err != nil || !lib.IsDir() {
		return fmt.Errorf("extracted emulator: %s missing or not a folder", libDirName)
	}
	return nil
}
