package stacks_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/loyalty-functions/loyalty/infra/stacks"
	"github.com/loyalty-functions/loyalty/shared/spec/gogc"
)

func TestEveryFunctionIsArm64OnProvidedAL2023(t *testing.T) {
	// GIVEN the service template
	f := synth(t)
	fns := ofType(f.services, "AWS::Lambda::Function")
	// WHEN we count and read the functions
	if len(fns) != len(stacks.Functions) {
		t.Fatalf("functions: got %d, want %d (one per row of stacks.Functions)", len(fns), len(stacks.Functions))
	}
	// THEN each runs the Makefile's bootstrap on Graviton with the OS-only
	// runtime, traced by X-Ray and logging JSON to its own log group.
	// Intent: the binary AWS runs is exactly the linux/arm64 build the
	// Makefile makes (no runtime mismatch), at arm64's lower price.
	expect(t, "arm64 provided.al2023 bootstrap functions", func() {
		f.serviceTpl.AllResourcesProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Architectures": []any{"arm64"},
			"Runtime":       "provided.al2023",
			"Handler":       "bootstrap",
			"TracingConfig": map[string]any{"Mode": "Active"},
			"LoggingConfig": map[string]any{
				"LogFormat": "JSON", "LogGroup": assertions.Match_AnyValue(),
				"ApplicationLogLevel": f.cfg.LogLevel, "SystemLogLevel": "INFO",
			},
		})
	})
}

