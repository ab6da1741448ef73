package runtimeapi

import (
	"encoding/json"
	"errors"

	"github.com/aws/aws-lambda-go/lambda/messages"
)

// Error types the host reports itself, named as Lambda names them.
const (
	// ErrorTypeTimeout: the invocation ran past FunctionConfig.Timeout; its
	// process was killed and replaced.
	ErrorTypeTimeout = "Sandbox.Timedout"
	// ErrorTypeExit: the process exited (crash, os.Exit, panic) before answering.
	ErrorTypeExit = "Runtime.ExitError"
	// ErrorTypeResponseTooLarge: the response exceeded Lambda's 6 MiB limit.
	ErrorTypeResponseTooLarge = "Function.ResponseSizeTooLarge"
	// errorTypeUnhandled is what Lambda calls a function error without a type.
	errorTypeUnhandled = "Unhandled"
)

// ErrStopped is returned by Invoke once Stop was called.
var ErrStopped = errors.New("runtimeapi: function stopped")

// InvokeError is an invocation that failed: the error the function posted to
// /error (or sent in the trailers of /response), or one the host reports for a
// timeout, a crash or an oversized response.
type InvokeError struct {
	// Type is errorType, e.g. "errorString" for errors.New, or one of ErrorType*.
	Type string
	// Message is errorMessage.
	Message string
	// Body is the error document as Lambda returns it:
	// {"errorMessage":...,"errorType":...[,"stackTrace":[...]]}.
	Body []byte
}

func (e *InvokeError) Error() string {
	return "function error " + e.Type + ": " + e.Message
}

// hostError builds an InvokeError for a failure the host observed itself.
func hostError(errorType, message string) *InvokeError {
	body, _ := json.Marshal(messages.InvokeResponse_Error{Type: errorType, Message: message})
	return &InvokeError{Type: errorType, Message: message, Body: body}
}

// runtimeError reads an error document posted by a runtime. The header type
// wins only when the body has none, as the body is what Lambda returns.
func runtimeError(headerType string, body []byte) *InvokeError {
	var doc messages.InvokeResponse_Error
	if err := json.Unmarshal(body, &doc); err != nil {
		doc.Message = string(body)
	}
	e := &InvokeError{Type: doc.Type, Message: doc.Message, Body: body}
	if e.Type == "" {
		e.Type = headerType
	}
	if e.Type == "" {
		e.Type = errorTypeUnhandled
	}
	return e
}
