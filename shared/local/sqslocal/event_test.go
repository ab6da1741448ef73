package sqslocal

import (
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestToSQSEvent(t *testing.T) {
	const arn = "arn:aws:sqs:eu-west-1:123456789012:ingest"
	for _, tc := range []struct {
		name string
		msgs []types.Message
		want events.SQSEvent
	}{
		{
			name: "no messages",
			msgs: nil,
			want: events.SQSEvent{Records: []events.SQSMessage{}},
		},
		{
			name: "message without attributes gets empty maps",
			msgs: []types.Message{{
				MessageId:     aws.String("m-1"),
				ReceiptHandle: aws.String("rh-1"),
				Body:          aws.String("hello"),
				MD5OfBody:     aws.String("5d41402abc4b2a76b9719d911017c592"),
			}},
			want: events.SQSEvent{Records: []events.SQSMessage{{
				MessageId:         "m-1",
				ReceiptHandle:     "rh-1",
				Body:              "hello",
				Md5OfBody:         "5d41402abc4b2a76b9719d911017c592",
				Attributes:        map[string]string{},
				MessageAttributes: map[string]events.SQSMessageAttribute{},
				EventSourceARN:    arn,
				EventSource:       "aws:sqs",
				AWSRegion:         "eu-west-1",
			}}},
		},
		{
			name: "attributes are copied and list values are never nil",
			msgs: []types.Message{{
				MessageId:              aws.String("m-2"),
				ReceiptHandle:          aws.String("rh-2"),
				Body:                   aws.String("{}"),
				MD5OfBody:              aws.String("99914b932bd37a50b983c5e7c90ae93b"),
				MD5OfMessageAttributes: aws.String("d41d8cd98f00b204e9800998ecf8427e"),
				Attributes:             map[string]string{"ApproximateReceiveCount": "3", "SenderId": "AIDAEXAMPLE"},
				MessageAttributes: map[string]types.MessageAttributeValue{
					"partner": {DataType: aws.String("String"), StringValue: aws.String("shop-1")},
					"sig":     {DataType: aws.String("Binary"), BinaryValue: []byte{9}},
				},
			}},
			want: events.SQSEvent{Records: []events.SQSMessage{{
				MessageId:              "m-2",
				ReceiptHandle:          "rh-2",
				Body:                   "{}",
				Md5OfBody:              "99914b932bd37a50b983c5e7c90ae93b",
				Md5OfMessageAttributes: "d41d8cd98f00b204e9800998ecf8427e",
				Attributes:             map[string]string{"ApproximateReceiveCount": "3", "SenderId": "AIDAEXAMPLE"},
				MessageAttributes: map[string]events.SQSMessageAttribute{
					"partner": {DataType: "String", StringValue: aws.String("shop-1"), StringListValues: []string{}, BinaryListValues: [][]byte{}},
					"sig":     {DataType: "Binary", BinaryValue: []byte{9}, StringListValues: []string{}, BinaryListValues: [][]byte{}},
				},
				EventSourceARN: arn,
				EventSource:    "aws:sqs",
				AWSRegion:      "eu-west-1",
			}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ToSQSEvent(tc.msgs, arn, "eu-west-1")
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ToSQSEvent:\ngot  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestFailedMessages(t *testing.T) {
	ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "a"}, {MessageId: "b"}}}
	for _, tc := range []struct {
		name    string
		resp    events.SQSEventResponse
		want    map[string]bool
		wantErr bool
	}{
		{"all succeeded", events.SQSEventResponse{}, map[string]bool{}, false},
		{"one failed", events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "b"}}}, map[string]bool{"b": true}, false},
		{"empty identifier fails the batch", events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{}}}, nil, true},
		{"foreign identifier fails the batch", events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "z"}}}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := failedMessages(tc.resp, ev)
			if (err != nil) != tc.wantErr {
				t.Fatalf("failedMessages: got error %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("failedMessages: got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestARNFromURL(t *testing.T) {
	for _, tc := range []struct {
		url, want string
		wantErr   bool
	}{
		{"http://127.0.0.1:4100/000000000000/ingest", "arn:aws:sqs:us-east-1:000000000000:ingest", false},
		{"https://sqs.us-east-1.amazonaws.com/123456789012/ingest-dlq", "arn:aws:sqs:us-east-1:123456789012:ingest-dlq", false},
		{"http://127.0.0.1:4100/", "", true},
		{"http://127.0.0.1:4100/a/b/c", "", true},
	} {
		got, err := arnFromURL(tc.url, "us-east-1")
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("arnFromURL(%q): got %q, %v; want %q, error %v", tc.url, got, err, tc.want, tc.wantErr)
		}
	}
}