func TestFunctionsGetTheirSizeAndEnvironment(t *testing.T) {
	// GIVEN the service template and the function table
	f := synth(t)
	for _, fn := range stacks.Functions {
		r := f.services[f.functionID(t, fn.Name)]
		// WHEN we read each function
		// THEN memory and timeout are its row's, and the environment names
		// the table, bus, stage, program file and log level.
		if got := r.Properties["MemorySize"]; got != fn.MemoryMB {
			t.Errorf("%s memory: got %v, want %v", fn.Name, got, fn.MemoryMB)
		}
		if got := r.Properties["Timeout"]; got != fn.Timeout.Seconds() {
			t.Errorf("%s timeout: got %v, want %v", fn.Name, got, fn.Timeout.Seconds())
		}
		env, _ := r.Properties["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		var keys []string
		for k := range vars {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		want := "GOGC,GOMEMLIMIT,LOG_LEVEL,PROGRAM_FILE,STAGE,TABLE_NAME"
		if fn.Publishes {
			want = "EVENT_BUS_NAME," + want
		}
		if stacks.CodeSecretReaders[fn.Name] {
			want = "CODE_SECRET_ARN," + want
		}
		if got := strings.Join(keys, ","); got != want {
			t.Errorf("%s environment: got %s, want %s", fn.Name, got, want)
		}
		for k, v := range gogc.Env(int(fn.MemoryMB)) {
			if vars[k] != v {
				t.Errorf("%s environment: got %s=%v, want %s (package gogc, for %v MB)", fn.Name, k, vars[k], v, fn.MemoryMB)
			}
		}
		if vars["PROGRAM_FILE"] != "program.json" || vars["STAGE"] != f.cfg.Stage {
			t.Errorf("%s environment: got PROGRAM_FILE=%v STAGE=%v, want program.json and %s", fn.Name, vars["PROGRAM_FILE"], vars["STAGE"], f.cfg.Stage)
		}
	}
}

func TestLogGroupsHaveRetention(t *testing.T) {
	// GIVEN the service template
	f := synth(t)
	// THEN every log group (one per function, one for API access logs)
	// keeps logs one month.
	// Intent: logs (which hold request ids and member ids) do not pile up
	// forever, at a cost, against data minimisation.
	groups := ofType(f.services, "AWS::Logs::LogGroup")
	if len(groups) != len(stacks.Functions)+1 {
		t.Errorf("log groups: got %d, want %d", len(groups), len(stacks.Functions)+1)
	}
	expect(t, "log retention", func() {
		f.serviceTpl.AllResourcesProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{"RetentionInDays": 30})
	})
}

func TestIngestReportsBatchItemFailures(t *testing.T) {
	// GIVEN the service template
	f := synth(t)
	// WHEN we read the event source mappings of the partner queues
	// THEN there is one per partner queue, into ingest, each reporting
	// batch item failures, batching and capping concurrency.
	// Intent: one bad message fails alone; the rest of its batch is not
	// redelivered (and never counted twice), and a backlog cannot starve
	// the APIs of concurrency or table capacity. Every partner's queue is
	// read, so no partner's messages wait forever.
	expect(t, "event source mappings", func() {
		f.serviceTpl.AllResourcesProperties(jsii.String("AWS::Lambda::EventSourceMapping"), map[string]any{
			"FunctionName":                   map[string]any{"Ref": f.functionID(t, "ingest")},
			"FunctionResponseTypes":          []any{"ReportBatchItemFailures"},
			"BatchSize":                      10,
			"MaximumBatchingWindowInSeconds": 2,
			"ScalingConfig":                  map[string]any{"MaximumConcurrency": 5},
		})
	})
	sources := map[string]bool{}
	for _, m := range ofType(f.services, "AWS::Lambda::EventSourceMapping") {
		raw, _ := json.Marshal(m.Properties["EventSourceArn"])
		sources[string(raw)] = true
	}
	if len(sources) != len(partners) || len(ofType(f.services, "AWS::Lambda::EventSourceMapping")) != len(partners) {
		t.Errorf("event source mappings: got %d from %d queues, want one per partner (%d)", len(ofType(f.services, "AWS::Lambda::EventSourceMapping")), len(sources), len(partners))
	}
}

func TestEveryQueueHasADeadLetterQueueOrIsOne(t *testing.T) {
	// GIVEN both templates
	f := synth(t)
	all := f.all()
	// WHEN we collect every queue named as a dead-letter target: by an SQS
	// redrive policy, a schedule's DeadLetterConfig or a function's async
	// on-failure destination
	dlqs := map[string]bool{}
	for _, r := range all {
		switch r.Type {
		case "AWS::SQS::Queue":
			if rp, ok := r.Properties["RedrivePolicy"].(map[string]any); ok {
				for _, id := range refs(rp["deadLetterTargetArn"]) {
					dlqs[id] = true
				}
			}
		case "AWS::Scheduler::Schedule":
			target, _ := r.Properties["Target"].(map[string]any)
			for _, id := range refs(target["DeadLetterConfig"]) {
				dlqs[id] = true
			}
		case "AWS::Lambda::EventInvokeConfig":
			for _, id := range refs(r.Properties["DestinationConfig"]) {
				dlqs[id] = true
			}
		}
	}
	// THEN every queue either redrives to a DLQ or is one, and is encrypted.
	// Intent: no message or job run can fail silently; it lands somewhere
	// an alarm watches and ops can replay from.
	for stack, res := range map[string]map[string]resource{"stateful": f.statefulRes, "service": f.services} {
		for _, q := range ofType(res, "AWS::SQS::Queue") {
			_, redrives := q.Properties["RedrivePolicy"]
			if !redrives && !dlqs[q.id] {
				t.Errorf("%s queue %s: got no redrive policy and no DLQ role, want one of them", stack, q.id)
			}
			_, kms := q.Properties["KmsMasterKeyId"]
			if !kms && q.Properties["SqsManagedSseEnabled"] != true {
				t.Errorf("%s queue %s: got no encryption, want KMS or SQS-managed", stack, q.id)
			}
		}
	}
}

// wildcardException is a statement the IAM walk accepts with a `*`: the
// actions it may hold, the one resource pattern, and why.
type wildcardException struct {
	actions  []string
	resource func(flat string) bool
	reason   string
}

var wildcardExceptions = []wildcardException{
	{
		actions:  []string{"xray:PutTraceSegments", "xray:PutTelemetryRecords"},
		resource: func(r string) bool { return r == "*" },
		reason:   stacks.ReasonXRay,
	},
	{
		actions: []string{"lambda:InvokeFunction"},
		// <Function.Arn>:* — one function's versions and aliases.
		resource: func(r string) bool {
			return strings.HasPrefix(r, "<") && strings.HasSuffix(r, ".Arn>:*") && strings.Count(r, "*") == 1
		},
		reason: stacks.ReasonInvokeVersions,
	},
}

func TestNoIAMWildcards(t *testing.T) {
	// GIVEN every AWS::IAM::Policy of both stacks
	f := synth(t)
	policies := ofType(f.all(), "AWS::IAM::Policy")
	if len(policies) == 0 {
		t.Fatalf("IAM policies: got none, want the functions' and schedules' policies")
	}
	// WHEN we walk every statement
	for _, p := range policies {
		doc, _ := p.Properties["PolicyDocument"].(map[string]any)
		for i, s := range list(doc["Statement"]) {
			st := s.(map[string]any)
			var actions []string
			for _, a := range list(st["Action"]) {
				actions = append(actions, fmt.Sprint(a))
			}
			// THEN no action holds a `*`, and a `*` in a resource is one of
			// the listed exceptions for exactly its actions.
			// Intent: each function can do what its row in the function
			// table says on the resources it names, and nothing more.
			for _, a := range actions {
				if strings.Contains(a, "*") {
					t.Errorf("%s statement %d: got action %q, want no wildcard actions", p.id, i, a)
				}
			}
			if _, ok := st["NotAction"]; ok {
				t.Errorf("%s statement %d: got NotAction, want explicit actions", p.id, i)
			}
			for _, r := range list(st["Resource"]) {
				res := flat(r)
				if !strings.Contains(res, "*") {
					continue
				}
				if !allowedWildcard(actions, res) {
					t.Errorf("%s statement %d: got resource %q for %v, want a named resource (or a listed exception)", p.id, i, res, actions)
				}
			}
		}
	}
}

func allowedWildcard(actions []string, res string) bool {
	for _, e := range wildcardExceptions {
		if !e.resource(res) {
			continue
		}
		ok := true
		for _, a := range actions {
			ok = ok && contains(e.actions, a)
		}
		if ok {
			return true
		}
	}
	return false
}

func TestOnlyPublishersMayPutEvents(t *testing.T) {
	// GIVEN the service template and the function table
	f := synth(t)
	publishers := 0
	for _, fn := range stacks.Functions {
		// WHEN we collect the events: actions of the function's role
		roleID := refs(f.services[f.functionID(t, fn.Name)].Properties["Role"])[0]
		var actions []string
		for _, p := range ofType(f.services, "AWS::IAM::Policy") {
			if !contains(refs(p.Properties["Roles"]), roleID) {
				continue
			}
			doc, _ := p.Properties["PolicyDocument"].(map[string]any)
			for _, s := range list(doc["Statement"]) {
				for _, a := range list(s.(map[string]any)["Action"]) {
					if strings.HasPrefix(fmt.Sprint(a), "events:") {
						actions = append(actions, fmt.Sprint(a))
					}
				}
			}
		}
		// THEN a publisher has events:PutEvents and nothing else of
		// EventBridge; every other function has none.
		// Intent: a function that publishes nothing cannot put forged
		// domain events on the bus CRM and email systems trust.
		want := ""
		if fn.Publishes {
			want = "events:PutEvents"
			publishers++
		}
		if got := strings.Join(actions, ","); got != want {
			t.Errorf("%s events actions: got %q, want %q", fn.Name, got, want)
		}
	}
	if publishers != len(stacks.FunctionsOfKind(stacks.Functions, stacks.KindJob)) {
		t.Errorf("publishers: got %d, want every job", publishers)
	}
}

func TestFunctionsGetOnlyTheirTableActions(t *testing.T) {
	// GIVEN the service template and the function table
	f := synth(t)
	for _, fn := range stacks.Functions {
		// WHEN we collect the DynamoDB statements of the function's role
		fnID := f.functionID(t, fn.Name)
		roleID := refs(f.services[fnID].Properties["Role"])[0]
		var tableActions, indexActions []string
		var indexResources []string
		for _, p := range ofType(f.services, "AWS::IAM::Policy") {
			if !contains(refs(p.Properties["Roles"]), roleID) {
				continue
			}
			doc, _ := p.Properties["PolicyDocument"].(map[string]any)
			for _, s := range list(doc["Statement"]) {
				st := s.(map[string]any)
				for _, a := range list(st["Action"]) {
					action := fmt.Sprint(a)
					if !strings.HasPrefix(action, "dynamodb:") {
						continue
					}
					for _, r := range list(st["Resource"]) {
						res := flat(r)
						if i := strings.Index(res, "/index/"); i >= 0 {
							indexActions = append(indexActions, action)
							indexResources = append(indexResources, res[i+len("/index/"):])
						} else {
							tableActions = append(tableActions, action)
						}
					}
				}
			}
		}
		// THEN they are exactly its row's actions on the table, Query on its
		// indexes, and never Scan.
		// Intent: a bug in one function cannot do what only another may
		// (members' API cannot delete; nobody can scan the member base).
		sort.Strings(tableActions)
		want := append([]string(nil), fn.TableActions...)
		sort.Strings(want)
		if got := strings.Join(tableActions, ","); got != strings.Join(want, ",") {
			t.Errorf("%s table actions: got %s, want %s", fn.Name, got, strings.Join(want, ","))
		}
		sort.Strings(indexResources)
		if got, want := strings.Join(indexResources, ","), strings.Join(fn.QueryIndexes, ","); got != want {
			t.Errorf("%s indexes: got %q, want %q", fn.Name, got, want)
		}
		if contains(tableActions, "dynamodb:Scan") {
			t.Errorf("%s: got dynamodb:Scan, want no Scan", fn.Name)
		}
		for _, a := range indexActions {
			if a != "dynamodb:Query" {
				t.Errorf("%s index action: got %s, want only dynamodb:Query", fn.Name, a)
			}
		}
	}
}

func TestMemberRoutesUseJWTAndAdminRoutesUseIAM(t *testing.T) {
	// GIVEN the service template
	f := synth(t)
	routes := ofType(f.services, "AWS::ApiGatewayV2::Route")
	if len(routes) != len(stacks.Routes) {
		t.Fatalf("routes: got %d, want %d (one per row of stacks.Routes)", len(routes), len(stacks.Routes))
	}
	authorizers := ofType(f.services, "AWS::ApiGatewayV2::Authorizer")
	if len(authorizers) != 1 {
		t.Fatalf("authorizers: got %d, want 1 (the member JWT authorizer)", len(authorizers))
	}
	jwt := authorizers[0]
	// WHEN we read each route
	for _, r := range routes {
		key := fmt.Sprint(r.Properties["RouteKey"])
		path := key[strings.Index(key, " ")+1:]
		auth := r.Properties["AuthorizationType"]
		switch {
		case strings.HasPrefix(path, stacks.MemberPrefix):
			// THEN a member route carries the JWT authorizer.
			// Intent: a member request reaches the function only with a
			// valid token from our user pool, whose subject is the member.
			if auth != "JWT" || !contains(refs(r.Properties["AuthorizerId"]), jwt.id) {
				t.Errorf("route %s: got authorization %v (%v), want JWT with %s", key, auth, r.Properties["AuthorizerId"], jwt.id)
			}
		case strings.HasPrefix(path, stacks.AdminPrefix):
			// THEN an admin route demands SigV4 (AWS_IAM).
			// Intent: only principals of the operator's account with
			// execute-api permission reach adjustments, erasure and replay.
			if auth != "AWS_IAM" {
				t.Errorf("route %s: got authorization %v, want AWS_IAM", key, auth)
			}
		default:
			t.Errorf("route %s: got a path outside %s and %s, want no public routes", key, stacks.MemberPrefix, stacks.AdminPrefix)
		}
	}
	// AND the JWT authorizer trusts our pool and our app client only.
	jc, _ := jwt.Properties["JwtConfiguration"].(map[string]any)
	issuer := flat(jc["Issuer"])
	if !strings.HasPrefix(issuer, "https://cognito-idp.<AWS::Region>.amazonaws.com/<import:") || !strings.Contains(issuer, "UserPool") {
		t.Errorf("JWT issuer: got %s, want https://cognito-idp.<region>.amazonaws.com/<user pool id>", issuer)
	}
	if aud := list(jc["Audience"]); len(aud) != 1 || !strings.Contains(flat(aud[0]), "AppClient") {
		t.Errorf("JWT audience: got %v, want the app client id only", jc["Audience"])
	}
}

func TestAPIStageThrottlesAndLogsAccess(t *testing.T) {
	// GIVEN the service template
	f := synth(t)
	// THEN the default stage throttles, auto-deploys and writes JSON access
	// logs (with the request id) to a log group; CORS names the app's origins.
	// Intent: a runaway client cannot run up the brand's bill, and every
	// request can be traced from the access log to the function's log.
	expect(t, "throttled, logged default stage", func() {
		f.serviceTpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
			"StageName":  "$default",
			"AutoDeploy": true,
			"DefaultRouteSettings": map[string]any{
				"ThrottlingRateLimit":  assertions.Match_AnyValue(),
				"ThrottlingBurstLimit": assertions.Match_AnyValue(),
			},
			"AccessLogSettings": map[string]any{
				"DestinationArn": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^ApiAccessLogs")), "Arn"}},
				"Format":         assertions.Match_SerializedJson(assertions.Match_ObjectLike(&map[string]any{"requestId": "$context.requestId"})),
			},
		})
	})
	expect(t, "CORS for the app", func() {
		f.serviceTpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), map[string]any{
			"CorsConfiguration": assertions.Match_ObjectLike(&map[string]any{"AllowOrigins": jsii.Strings(f.cfg.CorsOrigins...)}),
		})
	})
}

