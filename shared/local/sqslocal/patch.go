package sqslocal

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Admiral-Piett/goaws/app/models"
)

// System attribute names as SQS spells them.
const (
	attrReceiveCount = "ApproximateReceiveCount"
	attrSentAt       = "SentTimestamp"
	attrFirstReceive = "ApproximateFirstReceiveTimestamp"
	attrSenderID     = "SenderId"
)

// patchReceived rewrites goaws' JSON ReceiveMessage result the way SQS would
// have answered: true receive counts and timestamps, and only the system and
// message attributes the request asked for. It reports whether the result
// holds any message.
func (g *gate) patchReceived(body []byte, queue string, req request) ([]byte, bool) {
	var res models.ReceiveMessageResult
	if err := json.Unmarshal(body, &res); err != nil || len(res.Messages) == 0 {
		return body, false
	}
	facts := receiveFacts(queue, res.Messages)
	now := time.Now()
	systemNames := append(req.strings("AttributeNames"), req.strings("MessageSystemAttributeNames")...)
	attributeNames := req.strings("MessageAttributeNames")

	for _, m := range res.Messages {
		attrs := make(map[string]string, len(m.Attributes))
		for k, v := range m.Attributes {
			attrs[k] = v
		}
		if f, ok := facts[m.MessageId]; ok {
			attrs[attrReceiveCount] = strconv.Itoa(f.receives)
			attrs[attrSentAt] = strconv.FormatInt(f.sentAt.UnixMilli(), 10)
		}
		attrs[attrFirstReceive] = g.firstReceived(m.MessageId, now)
		m.Attributes = pickSystemAttributes(attrs, systemNames)
		m.MessageAttributes = pickMessageAttributes(m.MessageAttributes, attributeNames)
		m.MD5OfMessageAttributes = md5OfMessageAttributes(m.MessageAttributes)
	}
	out, err := json.Marshal(res)
	if err != nil {
		return body, true
	}
	return out, true
}

type messageFacts struct {
	sentAt   time.Time
	receives int
}

// receiveFacts reads, for the messages just received, what goaws knows but
// reports wrongly: when each was sent and how often it has been received
// (goaws counts ended receives in Retry).
func receiveFacts(queue string, msgs []*models.ResultMessage) map[string]messageFacts {
	want := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		want[m.MessageId] = true
	}
	facts := make(map[string]messageFacts, len(msgs))
	models.SyncQueues.RLock()
	defer models.SyncQueues.RUnlock()
	q, ok := models.SyncQueues.Queues[queue]
	if !ok {
		return facts
	}
	for _, m := range q.Messages {
		if want[m.Uuid] {
			facts[m.Uuid] = messageFacts{sentAt: m.SentTime, receives: m.Retry + 1}
		}
	}
	return facts
}

// pickSystemAttributes keeps the attributes named in names ("All" keeps
// every one), as SQS returns only the system attributes asked for.
func pickSystemAttributes(attrs map[string]string, names []string) map[string]string {
	if slices.Contains(names, "All") {
		return attrs
	}
	picked := make(map[string]string)
	for _, n := range names {
		if v, ok := attrs[n]; ok {
			picked[n] = v
		}
	}
	if len(picked) == 0 {
		return nil
	}
	return picked
}

// pickMessageAttributes keeps the message attributes named in names: "All"
// or ".*" keep every one, "prefix.*" keeps those starting with "prefix.",
// any other name keeps that attribute.
func pickMessageAttributes(attrs map[string]models.MessageAttribute, names []string) map[string]models.MessageAttribute {
	picked := make(map[string]models.MessageAttribute)
	for name, a := range attrs {
		for _, n := range names {
			prefix, wildcard := strings.CutSuffix(n, "*")
			if n == "All" || n == ".*" || n == name || (wildcard && strings.HasSuffix(prefix, ".") && strings.HasPrefix(name, prefix)) {
				picked[name] = a
				break
			}
		}
	}
	if len(picked) == 0 {
		return nil
	}
	return picked
}

