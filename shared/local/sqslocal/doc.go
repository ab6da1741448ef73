// Package sqslocal is the local stand-in for Amazon SQS and for Lambda's SQS
// event source mapping. Start serves goaws (github.com/Admiral-Piett/goaws)
// in-process on 127.0.0.1; Poll feeds a queue to a Handler the way Lambda does
// with ReportBatchItemFailures, building events with ToSQSEvent. Local runs,
// end-to-end tests and benchmarks use it; deployed functions never do.
//
// It imports goaws (and logrus, goaws' logger), the AWS SDK and aws-lambda-go
// only. It must not import the domain, the store or any other adapter of this
// repository, and only local tooling and tests may import it.
//
// # One server per process
//
// goaws keeps its queues in package variables, so Start refuses a second
// server (ErrAlreadyRunning) until Stop, which empties the queue set. Tests
// share one server, for example from TestMain, and isolate themselves by
// creating queues named with NewQueueName.
//
// # What goaws v0.5.4 gets right
//
// SendMessage(Batch), ReceiveMessage, DeleteMessage(Batch),
// ChangeMessageVisibility, the visibility timeout of a queue and of a single
// receive, a RedrivePolicy that moves a message to its dead-letter queue after
// maxReceiveCount receives without a delete, and long polling.
//
// # What goaws gets wrong, and what this package does about it
//
// A gate between our http.Server and goaws' router fixes these:
//
//   - Most goaws handlers read its queue map and queue settings without its
//     lock. The gate runs CreateQueue, SetQueueAttributes, DeleteQueue,
//     PurgeQueue and SNS calls alone and data-plane calls side by side.
//   - goaws waits inside the request, looking every 100 ms; under the gate's
//     lock that would block CreateQueue for the whole wait. The gate waits
//     itself between single looks: a new message ends the wait at once, an
//     expired visibility timeout within 25 ms.
//   - goaws' binary makes in-flight messages visible again once a second, so
//     a 1 s visibility timeout lasts up to 2 s. Start sweeps every 50 ms.
//     Visibility timeouts remain whole seconds, as in SQS
//     (CreateQueueWithDLQ rounds up).
//   - ApproximateReceiveCount is always 1; SentTimestamp and
//     ApproximateFirstReceiveTimestamp are the time of the current receive.
//     The gate reports the true count, the send time and the first receive.
//   - All system and message attributes come back whether asked for or not;
//     SQS returns only those named in MessageSystemAttributeNames (or
//     AttributeNames) and MessageAttributeNames ("All", ".*", "prefix.*",
//     exact names). The gate filters them likewise.
//   - MD5OfMessageAttributes is wrong for the data type Number and custom
//     types; the gate recomputes it in SendMessage(Batch) and ReceiveMessage.
//   - The JSON answer of SendMessageBatch uses the query protocol's element
//     names, so SDKs see no Successful entries; the gate renames them.
//   - ApproximateNumberOfMessages counts in-flight messages and delayed
//     messages count as not visible; the gate recounts, and reports
//     ApproximateNumberOfMessagesDelayed.
//   - Errors carry query-protocol codes in a body SDKs cannot map to types,
//     and a missing queue is sometimes InvalidParameterValue. The gate
//     answers with the JSON protocol's error types (QueueDoesNotExist,
//     ReceiptHandleIsInvalid, MessageNotInflight, the batch errors), so
//     callers can use errors.As with service/sqs/types.
//   - With a region configured goaws puts queue URLs on the host
//     "<region>.127.0.0.1". Queue URLs here are on 127.0.0.1 and ARNs are
//     arn:aws:sqs:us-east-1:000000000000:NAME.
//   - goaws logs every message body at info level; it is silent here unless
//     Start gets WithGoawsLog.
//
// # Still different from SQS
//
//   - The answers are fixed for the JSON protocol that current SDKs use.
//     Query-protocol clients, such as the AWS CLI 2.9, get goaws' answers;
//     only their ApproximateReceiveCount is fixed.
//   - A message moves to the DLQ when the visibility timeout of its last
//     allowed receive ends, not at the next receive attempt; consumers
//     cannot tell the difference.
//   - A receipt handle stops working when the visibility timeout of its
//     receive ends: DeleteMessage reports ReceiptHandleIsInvalid and
//     DeleteMessageBatch a failed entry, where SQS is more lenient.
//   - No retention period, no FIFO semantics worth testing against, no
//     permission checks, SenderId is the account id, MaxNumberOfMessages is
//     not capped at 10 and WaitTimeSeconds above 20 is treated as 20.
//   - CreateQueue of an existing name returns the existing queue even when
//     the attributes differ (SQS reports QueueNameExists); use NewQueueName.
package sqslocal
