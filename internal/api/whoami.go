package api

import (
	"context"
	"net/http"
	"time"

	"github.com/presignd/presignd/internal/identity"
	"github.com/presignd/presignd/internal/policy"
)

// whoamiResponse is GET /v1/whoami: who the caller is and what it may have. It holds
// the caller's own grants only, and of its principal only the kind, the subject, the
// issuer's configured name and the proxy's groups: never a token or another claim.
type whoamiResponse struct {
	Client    string          `json:"client"`
	Principal whoamiPrincipal `json:"principal"`
	Grants    []whoamiGrant   `json:"grants"`
	// MaxExpiresIn is the longest lifetime a URL could get now, whatever the grant.
	MaxExpiresIn int64 `json:"max_expires_in"`
}

type whoamiPrincipal struct {
	Kind    identity.Kind `json:"kind"`
	Subject string        `json:"subject"`
	Issuer  string        `json:"issuer,omitempty"` // JWT only
	Groups  []string      `json:"groups,omitzero"`  // trusted proxy only, [] when none
}

// whoamiGrant is a grant with its prefixes expanded for the caller.
type whoamiGrant struct {
	Bucket           string   `json:"bucket"`
	Prefixes         []string `json:"prefixes"`
	Methods          []string `json:"methods"`
	MaxTTL           int64    `json:"max_ttl"`
	MaxContentLength int64    `json:"max_content_length,omitempty"`
	ContentTypes     []string `json:"content_types,omitempty"`
}

// handleWhoami answers who the caller is. It decides nothing, so it writes no audit
// line; the request is counted under its route like every other.
func (s *Server) handleWhoami() http.Handler {
	return s.apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		st := s.state.Load()
		c, p := callerFrom(ctx), principalFrom(ctx)
		cl, err := st.policy.ClientFor(c.name, p.Attributes())
		if err != nil {
			return err
		}
		maxTTL, err := s.maxExpiresIn(ctx, st)
		if err != nil {
			return err
		}
		res := whoamiResponse{
			Client:       c.name,
			Principal:    whoamiPrincipal{Kind: p.Kind, Subject: p.Subject},
			Grants:       make([]whoamiGrant, 0, len(cl.Grants)),
			MaxExpiresIn: maxTTL,
		}
		switch p.Kind {
		case identity.KindJWT:
			res.Principal.Issuer = p.Issuer
		case identity.KindProxy:
			res.Principal.Groups = append([]string{}, p.Groups...)
		}
		for _, g := range cl.Grants {
			if len(g.Prefixes) == 0 {
				continue // every prefix of it was left out for this caller: it allows nothing
			}
			res.Grants = append(res.Grants, whoamiGrant{
				Bucket:           g.Bucket,
				Prefixes:         g.Prefixes,
				Methods:          g.Methods,
				MaxTTL:           int64(g.MaxTTL / time.Second),
				MaxContentLength: g.MaxContentLength,
				ContentTypes:     g.ContentTypes,
			})
		}
		encode(w, http.StatusOK, res)
		return nil
	})
}

// maxExpiresIn is the longest lifetime a URL could get now: 7 days, capped by what is
// left of the signing credentials. It reads their expiry where a presign does, and
// never refreshes them.
func (s *Server) maxExpiresIn(ctx context.Context, st *state) (int64, error) {
	var ttl int64
	creds, err := st.signer.Decide(ctx, func(expires bool, expiry time.Time) bool {
		ttl = policy.MaxTTL(policy.Env{Now: s.now(), CredentialsExpire: expires, CredentialsExpiry: expiry})
		return false
	})
	if err != nil {
		return 0, &Error{Code: CodeCredentialsUnavailable, Detail: "no usable signing credentials; try again shortly", Cause: err}
	}
	s.metrics.credentialsExpiry(creds)
	return ttl, nil
}