// md5OfMessageAttributes is SQS' digest of message attributes: for each
// attribute in name order, length-prefixed name, data type, a transport byte
// (1 string, 2 binary) and length-prefixed value. goaws hashes only the data
// types "String" and "Binary" and so gets "Number" and custom types wrong.
func md5OfMessageAttributes(attrs map[string]models.MessageAttribute) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		names = append(names, name)
	}
	slices.Sort(names)
	h := md5.New()
	for _, name := range names {
		a := attrs[name]
		writeLengthPrefixed(h, []byte(name))
		writeLengthPrefixed(h, []byte(a.DataType))
		if strings.HasPrefix(a.DataType, "Binary") {
			h.Write([]byte{2})
			value, _ := base64.StdEncoding.DecodeString(a.BinaryValue)
			writeLengthPrefixed(h, value)
			continue
		}
		h.Write([]byte{1})
		writeLengthPrefixed(h, []byte(a.StringValue))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeLengthPrefixed(h hash.Hash, b []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(b)))
	h.Write(n[:])
	h.Write(b)
}

// patchMessageCounts fixes the message counts of a JSON GetQueueAttributes
// result: goaws counts in-flight messages as ApproximateNumberOfMessages,
// delayed ones as not visible, and never reports the delayed count.
func patchMessageCounts(body []byte, queue string, requested []string) []byte {
	var res struct{ Attributes map[string]string }
	if err := json.Unmarshal(body, &res); err != nil || res.Attributes == nil {
		return body
	}
	visible, inFlight, delayed, ok := countMessages(queue)
	if !ok {
		return body
	}
	all := slices.Contains(requested, "All")
	set := func(name string, n int) {
		if _, had := res.Attributes[name]; had || all || slices.Contains(requested, name) {
			res.Attributes[name] = strconv.Itoa(n)
		}
	}
	set("ApproximateNumberOfMessages", visible)
	set("ApproximateNumberOfMessagesNotVisible", inFlight)
	set("ApproximateNumberOfMessagesDelayed", delayed)
	out, err := json.Marshal(res)
	if err != nil {
		return body
	}
	return out
}

func countMessages(queue string) (visible, inFlight, delayed int, ok bool) {
	now := time.Now()
	models.SyncQueues.RLock()
	defer models.SyncQueues.RUnlock()
	q, ok := models.SyncQueues.Queues[queue]
	if !ok {
		return 0, 0, 0, false
	}
	for _, m := range q.Messages {
		switch {
		case m.ReceiptHandle != "":
			inFlight++
		case now.Before(m.SentTime.Add(time.Duration(m.DelaySecs) * time.Second)):
			delayed++
		default:
			visible++
		}
	}
	return visible, inFlight, delayed, true
}

// patchSent rewrites goaws' JSON SendMessage and SendMessageBatch results:
// the batch result uses the query protocol's element names (so SDKs see no
// entries at all), and both carry goaws' digest of the message attributes
// (see md5OfMessageAttributes).
func patchSent(body []byte, req request) []byte {
	if req.action == "SendMessage" {
		var res map[string]any
		var in struct {
			MessageAttributes map[string]models.MessageAttribute
		}
		if json.Unmarshal(body, &res) != nil || json.Unmarshal(req.body, &in) != nil {
			return body
		}
		delete(res, "MD5OfMessageAttributes")
		if digest := md5OfMessageAttributes(in.MessageAttributes); digest != "" {
			res["MD5OfMessageAttributes"] = digest
		}
		if res["SequenceNumber"] == "" {
			delete(res, "SequenceNumber")
		}
		out, err := json.Marshal(res)
		if err != nil {
			return body
		}
		return out
	}

	var res struct {
		Entries []map[string]any               `json:"SendMessageBatchResultEntry"`
		Errors  []models.BatchResultErrorEntry `json:"BatchResultErrorEntry"`
	}
	var in struct {
		Entries []struct {
			Id                string
			MessageAttributes map[string]models.MessageAttribute
		}
	}
	if json.Unmarshal(body, &res) != nil || json.Unmarshal(req.body, &in) != nil {
		return body
	}
	digests := make(map[string]string, len(in.Entries))
	for _, e := range in.Entries {
		digests[e.Id] = md5OfMessageAttributes(e.MessageAttributes)
	}
	for _, e := range res.Entries {
		id, _ := e["Id"].(string)
		delete(e, "MD5OfMessageAttributes")
		if d := digests[id]; d != "" {
			e["MD5OfMessageAttributes"] = d
		}
		if e["SequenceNumber"] == "" {
			delete(e, "SequenceNumber")
		}
	}
	out, err := json.Marshal(struct {
		Successful []map[string]any               `json:"Successful"`
		Failed     []models.BatchResultErrorEntry `json:"Failed"`
	}{Successful: res.Entries, Failed: res.Errors})
	if err != nil {
		return body
	}
	return out
}
