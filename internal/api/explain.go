package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/presignd/presignd/internal/policy"
)

// Explanation is the result of a policy dry run: nothing is signed.
type Explanation struct {
	Allowed   bool             `json:"allowed"`
	Client    string           `json:"client"`
	Grant     *ExplainedGrant  `json:"grant,omitempty"`
	ExpiresIn int64            `json:"expires_in,omitempty"`
	CappedBy  string           `json:"capped_by,omitempty"`
	Limits    map[string]int64 `json:"limits,omitempty"`
	Code      string           `json:"code,omitempty"`
	Reason    string           `json:"reason,omitempty"`
	Detail    string           `json:"detail,omitempty"`
}

// ExplainedGrant is the grant that allowed a request, as the caller's config has it.
type ExplainedGrant struct {
	Index   int      `json:"index"`
	Bucket  string   `json:"bucket"`
	Prefix  string   `json:"prefix"`
	Methods []string `json:"methods"`
	MaxTTL  int64    `json:"max_ttl"`
}

// ExplainRequest is a request to explain, as the explain command gives it.
// ContentLength is nil when no size is declared.
type ExplainRequest struct {
	Bucket, Key, Method string
	ExpiresIn           int64
	StrictTTL           bool
	ContentType         string
	ContentLength       *int64
}

// PolicyRequest converts the request as POST /v1/presign and POST /v1/explain convert
// theirs: the same checks, refused with the same problem details (ErrorDetail).
func (r ExplainRequest) PolicyRequest() (policy.Request, error) {
	req := presignRequest{
		Bucket: exactString{Value: r.Bucket, Set: true}, Key: exactString{Value: r.Key, Set: true},
		Method: r.Method, ExpiresIn: &r.ExpiresIn, StrictTTL: r.StrictTTL,
		ContentType: r.ContentType, ContentLength: r.ContentLength,
	}
	pr, _, err := req.toRequests()
	return pr, err
}

// ErrorDetail is the detail of the problem an error becomes.
func ErrorDetail(err error) string { return asError(err).Detail }

// Explain runs the policy for a client without signing. It is shared by the API and
// the explain command.
func Explain(pol *policy.Policy, client string, req policy.Request, env policy.Env) Explanation {
	d, err := pol.Decide(client, req, env)
	return explanation(client, d, err)
}

func explanation(client string, d policy.Decision, err error) Explanation {
	out := Explanation{Client: client, CappedBy: string(d.CappedBy)}
	if d.Grant != nil {
		out.Grant = &ExplainedGrant{
			Index: d.GrantIndex, Bucket: d.Grant.Bucket, Prefix: d.Prefix,
			Methods: d.Grant.Methods, MaxTTL: int64(d.Grant.MaxTTL / time.Second),
		}
		out.Limits = map[string]int64{}
		for c, v := range d.Limits.Map() {
			out.Limits[string(c)] = v
		}
	}
	if err != nil {
		e := asError(err)
		out.Code, out.Reason, out.Detail = e.Code, e.Reason, e.Detail
		return out
	}
	out.Allowed, out.ExpiresIn = true, d.TTL
	return out
}

// handleExplain answers whether the caller itself may have a URL, and for how long,
// as POST /v1/presign would: with the current signing credentials, refreshed once
// when they are what caps the lifetime. Only the caller's own grants are consulted;
// the request has no field naming another client.
func (s *Server) handleExplain() http.Handler {
	return s.apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		c := callerFrom(r.Context())
		var req presignRequest
		if err := decode(w, r, maxBody, &req); err != nil {
			return err
		}
		preq, _, err := req.toRequests()
		if err != nil {
			return err
		}
		encode(w, http.StatusOK, s.explain(r.Context(), c.name, preq))
		return nil
	})
}

func (s *Server) explain(ctx context.Context, client string, req policy.Request) Explanation {
	st := s.state.Load()
	d, _, err := s.decideFresh(ctx, st, client, req)
	var ae *Error
	if errors.As(err, &ae) && ae.Code == CodeCredentialsUnavailable {
		// Say what the policy decides, and that no URL could be signed now.
		d, err := st.policy.Decide(client, req, policy.Env{Now: s.now(), Caller: principalFrom(ctx).Attributes()})
		out := explanation(client, d, err)
		if out.Allowed {
			out.Allowed, out.ExpiresIn, out.CappedBy = false, 0, ""
			out.Code, out.Detail = CodeCredentialsUnavailable, ae.Detail
		}
		return out
	}
	return explanation(client, d, err)
}
