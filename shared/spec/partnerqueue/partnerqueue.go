// Package partnerqueue names the queue of each partner. Every partner sends
// to a queue of its own, which only its AWS principals may send to (the
// queue policy infra writes from the program file); the ingest knows the
// sender from the queue a message arrived on, never from the message body.
// Infra, the ingest and the local stack compute the names with this one
// function, so they cannot disagree.
//
// It imports only the standard library: infra reads it.
package partnerqueue

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// maxName leaves room for DLQSuffix within SQS's 80 characters.
const maxName = 80 - len(DLQSuffix)

// DLQSuffix ends the name of a partner queue's dead-letter queue.
const DLQSuffix = "-dlq"

// Name is the queue name of partner in stage: readable (the stage and the
// partner id, '.' written as '-') and unique (a hash of the exact id ends
// it, so "a.b" and "a-b" get different queues). A long partner id is cut
// so that the name and its DLQ's (Name+DLQSuffix) fit SQS's 80 characters.
func Name(stage, partnerID string) string {
	sum := sha256.Sum256([]byte(partnerID))
	readable := strings.ReplaceAll(partnerID, ".", "-")
	name := "loyalty-" + stage + "-partner-" + readable
	suffix := "-" + hex.EncodeToString(sum[:4])
	if len(name)+len(suffix) > maxName {
		name = name[:maxName-len(suffix)]
	}
	return name + suffix
}

// Owners maps the queue names of a stage's partners back to the partners.
type Owners map[string]string

// NewOwners lists the queues of partners in stage.
func NewOwners(stage string, partnerIDs []string) Owners {
	o := make(Owners, len(partnerIDs))
	for _, id := range partnerIDs {
		o[Name(stage, id)] = id
	}
	return o
}

// Owner is the partner whose queue arn is (the queue name is the last part
// of an SQS ARN); false for a queue that is no partner's.
func (o Owners) Owner(arn string) (string, bool) {
	i := strings.LastIndexByte(arn, ':')
	if i < 0 || !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":sqs:") {
		return "", false
	}
	id, ok := o[arn[i+1:]]
	return id, ok
}
