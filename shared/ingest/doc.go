// Package ingest is the SQS adapter of the partner queue: the handler of the
// ingest Lambda function. For each message of a batch it decodes the body,
// validates it against the partner contract (events/partner), maps it to a
// domain operation (loyalty.Service.Accrue or Refund) and decides, from the
// outcome, whether SQS must deliver the message again:
//
//	outcome                                         response   recorded
//	applied                                         success    -
//	duplicate (same partner and event id)           success    -
//	transient error (throttling, timeout)           failed     -
//	refund whose purchase is not there yet, while   failed     -
//	  ApproximateReceiveCount < RefundWaitReceives
//	the same once it waited that long               success    rejection purchase_not_found
//	bad JSON, schema violation, unsupported type    success    rejection with the reason
//	  or version, unknown partner, invalid event,
//	  event id reused for another event, a body
//	  naming another partner than the queue's
//	  (partner_mismatch), a queue of no partner
//	an event of an erased member (a replay of one   success    rejection member_erased,
//	  of their events too)                                     without body or ids
//	a member reference that names nobody (members.go): success  rejection card_unknown,
//	  an unknown or lost card, a used, expired,                card_blocked, code_used,
//	  forged or unknown code, too many unknown                 code_expired, code_forged,
//	  short codes, a member id from a partner                  code_unknown, code_rate_limited,
//	  not allowed them                                         member_ref_not_allowed
//	unexpected error (a bug, a misconfiguration)    failed     - (the DLQ gets it after
//	                                                           maxReceiveCount receives)
//	recording a rejection failed                    failed     -
//
// The response (events.SQSEventResponse) names only the failed messages, for
// an event source mapping with ReportBatchItemFailures. A message is never
// acknowledged before its effect or its rejection is stored, so nothing is
// dropped silently; ops list and replay rejections with package replay.
//
// Members: a version 2 message names its member by card number, rotating
// code or member id (loyalty.Service.ResolveMember, before the operation);
// a purchase on a printed card its owner claimed meanwhile goes to the new
// owner under the same key (loyalty.Service.Reroute).
//
// Partners: only partners listed in the program file ("partners") may send
// events, each to a queue of its own (package partnerqueue names it; only
// the partner's principals may send to it). The sender is the owner of the
// queue in the record's eventSourceARN, never the body: an event whose
// partnerId is not the sender's is refused as partner_mismatch and credits
// nothing, and the genuine partner's event of that id stays possible. RefundWaitReceives (default 4, env REFUND_WAIT_RECEIVES in the
// function) must stay below the queue's maxReceiveCount, or waiting refunds
// reach the DLQ before they are parked as rejections.
//
// Logs are slog JSON lines with the Lambda request id; metrics are CloudWatch
// embedded metric format (EMF) lines, one per batch, in namespace Loyalty with
// the dimension Stage: MessagesProcessed, MessagesDuplicate, MessagesRetried,
// MessagesRejected, PointsAccrued, PointsClawedBack.
//
// It imports the domain, the partner contract and aws-lambda-go; never the
// DynamoDB store or another adapter (rejections are stored through the
// RejectionRecorder port).
package ingest
