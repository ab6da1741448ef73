package stacks

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsschedulertargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/loyalty-functions/loyalty/shared/spec/gogc"
)

// ServiceStackProps configures NewServiceStack.
type ServiceStackProps struct {
	awscdk.StackProps
	Config   Config
	Stateful *StatefulStack
	// Functions defaults to the package's Functions table.
	Functions []Function
	// Routes defaults to the package's Routes table.
	Routes []Route
}

// ServiceStack holds the code and everything that can be rebuilt from the
// repository: functions, the HTTP API, the queue consumer, schedules,
// alarms and the dashboard. Deleting it loses no data.
type ServiceStack struct {
	awscdk.Stack
	Functions  map[string]awslambda.Function
	JobDLQs    map[string]awssqs.Queue
	Schedules  map[string]awsscheduler.Schedule
	AlarmTopic awssns.Topic
	API        *HTTPAPI
	DoorURL    awslambda.FunctionUrl // the synchronous partner door (door.go)
}

// Ingest event source settings: up to 10 messages or 2 s per batch, and at
// most 5 concurrent batches so a partner's backlog cannot exhaust the
// table's or the account's concurrency.
const (
	ingestBatchSize         = 10
	ingestBatchingWindowSec = 2
	ingestMaxConcurrency    = 5
)

// Schedule settings: Scheduler retries a failed invoke 3 times within an
// hour, then parks the event in the job's DLQ.
const (
	scheduleRetryAttempts = 3
	scheduleMaxEventAgeH  = 1
	// A job that fails after Lambda's own async retries lands in its DLQ.
	jobAsyncRetryAttempts = 2
)

// NewServiceStack builds the functions and everything that invokes or
// watches them.
func NewServiceStack(scope constructs.Construct, id string, props *ServiceStackProps) *ServiceStack {
	sp := props.StackProps
	cfg := props.Config
	if sp.Description == nil {
		sp.Description = jsii.String(fmt.Sprintf("Loyalty engine (%s): functions, HTTP API, schedules, alarms.", cfg.Stage))
	}
	fns := props.Functions
	if fns == nil {
		fns = Functions
	}
	routes := props.Routes
	if routes == nil {
		routes = Routes
	}
	if err := CheckRoutes(routes, fns); err != nil {
		panic(err)
	}
	stack := awscdk.NewStack(scope, &id, &sp)
	s := &ServiceStack{
		Stack:     stack,
		Functions: map[string]awslambda.Function{},
		JobDLQs:   map[string]awssqs.Queue{},
		Schedules: map[string]awsscheduler.Schedule{},
	}
	st := props.Stateful

	s.AlarmTopic = newAlarmTopic(stack, cfg.AlarmEmail)

	for _, f := range fns {
		s.Functions[f.Name] = newFunction(stack, f, st, cfg)
	}

	s.API = newHTTPAPI(stack, cfg, st, routes, s.Functions)

	// The ingest takes every partner's queue, each with its own mapping:
	// the record's eventSourceARN then says which partner sent it.
	for _, f := range FunctionsOfKind(fns, KindQueue) {
		for _, pq := range st.PartnerQueues {
			s.Functions[f.Name].AddEventSource(awslambdaeventsources.NewSqsEventSource(pq.Queue, &awslambdaeventsources.SqsEventSourceProps{
				BatchSize:               jsii.Number(ingestBatchSize),
				MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(ingestBatchingWindowSec)),
				ReportBatchItemFailures: jsii.Bool(true),
				MaxConcurrency:          jsii.Number(ingestMaxConcurrency),
			}))
		}
	}

	for _, f := range FunctionsOfKind(fns, KindJob) {
		s.JobDLQs[f.Name], s.Schedules[f.Name] = newJobSchedule(stack, f, s.Functions[f.Name], cfg)
	}

	for _, f := range FunctionsOfKind(fns, KindDoor) {
		s.DoorURL = newPartnerDoor(stack, f, s.Functions[f.Name], cfg.Partners) // door.go
	}

	newOperations(stack, cfg, st, s, fns)
	suppressServiceFindings(s)
	return s
}

