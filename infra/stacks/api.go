package stacks

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/loyalty-functions/loyalty/shared/spec/routes"
)

// Default stage throttling (routes.Throttle*, which the local gateway
// applies too).
const (
	apiRateLimit  = routes.ThrottleRatePerSecond
	apiBurstLimit = routes.ThrottleBurst
)

// HTTPAPI is the API with its one stage.
type HTTPAPI struct {
	API   awsapigatewayv2.HttpApi
	Stage awsapigatewayv2.HttpStage
	// AccessLogs receives one JSON line per request.
	AccessLogs awslogs.LogGroup
}

// accessLogFields is the JSON access log line: enough to trace a request to
// the function's logs (requestId) and to see auth and integration failures,
// and no request body, query string or token.
var accessLogFields = [][2]string{
	{"requestId", "$context.requestId"},
	{"requestTime", "$context.requestTime"},
	{"ip", "$context.identity.sourceIp"},
	{"userAgent", "$context.identity.userAgent"},
	{"routeKey", "$context.routeKey"},
	{"status", "$context.status"},
	{"protocol", "$context.protocol"},
	{"responseLength", "$context.responseLength"},
	{"responseLatency", "$context.responseLatency"},
	{"integrationLatency", "$context.integrationLatency"},
	{"integrationStatus", "$context.integrationStatus"},
	{"integrationError", "$context.integrationErrorMessage"},
	{"authorizerError", "$context.authorizer.error"},
	{"error", "$context.error.message"},
}

func accessLogFormat() string {
	parts := make([]string, 0, len(accessLogFields))
	for _, f := range accessLogFields {
		parts = append(parts, fmt.Sprintf("%q:%q", f[0], f[1]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// accessLogSettings implements awsapigatewayv2.IAccessLogSettings.
type accessLogSettings struct {
	destination awsapigatewayv2.IAccessLogDestination
	format      awsapigateway.AccessLogFormat
}

func (a *accessLogSettings) Destination() awsapigatewayv2.IAccessLogDestination { return a.destination }
func (a *accessLogSettings) Format() awsapigateway.AccessLogFormat              { return a.format }

// newHTTPAPI builds the HTTP API from the route table: JWT on member routes,
// IAM on admin routes, throttling, CORS for the app and JSON access logs.
func newHTTPAPI(stack awscdk.Stack, cfg Config, st *StatefulStack, routes []Route, fns map[string]awslambda.Function) *HTTPAPI {
	api := awsapigatewayv2.NewHttpApi(stack, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		Description:        jsii.String(fmt.Sprintf("Loyalty API (%s): /v1 for members (JWT), /admin for ops (IAM)", cfg.Stage)),
		CreateDefaultStage: jsii.Bool(false),
		// API Gateway answers preflight itself when CORS is configured, so
		// OPTIONS never reaches an authorizer or a function.
		CorsPreflight: &awsapigatewayv2.CorsPreflightOptions{
			AllowOrigins: jsii.Strings(cfg.CorsOrigins...),
			AllowMethods: &[]awsapigatewayv2.CorsHttpMethod{
				awsapigatewayv2.CorsHttpMethod_GET, awsapigatewayv2.CorsHttpMethod_POST,
				awsapigatewayv2.CorsHttpMethod_PUT, awsapigatewayv2.CorsHttpMethod_PATCH,
				awsapigatewayv2.CorsHttpMethod_DELETE, awsapigatewayv2.CorsHttpMethod_OPTIONS,
			},
			AllowHeaders:  jsii.Strings("authorization", "content-type", "idempotency-key"),
			ExposeHeaders: jsii.Strings("x-request-id"),
			MaxAge:        awscdk.Duration_Hours(jsii.Number(1)),
		},
	})
	logs := awslogs.NewLogGroup(stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_MONTH,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	stage := awsapigatewayv2.NewHttpStage(stack, jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:    api,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(apiRateLimit),
			BurstLimit: jsii.Number(apiBurstLimit),
		},
		AccessLogSettings: &accessLogSettings{
			destination: awsapigatewayv2.NewLogGroupLogDestination(logs),
			format:      awsapigateway.AccessLogFormat_Custom(jsii.String(accessLogFormat())),
		},
	})

	// The member's identity is the verified token's subject: the issuer is
	// the user pool, the audience the app client (Cognito access tokens
	// carry it as client_id, which the authorizer accepts).
	issuer := fmt.Sprintf("https://cognito-idp.%s.amazonaws.com/%s", *stack.Region(), *st.UserPool.UserPoolId())
	authorizers := map[Auth]awsapigatewayv2.IHttpRouteAuthorizer{
		AuthJWT: awsapigatewayv2authorizers.NewHttpJwtAuthorizer(jsii.String("MemberJwt"), jsii.String(issuer),
			&awsapigatewayv2authorizers.HttpJwtAuthorizerProps{
				AuthorizerName: jsii.String("member-jwt"),
				JwtAudience:    jsii.Strings(*st.UserPoolClient.UserPoolClientId()),
			}),
		AuthIAM: awsapigatewayv2authorizers.NewHttpIamAuthorizer(),
	}

	integrations := map[string]awsapigatewayv2.HttpRouteIntegration{}
	for _, r := range routes {
		auth, err := AuthFor(r.Path)
		if err != nil {
			panic(err)
		}
		integration, ok := integrations[r.Function]
		if !ok {
			integration = awsapigatewayv2integrations.NewHttpLambdaIntegration(
				jsii.String(constructID(r.Function)+"Integration"), fns[r.Function], nil)
			integrations[r.Function] = integration
		}
		api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
			Integration: integration,
			Authorizer:  authorizers[auth],
		})
	}

	output(stack, "ApiUrl", stage.Url(), "Base URL of the HTTP API (/v1 members, /admin ops)")
	return &HTTPAPI{API: api, Stage: stage, AccessLogs: logs}
}
