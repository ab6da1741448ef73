package localgateway

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"
)

// JWTLeeway is the clock skew allowed on exp, nbf and iat.
const JWTLeeway = 30 * time.Second

// JWTVerifier stands in for API Gateway's JWT authorizer in front of a
// Cognito user pool: one RS256 key instead of the pool's JWKS.
type JWTVerifier struct {
	// Issuer must equal the token's iss claim.
	Issuer string
	// Audience must equal the token's aud (ID tokens) or client_id (access
	// tokens), like the authorizer's audience list with one entry.
	Audience string
	// Audiences, when set, is the authorizer's whole audience list: a
	// token whose aud (or, without aud, client_id) is any of them passes,
	// as API Gateway matches it. Audience is then not needed.
	Audiences []string
	PublicKey *rsa.PublicKey
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (v JWTVerifier) check() error {
	switch {
	case v.PublicKey == nil:
		return errors.New("JWTVerifier.PublicKey is not set")
	case v.Issuer == "":
		return errors.New("JWTVerifier.Issuer is not set")
	case v.Audience == "" && len(v.Audiences) == 0:
		return errors.New("JWTVerifier.Audience is not set")
	}
	return nil
}

// Verify checks the value of an Authorization header ("Bearer <token>" or the
// bare token) and returns what API Gateway puts in
// requestContext.authorizer.jwt: every claim as a string, and the scopes of
// the scope claim.
func (v JWTVerifier) Verify(authorization string) (*events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription, error) {
	if err := v.check(); err != nil {
		return nil, err
	}
	raw := strings.TrimSpace(authorization)
	if len(raw) > len("bearer ") && strings.EqualFold(raw[:len("bearer ")], "bearer ") {
		raw = strings.TrimSpace(raw[len("bearer "):])
	}
	if raw == "" || strings.EqualFold(raw, "bearer") {
		return nil, errMissingToken
	}
	now := v.Now
	if now == nil {
		now = time.Now
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithIssuer(v.Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(JWTLeeway),
		jwt.WithTimeFunc(now),
		jwt.WithJSONNumber(),
	)
	claims := jwt.MapClaims{}
	if _, err := parser.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) {
		return v.PublicKey, nil
	}); err != nil {
		return nil, err
	}
	// API Gateway maps a verified token's sub to the identity; a sub that
	// is not a string (a number, an object) names nobody.
	if sub, ok := claims["sub"].(string); !ok || sub == "" {
		return nil, fmt.Errorf("%w: sub must be a non-empty string", jwt.ErrTokenInvalidClaims)
	}
	if !v.audienceMatches(claims) {
		return nil, fmt.Errorf("%w: neither aud nor client_id is one of %q", jwt.ErrTokenInvalidAudience, v.audiences())
	}
	desc := &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{}}
	for name, value := range claims {
		desc.Claims[name] = claimString(value)
	}
	if scope, ok := claims["scope"].(string); ok {
		desc.Scopes = strings.Fields(scope)
	}
	return desc, nil
}

var errMissingToken = errors.New("no token in the Authorization header")

func (v JWTVerifier) audiences() []string {
	if len(v.Audiences) > 0 {
		return v.Audiences
	}
	return []string{v.Audience}
}

// audienceMatches is API Gateway's audience check: an aud claim must name
// one of the audiences; a token without aud (a Cognito access token) must
// carry one of them as its client_id.
func (v JWTVerifier) audienceMatches(claims jwt.MapClaims) bool {
	want := v.audiences()
	aud, err := claims.GetAudience()
	if err == nil {
		for _, a := range aud {
			if slices.Contains(want, a) {
				return true
			}
		}
	}
	clientID, _ := claims["client_id"].(string)
	return len(aud) == 0 && clientID != "" && slices.Contains(want, clientID)
}

// claimString renders a claim the way API Gateway does: strings as they
// are, numbers in plain decimal, arrays as "[a b]", objects as JSON.
func claimString(value any) string {
	switch v := value.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return strconv.FormatInt(i, 10)
		}
		if f, ok := new(big.Float).SetString(v.String()); ok {
			if f.IsInt() {
				return f.Text('f', 0)
			}
			return f.Text('f', -1)
		}
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = claimString(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case map[string]any:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	}
	return fmt.Sprint(value)
}

// jwtErrorDescription is the short reason API Gateway puts in the
// WWW-Authenticate header of a 401.
func jwtErrorDescription(err error) string {
	switch {
	case errors.Is(err, errMissingToken):
		return "the token is missing"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "the token has expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "the token is not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "the token has an invalid issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "the token has an invalid audience"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "the token has an invalid signature"
	}
	return "the token is invalid"
}