// constructID turns "expire-points" into "ExpirePoints".
func constructID(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// newFunction builds one Lambda with its own role, log group and
// least-privilege grants: the table actions of its row in the function
// table, Query on the indexes it names, the table key, and PutEvents on the
// bus for the functions that publish.
func newFunction(stack awscdk.Stack, f Function, st *StatefulStack, cfg Config) awslambda.Function {
	id := constructID(f.Name)
	logGroup := awslogs.NewLogGroup(stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_MONTH,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	// An explicit role instead of the default one: the default carries the
	// AWSLambdaBasicExecutionRole managed policy, which may write to any
	// log group in the account.
	role := awsiam.NewRole(stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Execution role of the " + f.Name + " function"),
	})
	env := map[string]*string{
		"TABLE_NAME":   st.Table.TableName(),
		"STAGE":        jsii.String(cfg.Stage),
		"PROGRAM_FILE": jsii.String(cfg.ProgramFileName()),
		"LOG_LEVEL":    jsii.String(cfg.LogLevel),
	}
	if f.Publishes {
		env["EVENT_BUS_NAME"] = st.EventBus.EventBusName()
	}
	for k, v := range gogc.Env(int(f.MemoryMB)) { // the collector's settings (package gogc)
		env[k] = jsii.String(v)
	}
	grantCodeSecret(f.Name, env, role, st) // codesecret.go
	fn := awslambda.NewFunction(stack, jsii.String(id), &awslambda.FunctionProps{
		Description:   jsii.String("Loyalty " + f.Name),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          awslambda.Code_FromAsset(jsii.String(filepath.Join(cfg.DistDir, f.Name)), nil),
		MemorySize:    jsii.Number(f.MemoryMB),
		Timeout:       awscdk.Duration_Seconds(jsii.Number(f.Timeout.Seconds())),
		Role:          role,
		LogGroup:      logGroup,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		// With JSON logs Lambda filters by the "level" field slog writes;
		// the filter follows LOG_LEVEL so DEBUG is not dropped at INFO.
		// The EMF metric lines carry level emf.Level, which every level
		// Config.Validate allows passes (package emf; a test holds it).
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel(cfg.LogLevel),
		SystemLogLevelV2:      awslambda.SystemLogLevel_INFO,
		Tracing:               awslambda.Tracing_ACTIVE,
		Environment:           &env,
	})
	logGroup.GrantWrite(role)

	awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
		Grantee:      role,
		Actions:      jsii.Strings(f.TableActions...),
		ResourceArns: jsii.Strings(*st.Table.TableArn()),
	})
	if len(f.QueryIndexes) > 0 {
		var arns []string
		for _, ix := range f.QueryIndexes {
			arns = append(arns, *st.Table.TableArn()+"/index/"+ix)
		}
		awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
			Grantee:      role,
			Actions:      jsii.Strings(ddbQuery),
			ResourceArns: jsii.Strings(arns...),
		})
	}
	// DynamoDB encrypts and decrypts items with the table key on the
	// caller's behalf. Named actions, not GrantEncryptDecrypt, whose
	// ReEncrypt* and GenerateDataKey* wildcards nobody here needs.
	st.TableKey.Grant(role, jsii.String("kms:Decrypt"), jsii.String("kms:Encrypt"),
		jsii.String("kms:GenerateDataKey"), jsii.String("kms:DescribeKey"))
	if f.Publishes {
		st.EventBus.GrantPutEventsTo(role, nil)
	}
	return fn
}

