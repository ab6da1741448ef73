package localgateway

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const devKeyBits = 2048

// LoadOrCreateDevKey returns the RSA development key stored at path as a
// PKCS#8 PEM file, creating it (mode 0600, parent directories 0700) when it
// does not exist yet. Two processes racing to create it get the same key.
// The key signs development tokens only; it never leaves the machine.
func LoadOrCreateDevKey(path string) (*rsa.PrivateKey, error) {
	key, err := readDevKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key, err = rsa.GenerateKey(rand.Reader, devKeyBits)
	if err != nil {
		return nil, fmt.Errorf("generate dev key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode dev key: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create dev key directory: %w", err)
	}
	// Write a private temporary file, then link it into place: the key file
	// never exists half-written, and an existing one is never replaced.
	tmp, err := os.CreateTemp(dir, ".devkey-*")
	if err != nil {
		return nil, fmt.Errorf("create dev key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("create dev key: %w", err)
	}
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write dev key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("write dev key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readDevKey(path)
		}
		if err := os.Rename(tmp.Name(), path); err != nil {
			return nil, fmt.Errorf("write dev key: %w", err)
		}
	}
	return key, nil
}

func readDevKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read dev key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("dev key %s: not a PEM PRIVATE KEY (PKCS#8) file", filepath.Base(path))
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("dev key %s: %w", filepath.Base(path), err)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("dev key %s: got a %T, want an RSA key", filepath.Base(path), parsed)
	}
	return key, nil
}

// reservedClaims are set by the token issuers from their arguments only.
var reservedClaims = []string{"sub", "iss", "aud", "client_id", "token_use", "iat", "exp"}

// IssueDevToken signs a development access token shaped as a Cognito user
// pool issues one (RS256): sub, iss, client_id (audience: the app client
// id), token_use "access", scope "aws.cognito.signin.user.admin",
// auth_time, iat, exp (now+ttl), jti, origin_jti, event_id, username (the
// subject unless extra sets it) and every claim of extra, such as
// cognito:groups. Member routes take access tokens only.
func IssueDevToken(key *rsa.PrivateKey, issuer, audience, subject string, ttl time.Duration, now time.Time, extra map[string]any) (string, error) {
	return issueDev(key, issuer, audience, subject, ttl, now, extra, "access")
}

// IssueDevIDToken signs a development ID token as Cognito issues one: aud
// (the app client id) instead of client_id, token_use "id" and
// cognito:username. The gateway lets it through as API Gateway's JWT
// authorizer does (aud matches); the member API refuses it.
func IssueDevIDToken(key *rsa.PrivateKey, issuer, audience, subject string, ttl time.Duration, now time.Time, extra map[string]any) (string, error) {
	return issueDev(key, issuer, audience, subject, ttl, now, extra, "id")
}

func issueDev(key *rsa.PrivateKey, issuer, audience, subject string, ttl time.Duration, now time.Time, extra map[string]any, use string) (string, error) {
	switch {
	case key == nil:
		return "", errors.New("issue dev token: no key")
	case issuer == "" || audience == "" || subject == "":
		return "", errors.New("issue dev token: issuer, audience and subject are required")
	case ttl <= 0:
		return "", fmt.Errorf("issue dev token: ttl %s must be positive", ttl)
	}
	for _, name := range reservedClaims {
		if _, ok := extra[name]; ok {
			return "", fmt.Errorf("issue dev token: extra claim %q is set from the arguments", name)
		}
	}
	id := func() (string, error) {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("issue dev token: %w", err)
		}
		return hex.EncodeToString(b[:]), nil
	}
	claims := jwt.MapClaims{"auth_time": now.Unix()}
	for _, name := range []string{"jti", "origin_jti", "event_id"} {
		v, err := id()
		if err != nil {
			return "", err
		}
		claims[name] = v
	}
	if use == "access" {
		claims["username"] = subject
		claims["scope"] = "aws.cognito.signin.user.admin"
	} else {
		claims["cognito:username"] = subject
	}
	for name, value := range extra {
		claims[name] = value
	}
	claims["sub"] = subject
	claims["iss"] = issuer
	claims["token_use"] = use
	if use == "access" {
		claims["client_id"] = audience
	} else {
		claims["aud"] = audience
	}
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(ttl).Unix()

	token := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	token.Header["kid"] = KeyID(&key.PublicKey)
	signed, err := token.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("issue dev token: %w", err)
	}
	return signed, nil
}

// KeyID names a public key in a token header (kid), as a JWKS entry would.
func KeyID(pub *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}
