package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/presignd/presignd/internal/policy"
)

// Problem codes, as the API reports them.
const (
	CodeInvalidRequest         = "invalid_request"
	CodeInvalidBucket          = "invalid_bucket"
	CodeInvalidKey             = "invalid_key"
	CodeInvalidMethod          = "invalid_method"
	CodeInvalidExpiresIn       = "invalid_expires_in"
	CodeUnauthenticated        = "unauthenticated"
	CodeForbidden              = "forbidden"
	CodeNotFound               = "not_found"
	CodeMethodNotAllowed       = "method_not_allowed"
	CodePayloadTooLarge        = "payload_too_large"
	CodeTTLNotSatisfiable      = "ttl_not_satisfiable"
	CodeRateLimited            = "rate_limited"
	CodeCredentialsUnavailable = "credentials_unavailable"
	CodeInternal               = "internal"
	CodeUploadNotFound         = "upload_not_found"
	CodeS3Error                = "s3_error"
	CodeS3Unavailable          = "s3_unavailable"
	CodeS3Timeout              = "s3_timeout"
	CodeOverloaded             = "overloaded"
	CodeIdentityUnavailable    = "identity_unavailable"
	CodeMultipartNotOffered    = "multipart_not_offered"
)

// problems is the one table of problem codes: each code's HTTP status and title.
var problems = map[string]struct {
	status int
	title  string
}{
	CodeInvalidRequest:         {http.StatusBadRequest, "Invalid request"},
	CodeInvalidBucket:          {http.StatusBadRequest, "Invalid bucket"},
	CodeInvalidKey:             {http.StatusBadRequest, "Invalid key"},
	CodeInvalidMethod:          {http.StatusBadRequest, "Invalid method"},
	CodeInvalidExpiresIn:       {http.StatusBadRequest, "Invalid expires_in"},
	CodeUnauthenticated:        {http.StatusUnauthorized, "Unauthenticated"},
	CodeForbidden:              {http.StatusForbidden, "Forbidden"},
	CodeNotFound:               {http.StatusNotFound, "Not found"},
	CodeMethodNotAllowed:       {http.StatusMethodNotAllowed, "Method not allowed"},
	CodePayloadTooLarge:        {http.StatusRequestEntityTooLarge, "Payload too large"},
	CodeTTLNotSatisfiable:      {http.StatusUnprocessableEntity, "TTL not satisfiable"},
	CodeRateLimited:            {http.StatusTooManyRequests, "Rate limited"},
	CodeCredentialsUnavailable: {http.StatusServiceUnavailable, "Credentials unavailable"},
	CodeInternal:               {http.StatusInternalServerError, "Internal error"},
	CodeUploadNotFound:         {http.StatusNotFound, "Upload not found"},
	CodeS3Error:                {http.StatusBadGateway, "S3 error"},
	CodeS3Unavailable:          {http.StatusServiceUnavailable, "S3 unavailable"},
	CodeS3Timeout:              {http.StatusGatewayTimeout, "S3 timeout"},
	CodeOverloaded:             {http.StatusServiceUnavailable, "Overloaded"},
	CodeIdentityUnavailable:    {http.StatusServiceUnavailable, "Identity provider unavailable"},
	CodeMultipartNotOffered:    {http.StatusUnprocessableEntity, "Multipart not offered"},
}

// Error is an API error: what the client is told. The cause, when set, is logged and
// never sent.
type Error struct {
	Code       string
	Detail     string
	Reason     string // forbidden: the policy's reason; unauthenticated: the auth failure reason
	RetryAfter int    // seconds: rate_limited, overloaded, identity_unavailable, s3_unavailable
	Cause      error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Detail, e.Cause)
	}
	return e.Code + ": " + e.Detail
}

func (e *Error) Unwrap() error { return e.Cause }

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Status is the HTTP status of the error's code (500 for a code not in the table).
func (e *Error) Status() int {
	if p, ok := problems[e.Code]; ok {
		return p.status
	}
	return http.StatusInternalServerError
}

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Reason string `json:"reason,omitempty"`
	// Message repeats Detail on the Uppy routes (/v1/uppy/), where Uppy shows a
	// 4xx answer's message to the user.
	Message string `json:"message,omitempty"`
}

// asError turns any error into an API error. Errors it does not know become a
// generic 500; their cause is kept for the log only.
func asError(err error) *Error {
	var (
		ae *Error
		ie *policy.InvalidError
		de *policy.DeniedError
		te *policy.TTLError
		ce *policy.CredentialsError
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &ie):
		code := map[policy.Field]string{
			policy.FieldBucket:    CodeInvalidBucket,
			policy.FieldKey:       CodeInvalidKey,
			policy.FieldMethod:    CodeInvalidMethod,
			policy.FieldExpiresIn: CodeInvalidExpiresIn,
		}[ie.Field]
		if code == "" {
			code = CodeInvalidRequest
		}
		return &Error{Code: code, Detail: ie.Detail}
	case errors.As(err, &de):
		return &Error{Code: CodeForbidden, Reason: string(de.Reason), Detail: de.Detail}
	case errors.As(err, &te):
		return &Error{Code: CodeTTLNotSatisfiable,
			Detail: fmt.Sprintf("strict_ttl is set and the lifetime would be capped by %s to %d seconds", te.CappedBy, te.Effective)}
	case errors.As(err, &ce):
		return &Error{Code: CodeCredentialsUnavailable,
			Detail: "the signing credentials expire too soon to sign a URL; try again shortly", Cause: err}
	default:
		return &Error{Code: CodeInternal, Detail: "an internal error occurred", Cause: err}
	}
}

// problem builds the document for an API error.
func (e *Error) problem() Problem {
	status, title := e.Status(), problems[e.Code].title
	if title == "" {
		title = http.StatusText(status)
	}
	return Problem{
		Type:   "urn:presignd:problem:" + e.Code,
		Title:  title,
		Status: status,
		Detail: e.Detail,
		Code:   e.Code,
		Reason: e.Reason,
	}
}

// writeError is the one place an error becomes a response.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e := asError(err)
	status := e.Status()
	if status >= 500 && e.Cause != nil {
		log.Error("request failed", "request_id", requestID(r.Context()), "code", e.Code, "error", e.Cause.Error())
	}
	h := w.Header()
	switch e.Code {
	case CodeUnauthenticated:
		h.Set("WWW-Authenticate", `Bearer realm="presignd"`)
	case CodeRateLimited, CodeOverloaded, CodeIdentityUnavailable, CodeS3Unavailable:
		h.Set("Retry-After", strconv.Itoa(max(e.RetryAfter, 1)))
	}
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // as every other answer
	p := e.problem()
	if strings.HasPrefix(r.URL.Path, uppyPrefix) {
		p.Message = p.Detail
	}
	_ = enc.Encode(p)
}
