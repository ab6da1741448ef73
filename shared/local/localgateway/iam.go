package localgateway

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/loyalty-functions/loyalty/shared/local/localiam"
)

// What the IAM stand-in reports about the one local admin principal.
const (
	IAMService = "execute-api"
	IAMUserARN = "arn:aws:iam::" + AccountID + ":user/local-admin"
	IAMUserID  = "AIDALOCALADMIN000000"
	IAMMaxSkew = localiam.MaxSkew
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

// Verify checks r's SigV4 signature over body (package localiam). On
// success it returns what API Gateway puts in requestContext.authorizer.iam.
func (v IAMVerifier) Verify(r *http.Request, body []byte) (*events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription, error) {
	if err := v.check(); err != nil {
		return nil, err
	}
	verifier := localiam.Verifier{Service: IAMService, Region: v.Region, Now: v.Now,
		Principals: []localiam.Principal{{Name: IAMUserARN, AccessKeyID: v.AccessKeyID, SecretAccessKey: v.SecretAccessKey}}}
	if _, err := verifier.Verify(r, body); err != nil {
		return nil, err
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
	return SignRequestFor(r, body, accessKeyID, secret, region, IAMService, now)
}

// SignRequestFor is SignRequest for another service: DoorService for the
// partner door's function URL.
func SignRequestFor(r *http.Request, body []byte, accessKeyID, secret, region, service string, now time.Time) error {
	if r.ContentLength > 0 && r.ContentLength != int64(len(body)) {
		return fmt.Errorf("sign request: content length %d, but body has %d bytes", r.ContentLength, len(body))
	}
	creds := aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, r, localiam.PayloadHash(body), service, region, now); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	return nil
}