func TestOneScheduleWithDLQAndRetryPerJob(t *testing.T) {
	// GIVEN the service template and the jobs of the function table
	f := synth(t)
	jobs := stacks.FunctionsOfKind(stacks.Functions, stacks.KindJob)
	schedules := ofType(f.services, "AWS::Scheduler::Schedule")
	if len(schedules) != len(jobs) {
		t.Fatalf("schedules: got %d, want %d (one per job)", len(schedules), len(jobs))
	}
	for _, job := range jobs {
		// WHEN we find the schedules targeting the job's function
		fnID := f.functionID(t, job.Name)
		var found []named
		for _, s := range schedules {
			target, _ := s.Properties["Target"].(map[string]any)
			if contains(refs(target["Arn"]), fnID) {
				found = append(found, s)
			}
		}
		if len(found) != 1 {
			t.Errorf("%s: got %d schedules, want 1", job.Name, len(found))
			continue
		}
		p := found[0].Properties
		target := p["Target"].(map[string]any)
		// THEN it runs at the job's time in the program's timezone, retries
		// 3 times within an hour and dead-letters to its own queue.
		// Intent: a job run that cannot start is retried, then parked and
		// alarmed on, never silently skipped; "02:00" means 02:00 where the
		// program's members live, across daylight saving.
		wantExpr := fmt.Sprintf("cron(%d %s * * ? *)", job.Schedule.Minute, job.Schedule.HourList())
		if job.Schedule.WeekDay != "" {
			wantExpr = fmt.Sprintf("cron(%d %s ? * %s *)", job.Schedule.Minute, job.Schedule.HourList(), job.Schedule.WeekDay)
		}
		if got := p["ScheduleExpression"]; got != wantExpr {
			t.Errorf("%s expression: got %v, want %s", job.Name, got, wantExpr)
		}
		if got := p["ScheduleExpressionTimezone"]; got != f.cfg.Timezone {
			t.Errorf("%s timezone: got %v, want %s", job.Name, got, f.cfg.Timezone)
		}
		if got := fmt.Sprint(target["RetryPolicy"]); got != "map[MaximumEventAgeInSeconds:3600 MaximumRetryAttempts:3]" {
			t.Errorf("%s retry policy: got %s, want 3 attempts within 3600 s", job.Name, got)
		}
		dlq := refs(target["DeadLetterConfig"])
		if len(dlq) != 1 || f.services[dlq[0]].Type != "AWS::SQS::Queue" {
			t.Errorf("%s DLQ: got %v, want one queue of this stack", job.Name, dlq)
		}
	}
	// AND no two jobs share a DLQ, so an alarm names the failing job.
	seen := map[string]bool{}
	for _, s := range schedules {
		d := fmt.Sprint(refs(s.Properties["Target"].(map[string]any)["DeadLetterConfig"]))
		if seen[d] {
			t.Errorf("schedule %s: got shared DLQ %s, want one per job", s.id, d)
		}
		seen[d] = true
	}
}

