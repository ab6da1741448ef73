package stacks_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/loyalty-functions/loyalty/infra/stacks"
	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/spec/partnerqueue"
)

func TestStatefulStackHasTerminationProtection(t *testing.T) {
	// GIVEN the synthesized app
	f := synth(t)
	// WHEN we read the stateful stack's settings
	got := f.stateful.TerminationProtection()
	// THEN termination protection is on.
	// Intent: deleting the stack holding members' points takes a deliberate
	// extra step, never a stray `cdk destroy`.
	if got == nil || !*got {
		t.Errorf("stateful stack termination protection: got %v, want true", got)
	}
}

func TestTableIsEncryptedRecoverableProtectedAndRetained(t *testing.T) {
	// GIVEN the stateful template
	f := synth(t)
	// WHEN we look at the table
	// THEN it is encrypted with our customer-managed key, has PITR and
	// deletion protection, and survives stack deletion and replacement.
	// Intent: the ledger is the product; it is never readable with only
	// AWS's key, never lost to a bad write (restore to any second of the
	// last 35 days), never deleted by a mistaken deploy.
	expect(t, "encrypted, recoverable, deletion-protected, retained table", func() {
		f.statefulTpl.HasResource(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"Properties": map[string]any{
				"SSESpecification": map[string]any{
					"SSEEnabled":     true,
					"SSEType":        "KMS",
					"KMSMasterKeyId": assertions.Match_ObjectLike(&map[string]any{"Fn::GetAtt": assertions.Match_AnyValue()}),
				},
				"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
				"DeletionProtectionEnabled":        true,
				"BillingMode":                      "PAY_PER_REQUEST",
			},
			"DeletionPolicy":      "Retain",
			"UpdateReplacePolicy": "Retain",
		})
	})
	// Intent: a customer-managed key that rotates yearly, retained with the
	// table it decrypts (losing the key loses the data).
	expect(t, "rotating, retained KMS keys", func() {
		f.statefulTpl.AllResources(jsii.String("AWS::KMS::Key"), map[string]any{
			"Properties":     map[string]any{"EnableKeyRotation": true},
			"DeletionPolicy": "Retain",
		})
	})
}

func TestTableIsBuiltFromTheSharedSchema(t *testing.T) {
	// GIVEN the stateful template and the schema the local stack uses
	f := synth(t)
	tables := ofType(f.statefulRes, "AWS::DynamoDB::Table")
	if len(tables) != 1 {
		t.Fatalf("tables: got %d, want 1", len(tables))
	}
	p := tables[0].Properties
	// WHEN we compare keys, indexes and TTL
	// THEN they are the schema's.
	// Intent: infra and the local stack cannot drift: the store's tests run
	// against the table production has.
	wantKeys := fmt.Sprint([]any{
		map[string]any{"AttributeName": dynamo.Schema.PartitionKey, "KeyType": "HASH"},
		map[string]any{"AttributeName": dynamo.Schema.SortKey, "KeyType": "RANGE"},
	})
	if got := fmt.Sprint(p["KeySchema"]); got != wantKeys {
		t.Errorf("key schema: got %s, want %s", got, wantKeys)
	}
	ttl, _ := p["TimeToLiveSpecification"].(map[string]any)
	if ttl["AttributeName"] != dynamo.Schema.TTLAttribute || ttl["Enabled"] != true {
		t.Errorf("TTL: got %v, want attribute %q enabled", ttl, dynamo.Schema.TTLAttribute)
	}
	gsis := list(p["GlobalSecondaryIndexes"])
	if len(gsis) != len(dynamo.Schema.GlobalIndexes) {
		t.Fatalf("global indexes: got %d, want %d", len(gsis), len(dynamo.Schema.GlobalIndexes))
	}
	for i, ix := range dynamo.Schema.GlobalIndexes {
		g := gsis[i].(map[string]any)
		// The table in AWS projects exactly what the local table projects:
		// keys only, plus the attributes an index Includes.
		wantProjection := map[string]any{"ProjectionType": "ALL"}
		if ix.KeysOnly {
			wantProjection = map[string]any{"ProjectionType": "KEYS_ONLY"}
		}
		if len(ix.Include) > 0 {
			attrs := make([]any, len(ix.Include))
			for j, a := range ix.Include {
				attrs[j] = a
			}
			wantProjection = map[string]any{"ProjectionType": "INCLUDE", "NonKeyAttributes": attrs}
		}
		got := fmt.Sprint(g["IndexName"], g["KeySchema"], g["Projection"])
		want := fmt.Sprint(ix.Name, []any{
			map[string]any{"AttributeName": ix.PartitionKey, "KeyType": "HASH"},
			map[string]any{"AttributeName": ix.SortKey, "KeyType": "RANGE"},
		}, wantProjection)
		if got != want {
			t.Errorf("index %d: got %s, want %s", i, got, want)
		}
	}
}