// newJobSchedule builds the schedule of one job, its DLQ and the role the
// scheduler assumes. The DLQ also receives the job's asynchronous
// invocations that failed after Lambda's retries, so one alarm per job
// covers both "could not start" and "ran and failed".
func newJobSchedule(stack awscdk.Stack, f Function, fn awslambda.Function, cfg Config) (awssqs.Queue, awsscheduler.Schedule) {
	id := constructID(f.Name)
	// SQS-managed encryption: the scheduler and Lambda's failure
	// destination can write without a key grant, and the messages are job
	// invocations, not member data.
	dlq := awssqs.NewQueue(stack, jsii.String(id+"DLQ"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Seconds(jsii.Number(DLQRetention.Seconds())),
	})
	fn.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		RetryAttempts: jsii.Number(jobAsyncRetryAttempts),
		OnFailure:     awslambdadestinations.NewSqsDestination(dlq),
	})

	// The scheduler may assume the role only for schedules of this account's
	// default group (confused-deputy protection).
	groupArn := stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("scheduler"),
		Resource:     jsii.String("schedule-group"),
		ResourceName: jsii.String("default"),
	})
	role := awsiam.NewRole(stack, jsii.String(id+"ScheduleRole"), &awsiam.RoleProps{
		Description: jsii.String("Assumed by EventBridge Scheduler to start the " + f.Name + " job"),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{
				"StringEquals": map[string]any{
					"aws:SourceAccount": *stack.Account(),
					"aws:SourceArn":     *groupArn,
				},
			},
		}),
	})

	c := f.Schedule
	cron := &awsscheduler.CronOptionsWithTimezone{
		Minute:   jsii.String(strconv.Itoa(c.Minute)),
		Hour:     jsii.String(c.HourList()),
		TimeZone: awscdk.TimeZone_Of(jsii.String(cfg.Timezone)),
	}
	if c.WeekDay != "" {
		cron.WeekDay = jsii.String(c.WeekDay)
	}
	schedule := awsscheduler.NewSchedule(stack, jsii.String(id+"Schedule"), &awsscheduler.ScheduleProps{
		Description: jsii.String(fmt.Sprintf("Runs %s %s (%s)", f.Name, c, cfg.Timezone)),
		Schedule:    awsscheduler.ScheduleExpression_Cron(cron),
		Target: awsschedulertargets.NewLambdaInvoke(fn, &awsschedulertargets.ScheduleTargetBaseProps{
			Role:            role,
			DeadLetterQueue: dlq,
			RetryAttempts:   jsii.Number(scheduleRetryAttempts),
			MaxEventAge:     awscdk.Duration_Hours(jsii.Number(scheduleMaxEventAgeH)),
			Input:           scheduledEventInput(stack, f.Name),
		}),
	})
	return dlq, schedule
}

// scheduledEventInput is the payload a job receives: the shape of an
// EventBridge scheduled event (aws-lambda-go events.EventBridgeEvent), with
// the scheduler's execution id as the event id and the scheduled time as
// its time, so a job can key its run by the time it was due, not the time
// a retry happened to start.
func scheduledEventInput(stack awscdk.Stack, job string) awsscheduler.ScheduleTargetInput {
	return awsscheduler.ScheduleTargetInput_FromObject(map[string]any{
		"version":     "0",
		"id":          *awsscheduler.ContextAttribute_ExecutionId(),
		"detail-type": "Scheduled Event",
		"source":      "aws.scheduler",
		"account":     *stack.Account(),
		"region":      *stack.Region(),
		"time":        *awsscheduler.ContextAttribute_ScheduledTime(),
		"resources":   []any{*awsscheduler.ContextAttribute_ScheduleArn()},
		"detail": map[string]any{
			"job":     job,
			"attempt": *awsscheduler.ContextAttribute_AttemptNumber(),
		},
	})
}

// newAlarmTopic is where every alarm goes. Its key lets CloudWatch publish
// (alarms cannot use the AWS-managed SNS key).
func newAlarmTopic(stack awscdk.Stack, email string) awssns.Topic {
	key := awskms.NewKey(stack, jsii.String("AlarmTopicKey"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts the alarm topic"),
		EnableKeyRotation: jsii.Bool(true),
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"),
		Resources:  jsii.Strings("*"), // in a key policy "*" means this key
		Conditions: &map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": *stack.Account()},
		},
	}), jsii.Bool(false))
	topic := awssns.NewTopic(stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("Loyalty alarms"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	if email != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email), nil))
	}
	output(stack, "AlarmTopicArn", topic.TopicArn(), "SNS topic every alarm notifies")
	return topic
}
