package localstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/local/assembly"
	"github.com/loyalty-functions/loyalty/shared/local/localiam"
	"github.com/loyalty-functions/loyalty/shared/local/sqslocal"
)

// The names the local stack gives the resources the template leaves
// unnamed, so the tools and the README find them at fixed places.
const (
	// UserPoolID makes the template's JWT issuer
	// https://cognito-idp.us-east-1.amazonaws.com/us-east-1_localpool.
	UserPoolID = Region + "_localpool"
)

// plan is what the local stack runs, read from the cloud assembly: every
// setting it honours, and notes on what the template declares that it
// cannot honour (printed at start).
type plan struct {
	asm       *assembly.Assembly
	table     assembly.Table
	functions map[string]assembly.Function // by function name (functions/<name>)
	nameOf    map[string]string            // function ARN -> function name
	queues    []planQueue
	schedules []planSchedule
	routes    []planRoute
	jwt       *assembly.Authorizer
	throttle  assembly.StageThrottle
	busName   string
	door      string // the function behind the partner door's URL (door.go); "" without one
	// The resource-based policies (resourcepolicy.go): each queue's policy
	// by queue name, and each function's permissions by function name.
	queuePolicies map[string]localiam.Policy
	permissions   map[string]localiam.Policy
	notes         []string
}

// planQueue is a queue an event source mapping reads, with its DLQ.
type planQueue struct {
	queue      assembly.Queue
	dlq        *assembly.Queue
	maxReceive int
	mapping    assembly.EventSourceMapping
	function   string
}

// planSchedule is a schedule of a function.
type planSchedule struct {
	schedule assembly.Schedule
	function string
	cron     string // five-field spec for the local scheduler
	loc      *time.Location
}

// planRoute is an HTTP API route.
type planRoute struct {
	method, path string
	auth         string // "JWT", "AWS_IAM" or "NONE"
	scopes       []string
	function     string
}

func (p *plan) note(format string, args ...any) {
	p.notes = append(p.notes, fmt.Sprintf(format, args...))
}

// loadPlan reads the assembly in dir, resolved for the local stack's
// names, region and account, and the embedded SQS at sqsEndpoint.
func loadPlan(dir string, sqsEndpoint func() string) (*plan, error) {
	names := map[string]string{}
	asm, err := assembly.Load(dir, assembly.Env{Account: sqslocal.AccountID, Region: Region, Names: names,
		QueueURL: func(name string) string { return sqsEndpoint() + "/" + sqslocal.AccountID + "/" + name }})
	if err != nil {
		return nil, err
	}
	// The unnamed resources the functions and tokens need by name.
	for _, r := range asm.Resources("") {
		switch r.Type {
		case assembly.TypeTable:
			names[r.LogicalID] = TableName
		case "AWS::Cognito::UserPool":
			names[r.LogicalID] = UserPoolID
		case assembly.TypeUserPoolClient:
			names[r.LogicalID] = Audience
		}
	}
	p := &plan{asm: asm, functions: map[string]assembly.Function{}, nameOf: map[string]string{}}
	steps := []func() error{p.readTable, p.readFunctions, p.readQueues, p.readSchedules, p.readRoutes, p.readDoor, p.readResourcePolicies, p.readOthers}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, fmt.Errorf("localstack: cloud assembly %s: %w", dir, err)
		}
	}
	return p, nil
}

func (p *plan) readTable() error {
	tables, err := p.asm.Tables()
	if err != nil {
		return err
	}
	if len(tables) != 1 {
		return fmt.Errorf("got %d tables, want 1", len(tables))
	}
	p.table = tables[0]
	t := p.table
	if t.BillingMode != "" && t.BillingMode != "PAY_PER_REQUEST" {
		p.note("table %s: billing mode %s (DynamoDB Local has no capacity limits)", t.LogicalID, t.BillingMode)
	}
	if t.PointInTimeRecoverySpecification != nil && t.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled {
		p.note("table %s: point-in-time recovery (DynamoDB Local keeps no backups)", t.LogicalID)
	}
	if t.SSESpecification != nil && t.SSESpecification.SSEEnabled {
		p.note("table %s: encryption with KMS (%s): DynamoDB Local does not encrypt, and no kms: call is checked", t.LogicalID, t.SSESpecification.SSEType)
	}
	if t.DeletionProtectionEnabled {
		p.note("table %s: deletion protection (make reset deletes the local table)", t.LogicalID)
	}
	if t.TimeToLiveSpecification != nil && t.TimeToLiveSpecification.Enabled {
		p.note("table %s: TTL on %q is set on DynamoDB Local, which does not delete expired items", t.LogicalID, t.TimeToLiveSpecification.AttributeName)
	}
	return nil
}

