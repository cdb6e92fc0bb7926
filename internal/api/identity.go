package api

import (
	"crypto/sha256"
	"net/http"
	"strings"
)

// Identity: every /v1 request is made by a principal, found by an identity source and
// mapped to one configured client. authenticate asks the sources of the config in
// force; a handler sees only the client (callerFrom). Static bearer tokens are the
// first source; JWT issuers, client certificates and a trusted proxy are further
// implementations of identifier, tried in turn, each answering only for requests that
// carry its kind of identity.

// Principal is who made a request, as an identity source found it.
type Principal struct {
	// Kind names the source: "token" for a static bearer token.
	Kind string
	// Subject is who the source says made the request; for a static token, the
	// client it belongs to.
	Subject string
}

// Principal kinds.
const principalToken = "token"

// Auth failure reasons, as presignd_auth_failures_total reports them.
const (
	authMissing   = "missing"
	authMalformed = "malformed"
	authUnknown   = "unknown_token"
)

// identifier is an identity source. identify finds the principal of a request and
// the client it maps to; when it finds none, failure says why (an auth failure
// reason), or is "" when the request carries no identity of this source's kind.
type identifier interface {
	identify(r *http.Request) (p Principal, c *caller, failure string)
}

// identities are the sources of one config, tried in order. A request none of them
// knows fails with the first failure reason given, or authMissing.
type identities []identifier

func (ids identities) identify(r *http.Request) (Principal, *caller, string) {
	first := ""
	for _, id := range ids {
		p, c, failure := id.identify(r)
		if c != nil {
			return p, c, ""
		}
		if first == "" {
			first = failure
		}
	}
	if first == "" {
		first = authMissing
	}
	return Principal{}, nil, first
}

// staticTokens finds the client whose bearer token hashes to the presented one. The
// lookup is a map access keyed by the SHA-256 digest, not a comparison of secrets:
// whatever its timing reveals is about digests, and learning a digest does not give
// the token, which has at least 128 bits of entropy when made by gen-token. Tokens
// are never stored or compared themselves.
type staticTokens map[[sha256.Size]byte]*caller

func (t staticTokens) identify(r *http.Request) (Principal, *caller, string) {
	header := r.Header.Get("Authorization")
	if header == "" {
		return Principal{}, nil, authMissing
	}
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t") {
		return Principal{}, nil, authMalformed
	}
	var buf [256]byte // hashed without a copy on the heap
	c, found := t[sha256.Sum256(append(buf[:0], token...))]
	if !found {
		return Principal{}, nil, authUnknown
	}
	return Principal{Kind: principalToken, Subject: c.name}, c, ""
}