func TestAlarmsCoverFailuresAndGoToTheTopic(t *testing.T) {
	// GIVEN the service template
	f := synth(t)
	alarms := ofType(f.services, "AWS::CloudWatch::Alarm")
	topic := ofType(f.services, "AWS::SNS::Topic")
	if len(topic) != 1 {
		t.Fatalf("topics: got %d, want 1", len(topic))
	}
	// WHEN we index the alarms by metric
	has := map[string]bool{}
	for _, a := range alarms {
		p := a.Properties
		// THEN every alarm notifies the alarm topic.
		// Intent: an alarm nobody hears about is no alarm.
		if !contains(refs(p["AlarmActions"]), topic[0].id) {
			t.Errorf("alarm %s: got actions %v, want the alarm topic", a.id, p["AlarmActions"])
		}
		if ns, ok := p["Namespace"].(string); ok {
			has[ns+"/"+fmt.Sprint(p["MetricName"])+"/"+strings.Join(refs(p["Dimensions"]), ",")] = true
			if ns == stacks.MetricNamespace {
				has["business/"+fmt.Sprint(p["MetricName"])+"/"+fmt.Sprint(p["Dimensions"])] = true
			}
		} else if p["Metrics"] != nil {
			has["math/"+fmt.Sprint(a.id)] = true
		}
	}
	// THEN there is an Errors and a Throttles alarm per function, a depth
	// alarm per DLQ, a throttle alarm on the table and an alarm on
	// rejected partner messages of this stage.
	// Intent: each way a member or partner can be let down pages ops.
	for _, fn := range stacks.Functions {
		id := f.functionID(t, fn.Name)
		for _, m := range []string{"Errors", "Throttles"} {
			if !has["AWS/Lambda/"+m+"/"+id] {
				t.Errorf("%s: got no %s alarm, want one", fn.Name, m)
			}
		}
	}
	dlqCount := 0
	for key := range has {
		if strings.HasPrefix(key, "AWS/SQS/ApproximateNumberOfMessagesVisible/") {
			dlqCount++
		}
	}
	if want := len(partners) + len(stacks.FunctionsOfKind(stacks.Functions, stacks.KindJob)); dlqCount != want {
		t.Errorf("DLQ depth alarms: got %d, want %d (one per partner DLQ and one per job)", dlqCount, want)
	}
	wantRejected := fmt.Sprintf("business/%s/%v", stacks.MetricRejected, []any{map[string]any{"Name": stacks.MetricStageDim, "Value": f.cfg.Stage}})
	if !has[wantRejected] {
		t.Errorf("rejected messages alarm: got alarms %v, want %s", keys(has), wantRejected)
	}
	expect(t, "rejected messages alarm fires on the first one in 5 minutes", func() {
		f.serviceTpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
			"Namespace": stacks.MetricNamespace, "MetricName": stacks.MetricRejected,
			"Statistic": "Sum", "Period": 300, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
		})
	})
	expect(t, "table throttles alarm", func() {
		f.serviceTpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
			"Metrics": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
				"MetricStat": assertions.Match_ObjectLike(&map[string]any{
					"Metric": assertions.Match_ObjectLike(&map[string]any{"MetricName": "ThrottledRequests", "Namespace": "AWS/DynamoDB"}),
				}),
			})}),
		})
	})
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestAlarmTopicIsEncryptedAndSubscribed(t *testing.T) {
	// GIVEN the service template with an alarm e-mail configured
	f := synth(t)
	// THEN the topic is encrypted with a key CloudWatch may use, refuses
	// plain HTTP, and mails the configured address.
	// Intent: alarm contents stay private and alarms reach a person.
	expect(t, "KMS-encrypted topic", func() {
		f.serviceTpl.HasResourceProperties(jsii.String("AWS::SNS::Topic"), map[string]any{
			"KmsMasterKeyId": map[string]any{"Fn::GetAtt": assertions.Match_AnyValue()},
		})
	})
	expect(t, "topic refuses plain HTTP", func() {
		f.serviceTpl.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), map[string]any{
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}}),
			})},
		})
	})
	expect(t, "CloudWatch may use the topic key", func() {
		f.serviceTpl.HasResourceProperties(jsii.String("AWS::KMS::Key"), map[string]any{
			"EnableKeyRotation": true,
			"KeyPolicy": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{"Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"}}),
			})},
		})
	})
	expect(t, "e-mail subscription", func() {
		f.serviceTpl.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), map[string]any{
			"Protocol": "email", "Endpoint": f.cfg.AlarmEmail,
		})
	})
}