func (p *plan) readFunctions() error {
	fns, err := p.asm.Functions()
	if err != nil {
		return err
	}
	var memory, traced, arch []string
	defer func() {
		sort.Strings(memory)
		sort.Strings(traced)
		p.note("functions' memory is not enforced (%s); their architecture %v runs as this machine's", strings.Join(memory, ", "), arch)
		if len(traced) > 0 {
			p.note("X-Ray tracing is not recorded (%s)", strings.Join(traced, ", "))
		}
	}()
	for _, f := range fns {
		code, err := f.ReadCode("bootstrap")
		if err != nil {
			return err
		}
		name, ok := strings.CutPrefix(strings.TrimSpace(string(code)), strings.TrimSpace(functionMarker))
		if !ok || !bytes.HasPrefix(code, []byte(functionMarker)) {
			return fmt.Errorf("function %s: its code is not a placeholder of the local synth", f.LogicalID)
		}
		name = strings.TrimSpace(name)
		p.functions[name] = f
		p.nameOf[f.ARN] = name
		p.nameOf[f.Name] = name
		memory = append(memory, fmt.Sprintf("%s %d MB", name, f.MemorySize))
		if len(f.Architectures) > 0 {
			arch = f.Architectures
		}
		if f.TracingConfig != nil && f.TracingConfig.Mode == "Active" {
			traced = append(traced, name)
		}
		if f.ReservedConcurrentExecutions != nil {
			p.note("function %s: reserved concurrency %d runs as that many processes", name, *f.ReservedConcurrentExecutions)
		}
	}
	return nil
}

func (p *plan) readQueues() error {
	queues, err := p.asm.Queues()
	if err != nil {
		return err
	}
	byARN := map[string]assembly.Queue{}
	var retention []string
	defer func() {
		if len(retention) > 0 {
			p.note("queues' message retention is not applied: the embedded SQS keeps messages until it stops (%s)", strings.Join(retention, ", "))
		}
	}()
	for _, q := range queues {
		byARN[q.ARN] = q
		if q.KmsMasterKeyID != "" {
			p.note("queue %s: KMS encryption is not applied, and no kms: call is checked", q.Name)
		}
		if q.MessageRetentionPeriod > 0 {
			retention = append(retention, q.Name)
		}
	}
	mappings, err := p.asm.EventSourceMappings()
	if err != nil {
		return err
	}
	for _, m := range mappings {
		q, ok := byARN[m.EventSourceArn]
		if !ok {
			p.note("event source mapping %s: source %s is not a queue of the assembly; not run", m.LogicalID, m.EventSourceArn)
			continue
		}
		fn, ok := p.nameOf[m.FunctionName]
		if !ok {
			return fmt.Errorf("event source mapping %s: no function %s", m.LogicalID, m.FunctionName)
		}
		pq := planQueue{queue: q, mapping: m, function: fn}
		if rp := q.RedrivePolicy; rp != nil {
			dlq, ok := byARN[rp.DeadLetterTargetArn]
			if !ok {
				return fmt.Errorf("queue %s: dead-letter queue %s is not in the assembly", q.Name, rp.DeadLetterTargetArn)
			}
			pq.dlq, pq.maxReceive = &dlq, rp.MaxReceiveCount
		}
		if m.Enabled != nil && !*m.Enabled {
			p.note("event source mapping %s is disabled; not run", m.LogicalID)
			continue
		}
		if m.FilterCriteria != nil {
			p.note("event source mapping %s: filter criteria are not applied", m.LogicalID)
		}
		p.queues = append(p.queues, pq)
	}
	return nil
}

