package loyalty

import (
	"errors"
	"fmt"
)

// Code classifies an error by what the caller should do next. The HTTP and
// queue adapters map codes to status codes and retry decisions in one table
// each; the codes themselves are part of the public API and never change.
type Code string

const (
	CodeInvalid            Code = "invalid_request"        // the input is wrong; fix it, do not retry
	CodeNotFound           Code = "not_found"              // the thing does not exist
	CodeInsufficientPoints Code = "insufficient_points"    // the balance does not cover the cost
	CodeIdempotencyReuse   Code = "idempotency_key_reused" // same key, different request
	CodeConflict           Code = "conflict"               // the state does not allow it (e.g. redemption already used)
	CodeLimitExceeded      Code = "limit_exceeded"         // a cap of the program (per purchase, per member and period) refuses it
	CodeMemberErased       Code = "member_erased"          // the member was erased: their id takes no more changes, replays included
	CodeUnauthorized       Code = "unauthorized"           // no valid identity
	CodeForbidden          Code = "forbidden"              // identity lacks the right
	CodeUnavailable        Code = "unavailable"            // transient: retry later
	CodeInternal           Code = "internal"               // a bug or an unexpected failure

	// Referral enrolments the programme refuses (referral.go).
	CodeSelfReferral     Code = "self_referral"     // the member's own code
	CodeReferralLoop     Code = "referral_loop"     // the code's owner was referred by the member
	CodeAlreadyReferred  Code = "already_referred"  // the member used another code before
	CodeAlreadyPurchased Code = "already_purchased" // codes are for members before their first purchase
)

// Error is the one error type of the engine. Message is safe to show to a
// client; Err carries the internal cause for the logs only.
type Error struct {
	Code    Code
	Message string
	Field   string // the offending input field, when there is one
	Err     error
}

func (e *Error) Error() string {
	msg := string(e.Code) + ": " + e.Message
	if e.Field != "" {
		msg += " (" + e.Field + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a client-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports bad input in field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Transient wraps err as retryable.
func Transient(err error, format string, args ...any) *Error {
	return &Error{Code: CodeUnavailable, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, CodeInternal
// for any other non-nil error and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Retryable reports whether trying the same operation again may succeed.
func Retryable(err error) bool { return ErrorCode(err) == CodeUnavailable }

// ErrorMessage returns the client-safe message of err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != CodeInternal {
		return e.Message
	}
	return "internal error"
}

func asErr(err error, target **Error) bool { return errors.As(err, target) }
