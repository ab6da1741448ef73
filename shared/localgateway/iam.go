package localgateway

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

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// What the IAM stand-in reports about the one local admin principal.
const (
	IAMService   = "execute-api"
	IAMUserARN   = "arn:aws:iam::" + AccountID + ":user/local-admin"
	IAMUserID    = "AIDALOCALADMIN000000"
	IAMMaxSkew   = 5 * time.Minute
	sigV4Algo    = "AWS4-HMAC-SHA256"
	amzDateFmt   = "20060102T150405Z"
	scopeDateFmt = "20060102"
)

// IAMVerifier stands in for API Gateway's AWS_IAM authorization: it accepts
// requests SigV4-signed for execute-api with its one access key.
type IAMVerifier struct {
	AccessKeyID     string
	SecretAccessKey string
	Region          string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (v IAMVerifier) check() error {
	switch {
	case v.AccessKeyID == "":
		return errors.New("IAMVerifier.AccessKeyID is not set")
	case v.SecretAccessKey == "":
		return errors.New("IAMVerifier.SecretAccessKey is not set")
	case v.Region == "":
		return errors.New("IAMVerifier.Region is not set")
	}
	return nil
}

// sigV4Auth is a parsed SigV4 Authorization header.
type sigV4Auth struct {
	credential    string
	signedHeaders string
	signature     string
}

func parseSigV4(header string) (sigV4Auth, error) {
	rest, ok := strings.CutPrefix(header, sigV4Algo+" ")
	if !ok {
		return sigV4Auth{}, errors.New("authorization is not " + sigV4Algo)
	}
	var a sigV4Auth
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
		return sigV4Auth{}, errors.New("authorization lacks Credential, SignedHeaders or Signature")
	}
	return a, nil
}

// Verify checks r's SigV4 signature over body by signing a copy of r (the
// headers the client signed, same method, path and query, the hash of
// body) with the SDK's signer and comparing the results. On success it
// returns what API Gateway puts in requestContext.authorizer.iam.
func (v IAMVerifier) Verify(r *http.Request, body []byte) (*events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription, error) {
	if err := v.check(); err != nil {
		return nil, err
	}
	header := r.Header.Get("Authorization")
	if header == "" {
		return nil, errors.New("request is not signed")
	}
	got, err := parseSigV4(header)
	if err != nil {
		return nil, err
	}
	scope := strings.Split(got.credential, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return nil, fmt.Errorf("credential %q is not access-key/date/region/service/aws4_request", got.credential)
	}
	if scope[0] != v.AccessKeyID {
		return nil, fmt.Errorf("unknown access key %q", scope[0])
	}
	if scope[2] != v.Region || scope[3] != IAMService {
		return nil, fmt.Errorf("signed for %s in %s, want %s in %s", scope[3], scope[2], IAMService, v.Region)
	}
	signedAt, err := time.Parse(amzDateFmt, r.Header.Get("X-Amz-Date"))
	if err != nil {
		return nil, fmt.Errorf("X-Amz-Date: %w", err)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if skew := now().Sub(signedAt); skew > IAMMaxSkew || skew < -IAMMaxSkew {
		return nil, fmt.Errorf("signed at %s, more than %s away from now", signedAt.Format(time.RFC3339), IAMMaxSkew)
	}
	if scope[1] != signedAt.Format(scopeDateFmt) {
		return nil, fmt.Errorf("credential date %s is not the date of X-Amz-Date", scope[1])
	}
	signedNames := strings.Split(got.signedHeaders, ";")
	if !slices.Contains(signedNames, "host") || !slices.Contains(signedNames, "x-amz-date") {
		return nil, errors.New("host and x-amz-date must be signed")
	}

	u := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	signedCopy, err := http.NewRequestWithContext(context.Background(), r.Method, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("copy request: %w", err)
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
	creds := aws.Credentials{AccessKeyID: v.AccessKeyID, SecretAccessKey: v.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, signedCopy, payloadHash(body), IAMService, v.Region, signedAt); err != nil {
		return nil, fmt.Errorf("sign copy: %w", err)
	}
	want, err := parseSigV4(signedCopy.Header.Get("Authorization"))
	if err != nil {
		return nil, fmt.Errorf("sign copy: %w", err)
	}
	if got.signedHeaders != want.signedHeaders {
		return nil, fmt.Errorf("signed headers %q, want %q", got.signedHeaders, want.signedHeaders)
	}
	if subtle.ConstantTimeCompare([]byte(got.signature), []byte(want.signature)) != 1 {
		return nil, errors.New("signature does not match")
	}
	return &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
		AccessKey: v.AccessKeyID,
		AccountID: AccountID,
		CallerID:  IAMUserID,
		UserARN:   IAMUserARN,
		UserID:    IAMUserID,
	}, nil
}

// SignRequest signs r for an AWS_IAM route (service execute-api) with SigV4
// as the AWS SDKs do. body must be the exact bytes r will send. It sets
// X-Amz-Date and Authorization, and may rewrite r.URL.RawQuery into its
// canonical order; add every header to be signed before calling it.
func SignRequest(r *http.Request, body []byte, accessKeyID, secret, region string, now time.Time) error {
	if r.ContentLength > 0 && r.ContentLength != int64(len(body)) {
		return fmt.Errorf("sign request: content length %d, but body has %d bytes", r.ContentLength, len(body))
	}
	creds := aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, r, payloadHash(body), IAMService, region, now); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	return nil
}

func payloadHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}