func (p *plan) readSchedules() error {
	scheds, err := p.asm.Schedules()
	if err != nil {
		return err
	}
	for _, s := range scheds {
		fn, ok := p.nameOf[s.Target.Arn]
		if !ok {
			p.note("schedule %s: target %s is not a function of the assembly; not run", s.LogicalID, s.Target.Arn)
			continue
		}
		if s.State == "DISABLED" {
			p.note("schedule %s of %s is disabled; not run", s.LogicalID, fn)
			continue
		}
		spec, err := localCron(s.ScheduleExpression)
		if err != nil {
			p.note("schedule %s of %s: %v; not run on a schedule (loyaltyctl job runs it)", s.LogicalID, fn, err)
			spec = ""
		}
		tz := s.ScheduleExpressionTimezone
		if tz == "" {
			tz = "UTC"
		}
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return fmt.Errorf("schedule %s: timezone %q: %w", s.LogicalID, tz, err)
		}
		if s.FlexibleTimeWindow.Mode == "FLEXIBLE" {
			p.note("schedule %s: flexible window of %d min: runs at the exact time", s.LogicalID, s.FlexibleTimeWindow.MaximumWindowInMinutes)
		}
		if s.StartDate != "" || s.EndDate != "" {
			p.note("schedule %s: start and end dates are not applied", s.LogicalID)
		}
		if rp := s.Target.RetryPolicy; rp != nil && rp.MaximumRetryAttempts > 0 {
			p.note("schedule %s: Scheduler's retries (%d, within %s) and dead-letter queue are not played: a failed run is logged",
				s.LogicalID, rp.MaximumRetryAttempts, time.Duration(rp.MaximumEventAgeInSeconds)*time.Second)
		}
		p.schedules = append(p.schedules, planSchedule{schedule: s, function: fn, cron: spec, loc: loc})
	}
	return nil
}

// localCron turns an EventBridge Scheduler expression into the five-field
// spec of the local scheduler: cron(min hour day-of-month month
// day-of-week year) with "?" for "any", days of the week 1-7 from Sunday or
// SUN-SAT, and the year "*"; rate(N unit) becomes "@every".
func localCron(expr string) (string, error) {
	if inner, ok := strings.CutPrefix(expr, "rate("); ok {
		n, unit, _ := strings.Cut(strings.TrimSuffix(inner, ")"), " ")
		v, err := strconv.Atoi(n)
		if err != nil || v <= 0 {
			return "", fmt.Errorf("expression %q", expr)
		}
		d := map[string]time.Duration{"minute": time.Minute, "minutes": time.Minute, "hour": time.Hour, "hours": time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour}[unit]
		if d == 0 {
			return "", fmt.Errorf("expression %q: unit %q", expr, unit)
		}
		return "@every " + (time.Duration(v) * d).String(), nil
	}
	inner, ok := strings.CutPrefix(expr, "cron(")
	if !ok || !strings.HasSuffix(inner, ")") {
		return "", fmt.Errorf("expression %q is not cron(...) or rate(...)", expr)
	}
	f := strings.Fields(strings.TrimSuffix(inner, ")"))
	if len(f) != 6 {
		return "", fmt.Errorf("expression %q: want 6 fields", expr)
	}
	if f[5] != "*" {
		return "", fmt.Errorf("expression %q: a year other than * is not run locally", expr)
	}
	for _, field := range f[:5] {
		if strings.ContainsAny(field, "LW#") {
			return "", fmt.Errorf("expression %q: L, W and # are not run locally", expr)
		}
	}
	dom, dow := f[2], f[4]
	if dom == "?" {
		dom = "*"
	}
	if dow == "?" {
		dow = "*"
	} else {
		// Scheduler numbers the days 1 (SUN) to 7 (SAT); cron 0 to 6.
		var out []string
		for _, part := range strings.Split(dow, ",") {
			if n, err := strconv.Atoi(part); err == nil {
				part = strconv.Itoa(n - 1)
			}
			out = append(out, part)
		}
		dow = strings.Join(out, ",")
	}
	return strings.Join([]string{f[0], f[1], dom, f[3], dow}, " "), nil
}

