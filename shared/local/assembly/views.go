package assembly

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Resource types the views read.
const (
	TypeTable          = "AWS::DynamoDB::Table"
	TypeFunction       = "AWS::Lambda::Function"
	TypeEventSource    = "AWS::Lambda::EventSourceMapping"
	TypeQueue          = "AWS::SQS::Queue"
	TypeSchedule       = "AWS::Scheduler::Schedule"
	TypeRoute          = "AWS::ApiGatewayV2::Route"
	TypeIntegration    = "AWS::ApiGatewayV2::Integration"
	TypeAuthorizer     = "AWS::ApiGatewayV2::Authorizer"
	TypeStage          = "AWS::ApiGatewayV2::Stage"
	TypeRole           = "AWS::IAM::Role"
	TypePolicy         = "AWS::IAM::Policy"
	TypeEventBus       = "AWS::Events::EventBus"
	TypeUserPoolClient = "AWS::Cognito::UserPoolClient"
)

// KeyElement is a key attribute of a table or index (HASH or RANGE).
type KeyElement struct {
	AttributeName string `json:"AttributeName"`
	KeyType       string `json:"KeyType"`
}

// AttributeDefinition is a typed key attribute (S, N or B).
type AttributeDefinition struct {
	AttributeName string `json:"AttributeName"`
	AttributeType string `json:"AttributeType"`
}

// Index is a secondary index of a table.
type Index struct {
	IndexName  string       `json:"IndexName"`
	KeySchema  []KeyElement `json:"KeySchema"`
	Projection struct {
		ProjectionType   string   `json:"ProjectionType"`
		NonKeyAttributes []string `json:"NonKeyAttributes"`
	} `json:"Projection"`
}

// Table is an AWS::DynamoDB::Table.
type Table struct {
	LogicalID, Name, ARN    string
	AttributeDefinitions    []AttributeDefinition `json:"AttributeDefinitions"`
	KeySchema               []KeyElement          `json:"KeySchema"`
	GlobalSecondaryIndexes  []Index               `json:"GlobalSecondaryIndexes"`
	LocalSecondaryIndexes   []Index               `json:"LocalSecondaryIndexes"`
	BillingMode             string                `json:"BillingMode"`
	TimeToLiveSpecification *struct {
		AttributeName string `json:"AttributeName"`
		Enabled       bool   `json:"Enabled"`
	} `json:"TimeToLiveSpecification"`
	StreamSpecification *struct {
		StreamViewType string `json:"StreamViewType"`
	} `json:"StreamSpecification"`
	PointInTimeRecoverySpecification *struct {
		PointInTimeRecoveryEnabled bool `json:"PointInTimeRecoveryEnabled"`
	} `json:"PointInTimeRecoverySpecification"`
	SSESpecification *struct {
		SSEEnabled bool   `json:"SSEEnabled"`
		SSEType    string `json:"SSEType"`
	} `json:"SSESpecification"`
	DeletionProtectionEnabled bool `json:"DeletionProtectionEnabled"`
}

