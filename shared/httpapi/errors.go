package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// HTTP-only error codes, for what goes wrong before the domain is reached.
const (
	CodeRouteNotFound    loyalty.Code = "route_not_found"
	CodeMethodNotAllowed loyalty.Code = "method_not_allowed"
	CodePayloadTooLarge  loyalty.Code = "payload_too_large"
	CodeUnsupportedMedia loyalty.Code = "unsupported_media_type"
	CodeMissingIdemKey   loyalty.Code = "idempotency_key_required"
	CodeMalformedJSON    loyalty.Code = "malformed_json"
)

// statusOf is the one table from error code to HTTP status.
var statusOf = map[loyalty.Code]int{
	loyalty.CodeInvalid:            http.StatusBadRequest,
	CodeMalformedJSON:              http.StatusBadRequest,
	CodeMissingIdemKey:             http.StatusBadRequest,
	loyalty.CodeUnauthorized:       http.StatusUnauthorized,
	loyalty.CodeForbidden:          http.StatusForbidden,
	loyalty.CodeNotFound:           http.StatusNotFound,
	loyalty.CodeMemberErased:       http.StatusGone,
	CodeRouteNotFound:              http.StatusNotFound,
	CodeMethodNotAllowed:           http.StatusMethodNotAllowed,
	loyalty.CodeConflict:           http.StatusConflict,
	loyalty.CodeIdempotencyReuse:   http.StatusConflict,
	loyalty.CodeReferralLoop:       http.StatusConflict,
	loyalty.CodeAlreadyReferred:    http.StatusConflict,
	loyalty.CodeAlreadyPurchased:   http.StatusConflict,
	loyalty.CodeSelfReferral:       http.StatusUnprocessableEntity,
	CodePayloadTooLarge:            http.StatusRequestEntityTooLarge,
	CodeUnsupportedMedia:           http.StatusUnsupportedMediaType,
	loyalty.CodeInsufficientPoints: http.StatusUnprocessableEntity,
	loyalty.CodeLimitExceeded:      http.StatusUnprocessableEntity,
	loyalty.CodeUnavailable:        http.StatusServiceUnavailable,
	loyalty.CodeInternal:           http.StatusInternalServerError,
}

// ErrorBody is the one JSON error shape of both APIs.
type ErrorBody struct {
	Code      loyalty.Code `json:"code"`
	Message   string       `json:"message"`
	Field     string       `json:"field,omitempty"`
	RequestID string       `json:"requestId"`
}

// errorResponse renders err; an internal error shows only "internal error"
// and the request id, and the log gets the rest.
func errorResponse(ctx context.Context, log *slog.Logger, requestID string, err error) events.APIGatewayV2HTTPResponse {
	code := loyalty.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		code, status = loyalty.CodeInternal, http.StatusInternalServerError
	}
	body := ErrorBody{Code: code, Message: loyalty.ErrorMessage(err), RequestID: requestID}
	var le *loyalty.Error
	if asError(err, &le) && code != loyalty.CodeInternal {
		body.Field = le.Field
	}
	if code == loyalty.CodeInternal {
		body.Message = "internal error"
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	log.Log(ctx, level, "request failed", "code", code, "status", status, "error", err.Error())
	resp := jsonResponse(status, body)
	resp.Headers["X-Request-Id"] = requestID
	if code == loyalty.CodeUnavailable {
		resp.Headers["Retry-After"] = "1"
	}
	return resp
}

func jsonResponse(status int, v any) events.APIGatewayV2HTTPResponse {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":"internal","message":"internal error"}`)
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Body: string(b),
		Headers: map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"}}
}
