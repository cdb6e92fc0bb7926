package api

import (
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

// Explain runs the policy for a client without signing. It is shared by the API and
// the explain command.
func Explain(pol *policy.Policy, client string, req policy.Request, env policy.Env) Explanation {
	d, err := pol.Decide(client, req, env)
	out := Explanation{Client: client, CappedBy: string(d.CappedBy)}
	if d.Grant != nil {
		out.Grant = &ExplainedGrant{
			Index: d.GrantIndex, Bucket: d.Grant.Bucket, Prefix: d.Prefix,
			Methods: d.Grant.Methods, MaxTTL: int64(d.Grant.MaxTTL / time.Second),
		}
		out.Limits = map[string]int64{}
		for c, v := range d.Limits {
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

// handleExplain answers whether the caller itself may have a URL, and for how long.
func (s *Server) handleExplain() http.Handler {
	return s.apiHandler("explain", func(w http.ResponseWriter, r *http.Request) error {
		c := callerFrom(r.Context())
		var req presignRequest
		if err := decode(w, r, maxBody, &req); err != nil {
			return err
		}
		preq, _, err := req.toRequests()
		if err != nil {
			return err
		}
		st := s.state.Load()
		env := policy.Env{Now: s.now()}
		if creds, err := st.signer.Credentials(r.Context()); err == nil {
			env.CredentialsExpire, env.CredentialsExpiry = creds.CanExpire, creds.Expires
		}
		encode(w, http.StatusOK, Explain(st.policy, c.name, preq, env))
		return nil
	})
}