// Tables are the tables of the assembly.
func (a *Assembly) Tables() ([]Table, error) {
	var out []Table
	for _, r := range a.Resources(TypeTable) {
		var t Table
		if err := r.Decode(&t); err != nil {
			return nil, err
		}
		if err := named(r, &t.LogicalID, &t.Name, &t.ARN); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func named(r *Resource, id, name, arn *string) error {
	var err error
	*id = r.LogicalID
	if *name, err = r.Name(); err != nil {
		return err
	}
	*arn, err = r.ARN()
	return err
}

// Function is an AWS::Lambda::Function.
type Function struct {
	LogicalID, Name, ARN string
	// CodeDir is the function's code asset in the assembly (the folder
	// that was <distDir>/<function>).
	CodeDir     string
	Description string `json:"Description"`
	Environment struct {
		Variables map[string]string `json:"Variables"`
	} `json:"Environment"`
	Timeout                      int      `json:"Timeout"`    // seconds; CloudFormation's default is 3
	MemorySize                   int      `json:"MemorySize"` // MB; default 128
	Role                         string   `json:"Role"`       // the role's ARN
	Runtime                      string   `json:"Runtime"`
	Handler                      string   `json:"Handler"`
	Architectures                []string `json:"Architectures"`
	ReservedConcurrentExecutions *int     `json:"ReservedConcurrentExecutions"`
	TracingConfig                *struct {
		Mode string `json:"Mode"`
	} `json:"TracingConfig"`
	Code struct {
		S3Key string `json:"S3Key"`
	} `json:"Code"`
}

// Functions are the functions of the assembly.
func (a *Assembly) Functions() ([]Function, error) {
	var out []Function
	for _, r := range a.Resources(TypeFunction) {
		var f Function
		if err := r.Decode(&f); err != nil {
			return nil, err
		}
		if err := named(r, &f.LogicalID, &f.Name, &f.ARN); err != nil {
			return nil, err
		}
		if f.Timeout == 0 {
			f.Timeout = 3
		}
		if f.MemorySize == 0 {
			f.MemorySize = 128
		}
		f.CodeDir, _ = a.AssetDir(f.Code.S3Key)
		out = append(out, f)
	}
	return out, nil
}

// ReadCode reads a file of the function's code asset, e.g. "bootstrap".
func (f Function) ReadCode(file string) ([]byte, error) {
	if f.CodeDir == "" {
		return nil, fmt.Errorf("assembly: function %s has no code asset in the assembly", f.LogicalID)
	}
	return os.ReadFile(filepath.Join(f.CodeDir, file))
}

// EventSourceMapping is an AWS::Lambda::EventSourceMapping.
type EventSourceMapping struct {
	LogicalID                      string
	EventSourceArn                 string   `json:"EventSourceArn"`
	FunctionName                   string   `json:"FunctionName"` // name or ARN
	BatchSize                      int      `json:"BatchSize"`
	MaximumBatchingWindowInSeconds int      `json:"MaximumBatchingWindowInSeconds"`
	FunctionResponseTypes          []string `json:"FunctionResponseTypes"`
	Enabled                        *bool    `json:"Enabled"`
	ScalingConfig                  *struct {
		MaximumConcurrency int `json:"MaximumConcurrency"`
	} `json:"ScalingConfig"`
	FilterCriteria any `json:"FilterCriteria"`
}

// EventSourceMappings are the event source mappings of the assembly.
func (a *Assembly) EventSourceMappings() ([]EventSourceMapping, error) {
	var out []EventSourceMapping
	for _, r := range a.Resources(TypeEventSource) {
		var m EventSourceMapping
		if err := r.Decode(&m); err != nil {
			return nil, err
		}
		m.LogicalID = r.LogicalID
		if m.BatchSize == 0 {
			m.BatchSize = 10 // SQS's default
		}
		out = append(out, m)
	}
	return out, nil
}

// Queue is an AWS::SQS::Queue.
type Queue struct {
	LogicalID, Name, ARN, URL     string
	VisibilityTimeout             *int            `json:"VisibilityTimeout"` // seconds; default 30
	MessageRetentionPeriod        int             `json:"MessageRetentionPeriod"`
	ReceiveMessageWaitTimeSeconds int             `json:"ReceiveMessageWaitTimeSeconds"`
	KmsMasterKeyID                string          `json:"KmsMasterKeyId"`
	FifoQueue                     bool            `json:"FifoQueue"`
	RawRedrivePolicy              json.RawMessage `json:"RedrivePolicy"`
	// RedrivePolicy is RawRedrivePolicy decoded (an object or a JSON string).
	RedrivePolicy *struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     int    `json:"maxReceiveCount"`
	} `json:"-"`
}

// Queues are the queues of the assembly.
func (a *Assembly) Queues() ([]Queue, error) {
	var out []Queue
	for _, r := range a.Resources(TypeQueue) {
		var q Queue
		if err := r.Decode(&q); err != nil {
			return nil, err
		}
		if err := named(r, &q.LogicalID, &q.Name, &q.ARN); err != nil {
			return nil, err
		}
		q.URL, _ = r.ref()
		if q.VisibilityTimeout == nil {
			v := 30
			q.VisibilityTimeout = &v
		}
		if len(q.RawRedrivePolicy) > 0 {
			raw := q.RawRedrivePolicy
			var s string
			if json.Unmarshal(raw, &s) == nil {
				raw = []byte(s)
			}
			if err := json.Unmarshal(raw, &q.RedrivePolicy); err != nil {
				return nil, fmt.Errorf("assembly: queue %s: RedrivePolicy: %w", r.LogicalID, err)
			}
		}
		out = append(out, q)
	}
	return out, nil
}

// Schedule is an AWS::Scheduler::Schedule.
type Schedule struct {
	LogicalID, Name, ARN       string
	ScheduleExpression         string `json:"ScheduleExpression"`
	ScheduleExpressionTimezone string `json:"ScheduleExpressionTimezone"`
	State                      string `json:"State"`
	GroupName                  string `json:"GroupName"`
	StartDate                  string `json:"StartDate"`
	EndDate                    string `json:"EndDate"`
	FlexibleTimeWindow         struct {
		Mode                   string `json:"Mode"`
		MaximumWindowInMinutes int    `json:"MaximumWindowInMinutes"`
	} `json:"FlexibleTimeWindow"`
	Target struct {
		Arn         string `json:"Arn"`
		Input       string `json:"Input"`
		RoleArn     string `json:"RoleArn"`
		RetryPolicy *struct {
			MaximumEventAgeInSeconds int `json:"MaximumEventAgeInSeconds"`
			MaximumRetryAttempts     int `json:"MaximumRetryAttempts"`
		} `json:"RetryPolicy"`
		DeadLetterConfig *struct {
			Arn string `json:"Arn"`
		} `json:"DeadLetterConfig"`
	} `json:"Target"`
}

// Schedules are the schedules of the assembly.
func (a *Assembly) Schedules() ([]Schedule, error) {
	var out []Schedule
	for _, r := range a.Resources(TypeSchedule) {
		var s Schedule
		if err := r.Decode(&s); err != nil {
			return nil, err
		}
		if err := named(r, &s.LogicalID, &s.Name, &s.ARN); err != nil {
			return nil, err
		}
		if s.GroupName != "" && s.GroupName != "default" {
			s.ARN = strings.Replace(s.ARN, "schedule/default/", "schedule/"+s.GroupName+"/", 1)
		}
		out = append(out, s)
	}
	return out, nil
}

// Route is an AWS::ApiGatewayV2::Route with its integration's target.
type Route struct {
	LogicalID           string
	RouteKey            string   `json:"RouteKey"` // "GET /v1/me"
	AuthorizationType   string   `json:"AuthorizationType"`
	AuthorizerID        string   `json:"AuthorizerId"` // the authorizer's logical id
	AuthorizationScopes []string `json:"AuthorizationScopes"`
	Target              string   `json:"Target"` // "integrations/<logical id>"
	// FunctionARN is the integration's target function.
	FunctionARN string
	// PayloadFormatVersion and IntegrationType are the integration's.
	PayloadFormatVersion, IntegrationType string
}

// Authorizer is an AWS::ApiGatewayV2::Authorizer.
type Authorizer struct {
	LogicalID        string
	Name             string   `json:"Name"`
	AuthorizerType   string   `json:"AuthorizerType"`
	IdentitySource   []string `json:"IdentitySource"`
	JwtConfiguration struct {
		Audience []string `json:"Audience"`
		Issuer   string   `json:"Issuer"`
	} `json:"JwtConfiguration"`
}

// Routes are the HTTP API routes of the assembly, each with its
// integration's function.
func (a *Assembly) Routes() ([]Route, error) {
	var out []Route
	for _, r := range a.Resources(TypeRoute) {
		var rt Route
		if err := r.Decode(&rt); err != nil {
			return nil, err
		}
		rt.LogicalID = r.LogicalID
		if id, ok := strings.CutPrefix(rt.Target, "integrations/"); ok {
			ir, ok := r.Stack.Resources[id]
			if !ok || ir.Type != TypeIntegration {
				return nil, fmt.Errorf("assembly: route %s: no integration %s", rt.RouteKey, id)
			}
			var in struct {
				IntegrationURI       string `json:"IntegrationUri"`
				IntegrationType      string `json:"IntegrationType"`
				PayloadFormatVersion string `json:"PayloadFormatVersion"`
			}
			if err := ir.Decode(&in); err != nil {
				return nil, err
			}
			rt.FunctionARN, rt.IntegrationType, rt.PayloadFormatVersion = in.IntegrationURI, in.IntegrationType, in.PayloadFormatVersion
		}
		out = append(out, rt)
	}
	return out, nil
}

// Authorizers are the HTTP API authorizers, by logical id (what a route's
// AuthorizerId resolves to).
func (a *Assembly) Authorizers() (map[string]Authorizer, error) {
	out := map[string]Authorizer{}
	for _, r := range a.Resources(TypeAuthorizer) {
		var au Authorizer
		if err := r.Decode(&au); err != nil {
			return nil, err
		}
		au.LogicalID = r.LogicalID
		out[r.LogicalID] = au
	}
	return out, nil
}

// StageThrottle is the default route throttling of the HTTP API's stage.
type StageThrottle struct {
	RateLimit  float64
	BurstLimit int
}

// Throttle is the default route throttling of the first HTTP API stage,
// and whether one is set.
func (a *Assembly) Throttle() (StageThrottle, bool, error) {
	for _, r := range a.Resources(TypeStage) {
		var s struct {
			DefaultRouteSettings *struct {
				ThrottlingBurstLimit int     `json:"ThrottlingBurstLimit"`
				ThrottlingRateLimit  float64 `json:"ThrottlingRateLimit"`
			} `json:"DefaultRouteSettings"`
		}
		if err := r.Decode(&s); err != nil {
			return StageThrottle{}, false, err
		}
		if s.DefaultRouteSettings != nil {
			return StageThrottle{RateLimit: s.DefaultRouteSettings.ThrottlingRateLimit, BurstLimit: s.DefaultRouteSettings.ThrottlingBurstLimit}, true, nil
		}
	}
	return StageThrottle{}, false, nil
}
