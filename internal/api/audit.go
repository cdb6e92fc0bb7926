package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/presignd/presignd/internal/auditlog"
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
	p := principalFrom(ctx)
	var buf [15]auditlog.Field // on the stack: the line's fields, in order
	fields := append(buf[:0],
		auditlog.String("request_id", requestID(ctx)),
		auditlog.String("client", name),
		auditlog.String("principal", string(p.Kind)),
		auditlog.String("subject", p.Subject),
		auditlog.String("operation", op),
		auditlog.String("bucket", e.bucket),
		auditlog.String("key", e.key),
		auditlog.String("method", e.method),
		auditlog.Int64("requested_ttl", e.requestedTTL),
		auditlog.Int64("expires_in", e.expiresIn),
		auditlog.String("capped_by", string(e.cappedBy)),
		auditlog.String("outcome", outcome),
		auditlog.String("reason", reason),
	)
	if s.tracer != nil {
		fields = s.appendTraceFields(ctx, fields)
	}
	// The line goes to the handler directly: Logger.LogAttrs would also walk the stack
	// for a source position, which the JSON lines do not carry. serve's handler takes
	// the fields as they are; any other gets the same record.
	if ah, ok := h.(*auditlog.Handler); ok {
		_ = ah.HandleFields(ctx, time.Now(), slog.LevelInfo, "presign", fields)
		return
	}
	_ = h.Handle(ctx, auditlog.Record(time.Now(), slog.LevelInfo, "presign", fields))
}
