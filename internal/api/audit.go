package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/presignd/presignd/internal/policy"
)

// auditEntry is what one decision was about.
type auditEntry struct {
	bucket, key, method string
	requestedTTL        int64
	expiresIn           int64
	cappedBy            policy.Cap
}

// audit writes the one audit line of a decision and counts it. It never logs the URL,
// the signature, the credentials, the token or its hash.
func (s *Server) audit(ctx context.Context, c *caller, op string, e auditEntry, err error) {
	outcome, reason := outcomeIssued, ""
	if err != nil {
		ae := asError(err)
		reason = ae.Reason
		switch status := ae.Status(); {
		case status == http.StatusForbidden || status == http.StatusUnprocessableEntity:
			outcome = outcomeDenied
			if reason == "" {
				reason = ae.Code
			}
		case status == http.StatusTooManyRequests:
			outcome = outcomeRateLimited
		case status < 500:
			outcome = outcomeInvalid
			reason = ae.Code
		default:
			outcome = outcomeError
			reason = ae.Code
		}
	}
	name := ""
	if c != nil {
		name = c.name
	}
	s.metrics.presignRequests(c, op, outcome).Inc()
	h := s.log.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	// The record goes to the handler directly: Logger.LogAttrs would also walk the
	// stack for a source position, which the JSON lines do not carry, on every request.
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "presign", 0)
	p := principalFrom(ctx)
	r.AddAttrs(
		slog.String("request_id", requestID(ctx)),
		slog.String("client", name),
		slog.String("principal", string(p.Kind)),
		slog.String("subject", p.Subject),
		slog.String("operation", op),
		slog.String("bucket", e.bucket),
		slog.String("key", e.key),
		slog.String("method", e.method),
		slog.Int64("requested_ttl", e.requestedTTL),
		slog.Int64("expires_in", e.expiresIn),
		slog.String("capped_by", string(e.cappedBy)),
		slog.String("outcome", outcome),
		slog.String("reason", reason),
	)
	if s.tracer != nil {
		r.AddAttrs(s.traceAttrs(ctx)...)
	}
	_ = h.Handle(ctx, r)
}
