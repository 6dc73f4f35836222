package cctoken

// #include <stdlib.h>
// #include "cctoken.h"
import "C"

import (
	"errors"
	"time"
)

// Status is the library's status code (CCT_STATUS_* in cctoken.h). Values are grouped in
// ranges: 1–99 API misuse, 100–199 configuration, 200–299 transport, 300–399 the token
// endpoint's answer.
type Status uint32

const (
	StatusOK              Status = C.CCT_STATUS_OK
	StatusNullArgument    Status = C.CCT_STATUS_NULL_ARGUMENT
	StatusInvalidUTF8     Status = C.CCT_STATUS_INVALID_UTF8
	StatusInvalidArgument Status = C.CCT_STATUS_INVALID_ARGUMENT
	StatusPanic           Status = C.CCT_STATUS_PANIC
	StatusConfig          Status = C.CCT_STATUS_CONFIG
	StatusConnect         Status = C.CCT_STATUS_CONNECT
	StatusTimeout         Status = C.CCT_STATUS_TIMEOUT
	StatusTLS             Status = C.CCT_STATUS_TLS
	StatusIO              Status = C.CCT_STATUS_IO
	StatusHTTP            Status = C.CCT_STATUS_HTTP
	StatusOAuth           Status = C.CCT_STATUS_OAUTH
	StatusInvalidResponse Status = C.CCT_STATUS_INVALID_RESPONSE
)

// String describes the status, in the library's words.
func (s Status) String() string {
	return C.GoString(C.cct_status_str(C.cct_status(s))) // static: not freed
}

// Sentinels for errors.Is. A *Error matches the sentinel of its status, ErrTransport for any
// transport status, and the sentinel of its OAuth error code.
var (
	// ErrClosed is returned by calls on a closed Client.
	ErrClosed = errors.New("cctoken: client is closed")

	ErrInvalidArgument = errors.New("cctoken: invalid argument")
	ErrPanic           = errors.New("cctoken: internal error")
	ErrConfig          = errors.New("cctoken: invalid configuration")
	ErrTransport       = errors.New("cctoken: transport error") // any of the four below
	ErrConnect         = errors.New("cctoken: connect error")
	ErrTimeout         = errors.New("cctoken: timeout")
	ErrTLS             = errors.New("cctoken: TLS error")
	ErrIO              = errors.New("cctoken: I/O error")
	ErrHTTP            = errors.New("cctoken: HTTP error status")
	ErrOAuth           = errors.New("cctoken: OAuth error") // any OAuth error code
	ErrInvalidResponse = errors.New("cctoken: invalid token response")

	// OAuth error codes: RFC 6749 §5.2, RFC 8707 (invalid_target), RFC 9449 (DPoP).
	ErrInvalidRequest         = errors.New("cctoken: invalid_request")
	ErrInvalidClient          = errors.New("cctoken: invalid_client")
	ErrInvalidGrant           = errors.New("cctoken: invalid_grant")
	ErrUnauthorizedClient     = errors.New("cctoken: unauthorized_client")
	ErrUnsupportedGrantType   = errors.New("cctoken: unsupported_grant_type")
	ErrInvalidScope           = errors.New("cctoken: invalid_scope")
	ErrInvalidTarget          = errors.New("cctoken: invalid_target")
	ErrServerError            = errors.New("cctoken: server_error")
	ErrTemporarilyUnavailable = errors.New("cctoken: temporarily_unavailable")
	ErrInvalidDPoPProof       = errors.New("cctoken: invalid_dpop_proof")
	ErrUseDPoPNonce           = errors.New("cctoken: use_dpop_nonce")
)

var statusSentinels = map[Status]error{
	StatusNullArgument:    ErrInvalidArgument,
	StatusInvalidUTF8:     ErrInvalidArgument,
	StatusInvalidArgument: ErrInvalidArgument,
	StatusPanic:           ErrPanic,
	StatusConfig:          ErrConfig,
	StatusConnect:         ErrConnect,
	StatusTimeout:         ErrTimeout,
	StatusTLS:             ErrTLS,
	StatusIO:              ErrIO,
	StatusHTTP:            ErrHTTP,
	StatusOAuth:           ErrOAuth,
	StatusInvalidResponse: ErrInvalidResponse,
}

var oauthSentinels = map[string]error{
	"invalid_request":         ErrInvalidRequest,
	"invalid_client":          ErrInvalidClient,
	"invalid_grant":           ErrInvalidGrant,
	"unauthorized_client":     ErrUnauthorizedClient,
	"unsupported_grant_type":  ErrUnsupportedGrantType,
	"invalid_scope":           ErrInvalidScope,
	"invalid_target":          ErrInvalidTarget,
	"server_error":            ErrServerError,
	"temporarily_unavailable": ErrTemporarilyUnavailable,
	"invalid_dpop_proof":      ErrInvalidDPoPProof,
	"use_dpop_nonce":          ErrUseDPoPNonce,
}

// Error is a failure reported by the library. Its message never contains the client secret
// or an access token (server text is redacted by the core before it gets here).
type Error struct {
	Status      Status
	Message     string        // one line, safe to log
	HTTPStatus  int           // the token endpoint's HTTP status; 0 without an HTTP answer
	OAuthError  string        // RFC 6749 §5.2 "error", e.g. "invalid_client"; "" otherwise
	Description string        // "error_description" (redacted)
	URI         string        // "error_uri"
	Retryable   bool          // transport failures, 408, 425, 429, 5xx
	RetryAfter  time.Duration // the server's Retry-After; 0 when it sent none

	cause error // the context error when a context deadline cut the call short
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "cctoken: " + e.Status.String()
	}
	return "cctoken: " + e.Message
}

// Is matches the sentinels listed with ErrClosed.
func (e *Error) Is(target error) bool {
	switch {
	case target == nil:
		return false
	case target == statusSentinels[e.Status]:
		return true
	case target == ErrTransport:
		return e.Status >= 200 && e.Status < 300
	case e.OAuthError != "":
		return target == oauthSentinels[e.OAuthError]
	}
	return false
}

// Unwrap gives the context error (context.DeadlineExceeded) when TokenContext's deadline ended
// the call, so errors.Is works for both ErrTimeout and the context error.
func (e *Error) Unwrap() error { return e.cause }

// errorFrom converts (and frees) the error a C call returned with status st.
func errorFrom(st C.cct_status, cerr *C.cct_error) error {
	if cerr == nil {
		return &Error{Status: Status(st)}
	}
	defer C.cct_error_free(cerr)
	e := &Error{
		Status:      Status(C.cct_error_status(cerr)),
		Message:     C.GoString(C.cct_error_message(cerr)),
		HTTPStatus:  int(C.cct_error_http_status(cerr)),
		OAuthError:  C.GoString(C.cct_error_oauth_error(cerr)),
		Description: C.GoString(C.cct_error_oauth_description(cerr)),
		URI:         C.GoString(C.cct_error_oauth_uri(cerr)),
		Retryable:   bool(C.cct_error_retryable(cerr)),
	}
	if ms := int64(C.cct_error_retry_after_ms(cerr)); ms > 0 {
		e.RetryAfter = time.Duration(ms) * time.Millisecond
	}
	return e
}

// configError reports a Config field the binding refuses before the library sees it. The
// message names the field, never its value.
func configError(field, reason string) error {
	return &Error{Status: StatusConfig, Message: "invalid configuration: " + field + ": " + reason}
}
