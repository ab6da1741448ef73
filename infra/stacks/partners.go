package stacks

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/loyalty-functions/loyalty/shared/spec/partnerqueue"
)

// Partner is a partner of the program file as infra needs it: its id and
// the AWS principals that may send to its queue.
type Partner struct {
	ID string
	// Senders are 12-digit account ids or IAM role or user ARNs.
	Senders []string
}

// PartnerQueue is one partner's queue and its dead-letter queue. Only the
// partner's senders may send to the queue, so the queue a message arrives
// on says who sent it (package partnerqueue names both queues).
type PartnerQueue struct {
	PartnerID string
	Queue     awssqs.Queue
	DLQ       awssqs.Queue
}

// partnerConstructID is a construct id for a partner: readable, unique per
// exact partner id (the hash), letters and digits only.
func partnerConstructID(id string) string {
	var b strings.Builder
	upper := true
	for _, r := range id {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			upper = true
			continue
		}
		if upper {
			r = unicode.ToUpper(r)
		}
		b.WriteRune(r)
		upper = false
	}
	sum := sha256.Sum256([]byte(id))
	return "Partner" + b.String() + strings.ToUpper(hex.EncodeToString(sum[:3]))
}

// senderPrincipal is the IAM principal of a sender: an account or an ARN.
func senderPrincipal(s string) awsiam.IPrincipal {
	if accountPattern.MatchString(s) {
		return awsiam.NewAccountPrincipal(jsii.String(s))
	}
	return awsiam.NewArnPrincipal(jsii.String(s))
}

// newPartnerQueues builds a queue and a DLQ per partner, named by package
// partnerqueue, and lets each partner's senders send to its own queue only
// (and use the queue key for that queue only, through SQS).
func newPartnerQueues(stack awscdk.Stack, key awskms.Key, stage string, partners []Partner) []PartnerQueue {
	out := make([]PartnerQueue, 0, len(partners))
	for _, p := range partners {
		id := partnerConstructID(p.ID)
		name := partnerqueue.Name(stage, p.ID)
		dlq := awssqs.NewQueue(stack, jsii.String(id+"DLQ"), &awssqs.QueueProps{
			QueueName:           jsii.String(name + partnerqueue.DLQSuffix),
			Encryption:          awssqs.QueueEncryption_KMS,
			EncryptionMasterKey: key,
			EnforceSSL:          jsii.Bool(true),
			RetentionPeriod:     awscdk.Duration_Seconds(jsii.Number(DLQRetention.Seconds())),
			RemovalPolicy:       awscdk.RemovalPolicy_RETAIN,
		})
		queue := awssqs.NewQueue(stack, jsii.String(id+"Queue"), &awssqs.QueueProps{
			QueueName:           jsii.String(name),
			Encryption:          awssqs.QueueEncryption_KMS,
			EncryptionMasterKey: key,
			EnforceSSL:          jsii.Bool(true),
			RetentionPeriod:     awscdk.Duration_Seconds(jsii.Number(PartnerQueueRetention.Seconds())),
			VisibilityTimeout:   awscdk.Duration_Seconds(jsii.Number(QueueVisibilityFactor * IngestTimeout.Seconds())),
			// Long polling: fewer empty receives, lower cost when idle.
			ReceiveMessageWaitTime: awscdk.Duration_Seconds(jsii.Number(20)),
			DeadLetterQueue: &awssqs.DeadLetterQueue{
				Queue:           dlq,
				MaxReceiveCount: jsii.Number(PartnerMaxReceiveCount),
			},
			RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		})
		out = append(out, PartnerQueue{PartnerID: p.ID, Queue: queue, DLQ: dlq})
		output(stack, id+"QueueUrl", queue.QueueUrl(), fmt.Sprintf("Queue URL partner %s sends purchase events to", p.ID))
		if len(p.Senders) == 0 {
			continue
		}
		principals := make([]awsiam.IPrincipal, 0, len(p.Senders))
		for _, s := range p.Senders {
			principals = append(principals, senderPrincipal(s))
		}
		queue.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("PartnerSend"),
			Principals: &principals,
			Actions:    jsii.Strings("sqs:SendMessage"),
			Resources:  jsii.Strings(*queue.QueueArn()),
		}))
		// Sending to a KMS-encrypted queue needs the key: a data key for the
		// message (GenerateDataKey) and Decrypt of the cached one. ViaService
		// keeps the partner from using the key for anything but SQS, and the
		// encryption context (SQS passes the queue's ARN) for any queue but
		// its own. The ARN is written out, not referenced: the queue already
		// depends on the key.
		arn := fmt.Sprintf("arn:%s:sqs:%s:%s:%s", *stack.Partition(), *stack.Region(), *stack.Account(), name)
		key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String(id + "EncryptThroughSqs"),
			Principals: &principals,
			Actions:    jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"),
			Resources:  jsii.Strings("*"), // in a key policy "*" means this key
			Conditions: &map[string]any{
				"StringEquals": map[string]any{
					"kms:ViaService":                    fmt.Sprintf("sqs.%s.amazonaws.com", *stack.Region()),
					"kms:EncryptionContext:aws:sqs:arn": arn,
				},
			},
		}), jsii.Bool(false))
	}
	return out
}
