package sqslocal

import (
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// ToSQSEvent builds the event Lambda's SQS event source mapping hands a
// function for msgs, received from the queue queueARN in region: one record
// per message in receive order, eventSource "aws:sqs", the system attributes
// as received, and message attributes with empty (not null) list values, as
// Lambda sends them.
func ToSQSEvent(msgs []types.Message, queueARN, region string) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(msgs))}
	for _, m := range msgs {
		rec := events.SQSMessage{
			MessageId:              aws.ToString(m.MessageId),
			ReceiptHandle:          aws.ToString(m.ReceiptHandle),
			Body:                   aws.ToString(m.Body),
			Md5OfBody:              aws.ToString(m.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
			Attributes:             make(map[string]string, len(m.Attributes)),
			MessageAttributes:      make(map[string]events.SQSMessageAttribute, len(m.MessageAttributes)),
			EventSourceARN:         queueARN,
			EventSource:            "aws:sqs",
			AWSRegion:              region,
		}
		for k, v := range m.Attributes {
			rec.Attributes[k] = v
		}
		for k, v := range m.MessageAttributes {
			a := events.SQSMessageAttribute{
				BinaryValue:      v.BinaryValue,
				StringListValues: v.StringListValues,
				BinaryListValues: v.BinaryListValues,
				DataType:         aws.ToString(v.DataType),
			}
			if v.StringValue != nil {
				a.StringValue = aws.String(*v.StringValue)
			}
			if a.StringListValues == nil {
				a.StringListValues = []string{}
			}
			if a.BinaryListValues == nil {
				a.BinaryListValues = [][]byte{}
			}
			rec.MessageAttributes[k] = a
		}
		ev.Records = append(ev.Records, rec)
	}
	return ev
}