func TestServiceOutputsAndDashboard(t *testing.T) {
	// GIVEN the service template
	f := synth(t)
	// THEN it outputs the API URL and has a dashboard with the business metrics.
	expect(t, "ApiUrl output", func() { f.serviceTpl.HasOutput(jsii.String("ApiUrl"), map[string]any{}) })
	dashboards := ofType(f.services, "AWS::CloudWatch::Dashboard")
	if len(dashboards) != 1 {
		t.Fatalf("dashboards: got %d, want 1", len(dashboards))
	}
	body := flat(dashboards[0].Properties["DashboardBody"])
	for _, m := range []string{stacks.MetricPointsAccrued, stacks.MetricPointsRedeem, stacks.MetricPointsExpired, stacks.MetricRejected} {
		if !strings.Contains(body, `"`+m+`"`) {
			t.Errorf("dashboard: got no %s metric, want it", m)
		}
	}
}

func TestUnusualAccrualPerPartnerAlarms(t *testing.T) {
	// GIVEN the service template and the partners
	f := synth(t)
	for _, p := range partners {
		// WHEN we look for the anomaly alarm on the partner's accrued points
		found := 0
		for _, a := range ofType(f.services, "AWS::CloudWatch::Alarm") {
			raw, _ := json.Marshal(a.Properties["Metrics"])
			if !strings.Contains(string(raw), `"MetricName":"PartnerPointsAccrued"`) || !strings.Contains(string(raw), `"Value":"`+p.ID+`"`) {
				continue
			}
			found++
			// THEN it compares the hourly sum with its anomaly band and pages
			// the alarm topic above it.
			// Intent: a partner that suddenly credits far more than usual (a
			// forged or broken till, a runaway promotion) is seen within the
			// hour, not at the month's statement.
			if a.Properties["ComparisonOperator"] != "GreaterThanUpperThreshold" || !strings.Contains(string(raw), "ANOMALY_DETECTION_BAND") ||
				!strings.Contains(string(raw), `"Period":3600`) || !strings.Contains(string(raw), `"Stat":"Sum"`) {
				t.Errorf("%s alarm: got %s %s, want an hourly-sum anomaly band, above the upper threshold", p.ID, a.Properties["ComparisonOperator"], raw)
			}
			if len(refs(a.Properties["AlarmActions"])) != 1 {
				t.Errorf("%s alarm: got actions %v, want the alarm topic", p.ID, a.Properties["AlarmActions"])
			}
		}
		if found != 1 {
			t.Errorf("%s: got %d unusual-accrual alarms, want 1", p.ID, found)
		}
	}
}