func TestEveryStatefulResourceIsRetained(t *testing.T) {
	// GIVEN the stateful template
	f := synth(t)
	// WHEN we walk its resources
	// THEN every one that holds data or identity is retained on delete.
	// Intent: removing a resource from the code orphans it instead of
	// deleting members' data, messages, events or logins.
	holdsNothing := map[string]bool{"AWS::SQS::QueuePolicy": true, "AWS::CDK::Metadata": true}
	for id, r := range f.statefulRes {
		if holdsNothing[r.Type] {
			continue
		}
		if r.DeletionPolicy != "Retain" || r.UpdateReplace != "Retain" {
			t.Errorf("%s (%s): got DeletionPolicy %q UpdateReplacePolicy %q, want Retain/Retain", id, r.Type, r.DeletionPolicy, r.UpdateReplace)
		}
	}
}

func TestEachPartnerHasItsQueueEncryptedWithRedriveAndFittedVisibility(t *testing.T) {
	// GIVEN the stateful template and the partners of the configuration
	f := synth(t)
	queues := map[string]named{}
	for _, q := range ofType(f.statefulRes, "AWS::SQS::Queue") {
		queues[fmt.Sprint(q.Properties["QueueName"])] = q
	}
	if want := 2 * len(partners); len(queues) != want {
		t.Fatalf("queues: got %d, want %d (a queue and a DLQ per partner)", len(queues), want)
	}
	wantVisibility := stacks.QueueVisibilityFactor * stacks.IngestTimeout.Seconds()
	for _, p := range partners {
		// WHEN we look at the partner's queue and DLQ, by the name the
		// ingest derives the sender from
		name := partnerqueue.Name(f.cfg.Stage, p.ID)
		q, ok := queues[name]
		dlq, dlqOK := queues[name+partnerqueue.DLQSuffix]
		if !ok || !dlqOK {
			t.Errorf("%s: got queues %v, want %s and its DLQ", p.ID, sortedNames(queues), name)
			continue
		}
		// THEN the queue is KMS-encrypted, redrives to its own DLQ after 5
		// receives and its visibility timeout is six times the ingest timeout.
		// Intent: a poison message stops being retried after 5 tries and
		// waits in the DLQ instead of being lost; a slow batch is not
		// redelivered while ingest still works on it; the queue's name is
		// the one partnerqueue gives, so the ingest knows whose it is.
		if q.Properties["KmsMasterKeyId"] == nil || q.Properties["VisibilityTimeout"] != wantVisibility {
			t.Errorf("%s queue: got key %v visibility %v, want a key and %v", p.ID, q.Properties["KmsMasterKeyId"], q.Properties["VisibilityTimeout"], wantVisibility)
		}
		redrive, _ := q.Properties["RedrivePolicy"].(map[string]any)
		if got := refs(redrive["deadLetterTargetArn"]); len(got) != 1 || queues[name+partnerqueue.DLQSuffix].id != got[0] || redrive["maxReceiveCount"] != float64(stacks.PartnerMaxReceiveCount) {
			t.Errorf("%s redrive: got %v, want its own DLQ after %d receives", p.ID, redrive, stacks.PartnerMaxReceiveCount)
		}
		// Intent: a dead letter is kept 14 days, the SQS maximum, for replay,
		// longer than its queue keeps a message (7 days): a message moved to
		// a DLQ keeps its first enqueue time, so a DLQ that kept it no longer
		// than its queue could drop a message that failed late at once.
		if dlq.Properties["KmsMasterKeyId"] == nil || dlq.Properties["MessageRetentionPeriod"] != float64(14*24*3600) || dlq.Properties["RedrivePolicy"] != nil {
			t.Errorf("%s DLQ: got %v, want encrypted, kept 14 days, no redrive", p.ID, dlq.Properties)
		}
		if kept, dlqKept := q.Properties["MessageRetentionPeriod"].(float64), dlq.Properties["MessageRetentionPeriod"].(float64); kept != 7*24*3600 || dlqKept <= kept {
			t.Errorf("%s retention: got queue %v s and DLQ %v s, want the queue 7 days and the DLQ longer", p.ID, kept, dlqKept)
		}
	}
}

