package localstack

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// codeSecretFile is where the local stack keeps the code secret that seals
// the members' rotating codes (in AWS a Secrets Manager secret, named to the
// functions by CODE_SECRET_ARN): generated on the first start, kept with the
// data so codes issued before a restart still open, readable by this user
// only. The functions get its path as CODE_SECRET_FILE.
func codeSecretFile(dir string) (string, error) {
	path := filepath.Join(dir, "code-secret")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("localstack: code secret: %w", err)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("localstack: code secret: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(hex.EncodeToString(b[:])+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("localstack: code secret: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("localstack: code secret: %w", err)
	}
	return path, nil
}
