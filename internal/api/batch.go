package api

import (
	"encoding/json"
	"net/http"
)

// maxBatchItems is the most requests one batch may carry.
const maxBatchItems = 1000

type batchRequest struct {
	Requests []json.RawMessage `json:"requests"`
}

func (*batchRequest) itemsDecodedSeparately() {}

// batchResult is one item's answer: the presign response or a problem.
type batchResult struct {
	*presignResponse
	Error *Problem `json:"error,omitempty"`
}

type batchResponse struct {
	Results []batchResult `json:"results"`
}

// handleBatch presigns up to 1000 requests in order. Each item is decoded, decided,
// audited and answered on its own: one bad item fails only itself. A batch takes one
// token from the client's rate limit.
func (s *Server) handleBatch() http.Handler {
	return s.apiHandler("presign_batch", func(w http.ResponseWriter, r *http.Request) error {
		c := callerFrom(r.Context())
		var req batchRequest
		if err := decode(w, r, maxBatchBody, &req); err != nil {
			s.audit(r.Context(), c, "presign_batch", auditEntry{}, err)
			return err
		}
		switch {
		case req.Requests == nil:
			return requiredErr("requests")
		case len(req.Requests) == 0:
			return fieldErr("requests", "must hold at least one request")
		case len(req.Requests) > maxBatchItems:
			return fieldErr("requests", "holds %d requests, above the limit of %d", len(req.Requests), maxBatchItems)
		}
		out := batchResponse{Results: make([]batchResult, len(req.Requests))}
		for i, raw := range req.Requests {
			var item presignRequest
			if err := decodeBytes(raw, &item); err != nil {
				s.audit(r.Context(), c, "presign_batch", auditEntry{}, err)
				p := asError(err).problem()
				out.Results[i].Error = &p
				continue
			}
			res, err := s.issue(r.Context(), c, "presign_batch", &item)
			if err != nil {
				e := asError(err)
				if e.Status >= 500 && e.Cause != nil {
					s.log.Error("batch item failed", "request_id", requestID(r.Context()), "item", i, "code", e.Code, "error", e.Cause.Error())
				}
				p := e.problem()
				out.Results[i].Error = &p
				continue
			}
			out.Results[i].presignResponse = res
		}
		encode(w, http.StatusOK, out)
		return nil
	})
}
