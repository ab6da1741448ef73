// Package localiam stands in for AWS's authentication of signed calls in the
// local stack: it checks a request's SigV4 signature against the secret of
// the access key it names, as AWS does, and says which local principal made
// it. The local gateway (IAM routes) and the local SQS (partner queues) use
// it, so a local partner or ops tool proves who it is the way it will on AWS.
// It also evaluates identity-based IAM policies (policy.go) and stands in
// front of DynamoDB Local as IAM does (dynamodb.go), so a function's call is
// allowed only when its role's policies allow every action it needs.
//
// It is a local stand-in: no function binary may import it.
package localiam

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// MaxSkew is how far a request's X-Amz-Date may be from now, as AWS allows.
const MaxSkew = 5 * time.Minute

const (
	algorithm    = "AWS4-HMAC-SHA256"
	amzDateFmt   = "20060102T150405Z"
	scopeDateFmt = "20060102"
)

// Principal is a local identity with its access key.
type Principal struct {
	Name            string // what logs and policies call it, like "partner:demo-webshop"
	AccessKeyID     string
	SecretAccessKey string
}

// Verifier checks SigV4 signatures of one service in one region.
type Verifier struct {
	Service string
	Region  string
	// Principals are the known access keys.
	Principals []Principal
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// ErrNotSigned says the request carries no Authorization header.
var ErrNotSigned = errors.New("request is not signed")

// authorization is a parsed SigV4 Authorization header.
type authorization struct {
	credential    string
	signedHeaders string
	signature     string
}

func parse(header string) (authorization, error) {
	rest, ok := strings.CutPrefix(header, algorithm+" ")
	if !ok {
		return authorization{}, errors.New("authorization is not " + algorithm)
	}
	var a authorization
	for _, part := range strings.Split(rest, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch name {
		case "Credential":
			a.credential = value
		case "SignedHeaders":
			a.signedHeaders = value
		case "Signature":
			a.signature = value
		}
	}
	if a.credential == "" || a.signedHeaders == "" || a.signature == "" {
		return authorization{}, errors.New("authorization lacks Credential, SignedHeaders or Signature")
	}
	return a, nil
}

// Verify checks r's SigV4 signature over body by signing a copy of r (the
// headers the client signed, same method, path and query, the hash of
// body) with the SDK's signer and the secret of the access key it names,
// and comparing the results. It returns the principal that signed.
func (v Verifier) Verify(r *http.Request, body []byte) (Principal, error) {
	header := r.Header.Get("Authorization")
	if header == "" {
		return Principal{}, ErrNotSigned
	}
	got, err := parse(header)
	if err != nil {
		return Principal{}, err
	}
	scope := strings.Split(got.credential, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return Principal{}, fmt.Errorf("credential %q is not access-key/date/region/service/aws4_request", got.credential)
	}
	i := slices.IndexFunc(v.Principals, func(p Principal) bool { return p.AccessKeyID == scope[0] })
	if i < 0 || scope[0] == "" {
		return Principal{}, fmt.Errorf("unknown access key %q", scope[0])
	}
	who := v.Principals[i]
	if scope[2] != v.Region || scope[3] != v.Service {
		return Principal{}, fmt.Errorf("signed for %s in %s, want %s in %s", scope[3], scope[2], v.Service, v.Region)
	}
	signedAt, err := time.Parse(amzDateFmt, r.Header.Get("X-Amz-Date"))
	if err != nil {
		return Principal{}, fmt.Errorf("X-Amz-Date: %w", err)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if skew := now().Sub(signedAt); skew > MaxSkew || skew < -MaxSkew {
		return Principal{}, fmt.Errorf("signed at %s, more than %s away from now", signedAt.Format(time.RFC3339), MaxSkew)
	}
	if scope[1] != signedAt.Format(scopeDateFmt) {
		return Principal{}, fmt.Errorf("credential date %s is not the date of X-Amz-Date", scope[1])
	}
	signedNames := strings.Split(got.signedHeaders, ";")
	if !slices.Contains(signedNames, "host") || !slices.Contains(signedNames, "x-amz-date") {
		return Principal{}, errors.New("host and x-amz-date must be signed")
	}

	u := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	signedCopy, err := http.NewRequestWithContext(context.Background(), r.Method, u.String(), nil)
	if err != nil {
		return Principal{}, fmt.Errorf("copy request: %w", err)
	}
	signedCopy.Host = r.Host
	for _, name := range signedNames {
		switch name {
		case "host":
		case "content-length":
			signedCopy.ContentLength = r.ContentLength
		default:
			for _, value := range r.Header.Values(name) {
				signedCopy.Header.Add(name, value)
			}
		}
	}
	creds := aws.Credentials{AccessKeyID: who.AccessKeyID, SecretAccessKey: who.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, signedCopy, PayloadHash(body), v.Service, v.Region, signedAt); err != nil {
		return Principal{}, fmt.Errorf("sign copy: %w", err)
	}
	want, err := parse(signedCopy.Header.Get("Authorization"))
	if err != nil {
		return Principal{}, fmt.Errorf("sign copy: %w", err)
	}
	if got.signedHeaders != want.signedHeaders {
		return Principal{}, fmt.Errorf("signed headers %q, want %q", got.signedHeaders, want.signedHeaders)
	}
	if subtle.ConstantTimeCompare([]byte(got.signature), []byte(want.signature)) != 1 {
		return Principal{}, errors.New("signature does not match")
	}
	return who, nil
}

// PayloadHash is the hex SHA-256 of a body, as SigV4 signs it.
func PayloadHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}
