package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/presignd/presignd/internal/policy"
)

// operation is one kind of decision the API makes, and the one path every deciding
// /v1 route takes: decode the request, do the operation (decide, then sign or call
// S3), write the audit line and count it whatever the outcome, then write the answer.
// The caller was authenticated and rate limited by the middleware before. A new route
// is a decoder, a do and a writer.
type operation[Req, Res any] struct {
	// name is the operation in metrics and the audit log.
	name string
	// method is the audit line's method until do knows better.
	method string
	decode func(w http.ResponseWriter, r *http.Request, req *Req) error
	// do decides and acts, filling in the audit entry as it learns.
	do    func(ctx context.Context, c *caller, req *Req, e *auditEntry) (Res, error)
	write func(w http.ResponseWriter, res Res)
	// timed operations are observed in presignd_presign_duration_seconds: they decide
	// and sign without calling S3.
	timed bool
}

// run does one decision for the caller and audits and counts it; entry is where the
// decision's audit entry is kept while it is made.
func (op *operation[Req, Res]) run(s *Server, ctx context.Context, c *caller, req *Req, entry *auditEntry) (Res, error) {
	*entry = auditEntry{method: op.method}
	start := time.Now()
	res, err := op.do(ctx, c, req, entry)
	if op.timed {
		s.metrics.duration.Observe(time.Since(start).Seconds())
	}
	s.audit(ctx, c, op.name, *entry, err)
	return res, err
}

// call is what one request to an operation keeps on the heap, in one allocation: the
// request, which the decoder fills in, and the audit entry.
type call[Req any] struct {
	req   Req
	entry auditEntry
}

// handler serves the operation; a request that does not decode is audited too.
func (op *operation[Req, Res]) handler(s *Server) http.Handler {
	return s.apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		ctx, c := r.Context(), callerFrom(r.Context())
		in := new(call[Req])
		if err := op.decode(w, r, &in.req); err != nil {
			s.audit(ctx, c, op.name, auditEntry{method: op.method}, err)
			return err
		}
		res, err := op.run(s, ctx, c, &in.req, &in.entry)
		if err != nil {
			return err
		}
		op.write(w, res)
		return nil
	})
}

// presignOperation is POST /v1/presign, and each item of a batch (named
// presign_batch there).
func (s *Server) presignOperation(name string) *operation[presignRequest, presignResponse] {
	return &operation[presignRequest, presignResponse]{
		name:   name,
		decode: flatDecode(presignField),
		do: func(ctx context.Context, c *caller, req *presignRequest, e *auditEntry) (presignResponse, error) {
			e.bucket, e.key, e.method = req.Bucket.Value, req.Key.Value, strings.ToUpper(req.Method)
			return s.decideAndSign(ctx, c, req, e)
		},
		write: func(w http.ResponseWriter, res presignResponse) {
			buf := getBuffer()
			defer putBuffer(buf)
			buf.b = append(appendPresignResponse(buf.b, &res), '\n')
			writeJSON(w, http.StatusOK, buf.b)
		},
		timed: true,
	}
}

// readFlat makes op read the common shape of its body with the direct parser
// (flatDecode), field saying where each value goes.
func (op *operation[Req, Res]) readFlat(field func(name string, req *Req) flatField) *operation[Req, Res] {
	op.decode = flatDecode(field)
	return op
}

// uploadOperation is a browser upload operation (POST policy, multipart) with a JSON
// request and answer; timed when it signs without calling S3.
func uploadOperation[Req, Res any](name string, timed bool, do func(ctx context.Context, c *caller, req *Req, e *auditEntry) (*Res, error)) *operation[Req, *Res] {
	return &operation[Req, *Res]{
		name:   name,
		method: policy.MethodPut,
		decode: func(w http.ResponseWriter, r *http.Request, req *Req) error { return decode(w, r, maxBody, req) },
		do:     do,
		write:  func(w http.ResponseWriter, res *Res) { encode(w, http.StatusOK, res) },
		timed:  timed,
	}
}
