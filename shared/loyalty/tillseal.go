package loyalty

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"time"
)

// CodeSealer seals and opens the QR payloads of rotating codes with the
// program's code secret (AES-256-GCM): the seal proves the payload was
// issued here, so the ingest trusts it without a table read, and it hides
// the member id inside from the partner that scans it. The secret comes
// from the deployment (Secrets Manager in AWS, a generated file locally),
// never from the program file.
type CodeSealer struct {
	aead cipher.AEAD
}

// MinCodeSecret is the shortest code secret NewCodeSealer takes.
const MinCodeSecret = 32

// NewCodeSealer makes a sealer from the deployment's code secret (at least
// MinCodeSecret bytes).
func NewCodeSealer(secret []byte) (*CodeSealer, error) {
	if len(secret) < MinCodeSecret {
		return nil, errors.New("the code secret must be at least 32 bytes")
	}
	key := sha256.Sum256(append([]byte("loyalty till code v1\x00"), secret...))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &CodeSealer{aead: aead}, nil
}

// qrPrefix starts every QR payload; a short form is digits only.
const qrPrefix = "LFC1."

const codeIDBytes = 12

type sealedCode struct {
	ID      string // hex of codeIDBytes
	Member  MemberID
	Expires time.Time
}

func (s *CodeSealer) seal(c sealedCode) string {
	id, _ := hex.DecodeString(c.ID)
	plain := make([]byte, 8, 8+len(id)+len(c.Member))
	binary.BigEndian.PutUint64(plain, uint64(c.Expires.Unix()))
	plain = append(append(plain, id...), c.Member...)
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on a supported platform
	}
	out := s.aead.Seal(nonce, nonce, plain, []byte(qrPrefix))
	return qrPrefix + base64.RawURLEncoding.EncodeToString(out)
}

var errForged = errors.New("the payload does not open with the code secret")

func (s *CodeSealer) open(qr string) (sealedCode, error) {
	rest, ok := strings.CutPrefix(qr, qrPrefix)
	if !ok || len(rest) > 400 {
		return sealedCode{}, errForged
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return sealedCode{}, errForged
	}
	plain, err := s.aead.Open(nil, raw[:s.aead.NonceSize()], raw[s.aead.NonceSize():], []byte(qrPrefix))
	if err != nil || len(plain) < 8+codeIDBytes+1 {
		return sealedCode{}, errForged
	}
	return sealedCode{
		Expires: time.Unix(int64(binary.BigEndian.Uint64(plain)), 0).UTC(),
		ID:      hex.EncodeToString(plain[8 : 8+codeIDBytes]),
		Member:  MemberID(plain[8+codeIDBytes:]),
	}, nil
}