func sortedNames(m map[string]named) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestEachPartnersSendersMaySendToItsQueueOnly(t *testing.T) {
	// GIVEN partners with senders (accounts and a role) and one without
	f := synth(t)
	policies := ofType(f.statefulRes, "AWS::SQS::QueuePolicy")
	for _, p := range partners {
		name := partnerqueue.Name(f.cfg.Stage, p.ID)
		var queueID string
		for _, q := range ofType(f.statefulRes, "AWS::SQS::Queue") {
			if q.Properties["QueueName"] == name {
				queueID = q.id
			}
		}
		// WHEN we collect who may send to the partner's queue
		var senders []string
		for _, pol := range policies {
			if !contains(refs(pol.Properties["Queues"]), queueID) {
				continue
			}
			doc, _ := pol.Properties["PolicyDocument"].(map[string]any)
			for _, st := range list(doc["Statement"]) {
				st := st.(map[string]any)
				if st["Effect"] != "Allow" {
					continue
				}
				if st["Action"] != "sqs:SendMessage" {
					t.Errorf("%s: got action %v allowed, want sqs:SendMessage only", p.ID, st["Action"])
				}
				if r := refs(st["Resource"]); len(r) != 1 || r[0] != queueID {
					t.Errorf("%s: got resource %v, want its own queue only", p.ID, st["Resource"])
				}
				principal, _ := st["Principal"].(map[string]any)
				for _, a := range list(principal["AWS"]) {
					senders = append(senders, principalString(a))
				}
			}
		}
		// THEN exactly its senders may, nothing but SendMessage, on that queue.
		// Intent: a partner can drop events on its own queue and on no
		// other partner's, so the queue a message arrives on proves who sent it.
		var want []string
		for _, s := range p.Senders {
			if len(s) == 12 {
				s = ":iam::" + s + ":root"
			}
			want = append(want, s)
		}
		sort.Strings(senders)
		sort.Strings(want)
		if strings.Join(senders, " ") != strings.Join(want, " ") {
			t.Errorf("%s: got senders %v, want %v", p.ID, senders, want)
		}
	}
	// AND the queue key lets each partner's senders encrypt through SQS
	// for their own queue only (the encryption context SQS passes).
	// Intent: a partner's key use cannot reach another partner's queue.
	expect(t, "key policy letting a partner encrypt for its own queue through SQS", func() {
		f.statefulTpl.HasResourceProperties(jsii.String("AWS::KMS::Key"), map[string]any{
			"KeyPolicy": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{
					"Action": []any{"kms:GenerateDataKey", "kms:Decrypt"},
					"Condition": map[string]any{"StringEquals": map[string]any{
						"kms:ViaService": assertions.Match_AnyValue(),
						"kms:EncryptionContext:aws:sqs:arn": assertions.Match_ObjectLike(&map[string]any{
							"Fn::Join": assertions.Match_ArrayWith(&[]any{assertions.Match_ArrayWith(&[]any{":" + partnerqueue.Name(f.cfg.Stage, partners[0].ID)})}),
						}),
					}},
				}),
			})},
		})
	})
}

