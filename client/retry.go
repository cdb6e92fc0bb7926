package client

import (
	"context"
	"crypto/tls"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry says when and how a request is sent again. Each attempt sends the same body.
//
// What is retried:
//   - 429 rate_limited and 503 (overloaded, credentials_unavailable, s3_unavailable: S3
//     asked presignd to slow down and did nothing), after the answer's
//     Retry-After (whole seconds or an HTTP date), else after an exponential backoff with
//     jitter: about BaseDelay, 2×BaseDelay, 4×BaseDelay…, never above MaxDelay. A
//     Retry-After longer than MaxDelay, or than the time left before the context's deadline,
//     ends the retries at once and the *Problem, with its RetryAfter, is returned.
//   - A connection that could not be made (refused, no route, name not found): presignd
//     never saw the request, so every call is retried.
//   - A connection that failed after the request may have reached presignd (reset, timeout,
//     an answer cut short): every call but [Client.CreateMultipart] is retried. Signing
//     calls change nothing. Complete and abort name one upload, and S3 treats a repeat as a
//     repeat: at worst, a repeat of a call that had already succeeded answers 404
//     upload_not_found. A repeated create would start a second S3 upload and leave the
//     first one behind, so it is not repeated.
//
// Nothing else is retried: no other 4xx or 5xx answer (502 s3_error and 504 s3_timeout
// are not: S3 may have done the call), no certificate error, nothing after the context
// is done.
type Retry struct {
	// Attempts is the most times a request is sent, the first included; 1 or less turns
	// retries off.
	Attempts int
	// BaseDelay is the backoff before the second attempt when the answer named no wait.
	BaseDelay time.Duration
	// MaxDelay caps each wait.
	MaxDelay time.Duration
}

// DefaultRetry is the policy of a client made without [WithRetry].
var DefaultRetry = Retry{Attempts: 3, BaseDelay: 250 * time.Millisecond, MaxDelay: 10 * time.Second}

// retryable reports whether err, the outcome of one attempt, may be followed by another.
func retryable(err error, repeatable bool) bool {
	var p *Problem
	if errors.As(err, &p) {
		return p.Status == http.StatusTooManyRequests || p.Status == http.StatusServiceUnavailable
	}
	var ce *connError
	if !errors.As(err, &ce) {
		return false
	}
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return false
	}
	return repeatable || (!ce.answered && notSent(err))
}

// notSent reports whether a connection error happened before the request could be written:
// the connection was never made.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// wait returns how long to wait after the attempt-th attempt failed with err, and false
// when the wait asked for is too long to make.
func (r Retry) wait(attempt int, err error) (time.Duration, bool) {
	var p *Problem
	if errors.As(err, &p) && p.RetryAfter > 0 {
		if r.MaxDelay > 0 && p.RetryAfter > r.MaxDelay {
			return 0, false
		}
		return p.RetryAfter, true
	}
	d := r.BaseDelay
	for i := 1; i < attempt && (r.MaxDelay <= 0 || d < r.MaxDelay); i++ {
		d *= 2
	}
	if r.MaxDelay > 0 {
		d = min(d, r.MaxDelay)
	}
	if d <= 0 {
		return 0, true
	}
	// Half fixed, half random: callers refused together do not come back together.
	return d/2 + rand.N(d/2+1), true
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