func (p *plan) readRoutes() error {
	routes, err := p.asm.Routes()
	if err != nil {
		return err
	}
	auths, err := p.asm.Authorizers()
	if err != nil {
		return err
	}
	for _, r := range routes {
		method, path, ok := strings.Cut(r.RouteKey, " ")
		if !ok {
			method, path = "ANY", r.RouteKey
		}
		fn, ok := p.nameOf[r.FunctionARN]
		if !ok {
			return fmt.Errorf("route %s: integration target %q is not a function of the assembly", r.RouteKey, r.FunctionARN)
		}
		if r.PayloadFormatVersion != "2.0" {
			return fmt.Errorf("route %s: payload format %q; the local gateway sends 2.0 only", r.RouteKey, r.PayloadFormatVersion)
		}
		pr := planRoute{method: method, path: path, auth: r.AuthorizationType, scopes: r.AuthorizationScopes, function: fn}
		switch r.AuthorizationType {
		case "JWT":
			au, ok := auths[r.AuthorizerID]
			if !ok {
				return fmt.Errorf("route %s: no authorizer %s", r.RouteKey, r.AuthorizerID)
			}
			if p.jwt != nil && (p.jwt.JwtConfiguration.Issuer != au.JwtConfiguration.Issuer || !slices.Equal(p.jwt.JwtConfiguration.Audience, au.JwtConfiguration.Audience)) {
				return fmt.Errorf("route %s: a second JWT configuration (the local gateway has one)", r.RouteKey)
			}
			if len(au.IdentitySource) != 1 || au.IdentitySource[0] != "$request.header.Authorization" {
				p.note("authorizer %s: identity source %v; the local gateway reads the Authorization header", au.LogicalID, au.IdentitySource)
			}
			p.jwt = &au
		case "AWS_IAM", "NONE", "":
		default:
			return fmt.Errorf("route %s: authorization %s is not run locally", r.RouteKey, r.AuthorizationType)
		}
		p.routes = append(p.routes, pr)
	}
	var ok bool
	if p.throttle, ok, err = p.asm.Throttle(); err != nil {
		return err
	} else if !ok {
		p.note("the HTTP API stage sets no throttling: the local gateway throttles nothing")
	}
	return nil
}

// handled are the resource types the local stack runs; the others are
// listed at start as not run.
var handled = []string{assembly.TypeTable, assembly.TypeFunction, assembly.TypeEventSource, assembly.TypeQueue,
	assembly.TypeSchedule, assembly.TypeRoute, assembly.TypeIntegration, assembly.TypeAuthorizer, assembly.TypeStage,
	"AWS::ApiGatewayV2::Api", assembly.TypeEventBus, "AWS::Cognito::UserPool", assembly.TypeUserPoolClient,
	assembly.TypeRole, assembly.TypePolicy, // evaluated for the functions (iam.go)
	"AWS::Lambda::Url", assembly.TypePermission, // the partner door (door.go), its callers by the permissions (resourcepolicy.go)
	assembly.TypeQueuePolicy, // evaluated for every call to a queue (resourcepolicy.go)
	"AWS::CDK::Metadata"}

func (p *plan) readOthers() error {
	buses := p.asm.Resources(assembly.TypeEventBus)
	if len(buses) == 1 {
		name, err := buses[0].Name()
		if err != nil {
			return err
		}
		p.busName = name
	} else {
		p.busName = EventBusName
	}
	counts := map[string]int{}
	for _, r := range p.asm.Resources("") {
		if !slices.Contains(handled, r.Type) {
			counts[r.Type]++
		}
	}
	types := make([]string, 0, len(counts))
	for t := range counts {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		p.note("not run locally: %d %s", counts[t], t)
	}
	return nil
}

// functionEnv is a function's environment from the template, with what the
// local stack changes: the program file by its path in the repository (a
// deployed function reads the copy beside its binary) and the local
// endpoints (the SDK clients of the functions read them).
func (p *plan) functionEnv(name, root string, local map[string]string) map[string]string {
	env := map[string]string{}
	for k, v := range p.functions[name].Environment.Variables {
		env[k] = v
	}
	if pf, ok := env["PROGRAM_FILE"]; ok && !filepath.IsAbs(pf) {
		env["PROGRAM_FILE"] = filepath.Join(root, pf)
	}
	for k, v := range local {
		env[k] = v
	}
	return env
}