// principalString flattens a policy principal: an ARN string, or the
// Fn::Join CDK writes for an account root (":iam::<account>:root").
func principalString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	m, _ := v.(map[string]any)
	join, _ := m["Fn::Join"].([]any)
	if len(join) == 2 {
		for _, part := range list(join[1]) {
			if s, ok := part.(string); ok && strings.HasPrefix(s, ":iam::") {
				return s
			}
		}
	}
	return fmt.Sprint(v)
}

func TestEveryQueueRefusesPlainHTTP(t *testing.T) {
	// GIVEN both templates
	f := synth(t)
	for stack, res := range map[string]map[string]resource{"stateful": f.statefulRes, "service": f.services} {
		// WHEN we collect the queues a queue policy denies insecure transport for
		secured := map[string]bool{}
		for _, p := range ofType(res, "AWS::SQS::QueuePolicy") {
			doc, _ := p.Properties["PolicyDocument"].(map[string]any)
			for _, s := range list(doc["Statement"]) {
				st := s.(map[string]any)
				if st["Effect"] == "Deny" && st["Action"] == "sqs:*" &&
					fmt.Sprint(st["Condition"]) == "map[Bool:map[aws:SecureTransport:false]]" {
					for _, q := range refs(p.Properties["Queues"]) {
						secured[q] = true
					}
				}
			}
		}
		// THEN every queue is among them.
		// Intent: partners' purchases and dead letters never travel in clear.
		for _, q := range ofType(res, "AWS::SQS::Queue") {
			if !secured[q.id] {
				t.Errorf("%s queue %s: got no enforce-SSL deny statement, want one", stack, q.id)
			}
		}
	}
}

func TestEventBusHasAnArchive(t *testing.T) {
	// GIVEN the stateful template
	f := synth(t)
	// WHEN we look for the archive of the domain event bus
	// THEN there is one, with a retention.
	// Intent: a subscriber that was down, or is new, can replay the
	// domain events instead of us re-deriving them.
	expect(t, "event bus archive", func() {
		f.statefulTpl.HasResourceProperties(jsii.String("AWS::Events::Archive"), map[string]any{
			"SourceArn":     map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^EventBus")), "Arn"}},
			"RetentionDays": assertions.Match_AnyValue(),
		})
	})
}

func TestUserPoolAndAppClientAreLockedDown(t *testing.T) {
	// GIVEN the stateful template (no userPoolId: the pool is created)
	f := synth(t)
	// THEN the pool demands strong passwords and is deletion-protected, and
	// the app client is public (no secret) with SRP only and no OAuth flows.
	// Intent: members' logins survive a bad deploy, and the mobile app
	// holds no secret and exposes no implicit-grant redirect.
	expect(t, "user pool", func() {
		f.statefulTpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), map[string]any{
			"DeletionProtection": "ACTIVE",
			"Policies": map[string]any{"PasswordPolicy": assertions.Match_ObjectLike(&map[string]any{
				"MinimumLength": 10, "RequireLowercase": true, "RequireUppercase": true, "RequireNumbers": true, "RequireSymbols": true,
			})},
		})
	})
	expect(t, "app client", func() {
		f.statefulTpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolClient"), map[string]any{
			"GenerateSecret":                  false,
			"ExplicitAuthFlows":               []any{"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"},
			"AllowedOAuthFlows":               assertions.Match_Absent(),
			"AllowedOAuthFlowsUserPoolClient": false,
			"PreventUserExistenceErrors":      "ENABLED",
		})
	})
}

func TestStatefulOutputs(t *testing.T) {
	// GIVEN the stateful template
	f := synth(t)
	// THEN it outputs what a partner, the app and ops need to connect.
	for _, id := range []string{"TableName", "PartnerQueueKeyArn", "EventBusName", "UserPoolId", "UserPoolClientId"} {
		expect(t, "output "+id, func() { f.statefulTpl.HasOutput(jsii.String(id), map[string]any{}) })
	}
}
