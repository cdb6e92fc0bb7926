package api

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// maxBatchItems is the most requests one batch may carry.
const maxBatchItems = 1000

type batchRequest struct {
	Requests []json.RawMessage `json:"requests"`
}

func (*batchRequest) itemsDecodedSeparately() {}

// handleBatch presigns up to 1000 requests in order. Each item is decoded, decided,
// audited and answered on its own: one bad item fails only itself. A batch of N
// requests takes N tokens from the client's rate limit: the request itself one (a
// client with none left gets 429 for the whole batch), each further item one; an item
// that finds none fails alone with rate_limited.
//
// The answer is {"results": [...]}, one entry per request in order: the presign
// response, or {"error": problem}.
func (s *Server) handleBatch(item *operation[presignRequest, presignResponse]) http.Handler {
	return s.apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		ctx, c := r.Context(), callerFrom(r.Context())
		var req batchRequest
		err := decode(w, r, maxBatchBody, &req)
		if err == nil {
			switch {
			case req.Requests == nil:
				err = requiredErr("requests")
			case len(req.Requests) == 0:
				err = fieldErr("requests", "must hold at least one request")
			case len(req.Requests) > maxBatchItems:
				err = fieldErr("requests", "holds %d requests, above the limit of %d", len(req.Requests), maxBatchItems)
			}
		}
		if err != nil {
			s.audit(ctx, c, item.name, auditEntry{}, err)
			return err
		}
		buf := getBuffer()
		defer putBuffer(buf)
		buf.b = append(buf.b, `{"results":[`...)
		// One request and one audit entry, used by each item in turn.
		var (
			one   presignRequest
			entry auditEntry
		)
		for i, raw := range req.Requests {
			if i > 0 {
				buf.b = append(buf.b, ',')
			}
			// The request's own token paid for the first item; each other item takes one.
			if i > 0 {
				if wait := c.take(); wait > 0 {
					e := rateLimited(c, wait)
					s.audit(ctx, c, item.name, auditEntry{}, e)
					buf.b = appendItemError(buf.b, e)
					continue
				}
			}
			one = presignRequest{}
			if err := decodePresignBytes(raw, &one); err != nil {
				s.audit(ctx, c, item.name, auditEntry{}, err)
				buf.b = appendItemError(buf.b, asError(err))
				continue
			}
			res, err := item.run(s, ctx, c, &one, &entry)
			if err != nil {
				e := asError(err)
				if e.Status() >= 500 && e.Cause != nil {
					s.log.Error("batch item failed", "request_id", requestID(ctx), "item", i, "code", e.Code, "error", e.Cause.Error())
				}
				buf.b = appendItemError(buf.b, e)
				continue
			}
			buf.b = appendPresignResponse(buf.b, &res)
		}
		buf.b = append(buf.b, "]}\n"...)
		writeJSON(w, http.StatusOK, buf.b)
		return nil
	})
}

// appendItemError appends {"error": problem} as encoding/json encodes it.
func appendItemError(b []byte, e *Error) []byte {
	p := e.problem()
	b = append(b, `{"error":{"type":`...)
	b = appendJSONString(b, p.Type)
	b = append(b, `,"title":`...)
	b = appendJSONString(b, p.Title)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(p.Status), 10)
	b = append(b, `,"detail":`...)
	b = appendJSONString(b, p.Detail)
	b = append(b, `,"code":`...)
	b = appendJSONString(b, p.Code)
	if p.Reason != "" {
		b = append(b, `,"reason":`...)
		b = appendJSONString(b, p.Reason)
	}
	return append(b, "}}"...)
}