// writeNotes prints what the stack cannot honour.
func (p *plan) writeNotes(logf func(string, ...any)) {
	logf("from the cloud assembly: table %s, %d functions, %d queue mappings, %d schedules, %d routes; what it declares and the local stack does not honour:",
		p.table.Name, len(p.functions), len(p.queues), len(p.schedules), len(p.routes))
	for _, n := range p.notes {
		logf("  - %s", n)
	}
}

// defaultMappingConcurrency is how many batches of one queue run at once
// when its event source mapping sets no maximum concurrency (Lambda starts
// with five pollers; the local host runs two).
const defaultMappingConcurrency = 2

// tableInput is the CreateTableInput of the template's table: keys,
// attribute types, indexes with their projections, and the stream.
func tableInput(t assembly.Table) *dynamodb.CreateTableInput {
	keys := func(ks []assembly.KeyElement) []types.KeySchemaElement {
		var out []types.KeySchemaElement
		for _, k := range ks {
			out = append(out, types.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: types.KeyType(k.KeyType)})
		}
		return out
	}
	projection := func(ix assembly.Index) *types.Projection {
		pr := &types.Projection{ProjectionType: types.ProjectionType(ix.Projection.ProjectionType)}
		if pr.ProjectionType == "" {
			pr.ProjectionType = types.ProjectionTypeAll
		}
		if len(ix.Projection.NonKeyAttributes) > 0 {
			pr.NonKeyAttributes = ix.Projection.NonKeyAttributes
		}
		return pr
	}
	in := &dynamodb.CreateTableInput{TableName: aws.String(t.Name), KeySchema: keys(t.KeySchema), BillingMode: types.BillingModePayPerRequest}
	for _, a := range t.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(a.AttributeName), AttributeType: types.ScalarAttributeType(a.AttributeType)})
	}
	for _, ix := range t.GlobalSecondaryIndexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{IndexName: aws.String(ix.IndexName), KeySchema: keys(ix.KeySchema), Projection: projection(ix)})
	}
	for _, ix := range t.LocalSecondaryIndexes {
		in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, types.LocalSecondaryIndex{IndexName: aws.String(ix.IndexName), KeySchema: keys(ix.KeySchema), Projection: projection(ix)})
	}
	if s := t.StreamSpecification; s != nil && s.StreamViewType != "" {
		in.StreamSpecification = &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewType(s.StreamViewType)}
	}
	return in
}

// ensureTable creates the template's table unless it exists, and sets its
// TTL. A kept table must have the template's indexes and projections: one
// made from another template is refused with what differs.
func ensureTable(ctx context.Context, client *dynamodb.Client, t assembly.Table) (created bool, err error) {
	in := tableInput(t)
	_, err = client.CreateTable(ctx, in)
	var inUse *types.ResourceInUseException
	switch {
	case err == nil:
		created = true
		if ttl := t.TimeToLiveSpecification; ttl != nil && ttl.Enabled {
			if _, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: in.TableName,
				TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(ttl.AttributeName), Enabled: aws.Bool(true)}}); err != nil {
				return true, fmt.Errorf("localstack: table %s: TTL: %w", t.Name, err)
			}
		}
		return true, nil
	case !errors.As(err, &inUse):
		return false, fmt.Errorf("localstack: create table %s: %w", t.Name, err)
	}
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName})
	if err != nil {
		return false, fmt.Errorf("localstack: describe the kept table %s: %w", t.Name, err)
	}
	describe := func(name string, ks []types.KeySchemaElement, pr *types.Projection) string {
		var parts []string
		for _, k := range ks {
			parts = append(parts, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
		}
		proj := ""
		if pr != nil {
			nk := slices.Clone(pr.NonKeyAttributes)
			slices.Sort(nk)
			proj = string(pr.ProjectionType) + fmt.Sprint(nk)
		}
		return name + "(" + strings.Join(parts, ",") + ")" + proj
	}
	var have, want []string
	for _, g := range out.Table.GlobalSecondaryIndexes {
		have = append(have, describe(aws.ToString(g.IndexName), g.KeySchema, g.Projection))
	}
	for _, g := range in.GlobalSecondaryIndexes {
		want = append(want, describe(aws.ToString(g.IndexName), g.KeySchema, g.Projection))
	}
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		return false, fmt.Errorf("localstack: the kept table %s has the indexes %v, the template wants %v: it was made by another version; make reset starts clean", t.Name, have, want)
	}
	return false, nil
}
