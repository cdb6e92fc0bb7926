package api

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strings"

	"github.com/presignd/presignd/internal/identity"
)

// Identity: every /v1 request is made by a principal, found by one identity source
// and mapped to one configured client. authenticate asks the identifier of the config
// in force; a handler sees the client (callerFrom) and the principal (principalFrom).
//
// The sources, in order:
//
//  1. Authorization: Bearer. A static token (its SHA-256 is looked up), else a JWT of a
//     configured issuer. A request that has the header is decided by it alone: a bad
//     token fails and never falls back to a certificate or proxy headers.
//  2. A client certificate the TLS handshake verified against tls.client_ca_file.
//  3. The identity headers of a trusted proxy, read only when the peer is one.
//
// A principal maps to the first client, in file order, one of whose matches holds.

// Identity is how the API finds principals beside static tokens, from one config.
type Identity struct {
	// JWT verifies bearer tokens that are JWTs; nil when no issuer is configured.
	JWT JWTVerifier
	// ClientCertificates makes a verified client certificate identify its caller.
	ClientCertificates bool
	// Proxy reads a trusted auth proxy's identity headers; nil when off.
	Proxy *identity.Proxy
}

// JWTVerifier verifies a JWT completely (signature, issuer, audience, times) and
// returns its principal; failures are *identity.Error.
type JWTVerifier interface {
	VerifyToken(ctx context.Context, t identity.Token) (identity.Principal, error)
}

// clientMatch is one match of a client, in file order.
type clientMatch struct {
	match  identity.Match
	caller *caller
}

// identifier is the identity sources of one config.
type identifier struct {
	// tokens finds the client whose bearer token hashes to the presented one. The
	// lookup is a map access keyed by the SHA-256 digest, not a comparison of secrets:
	// whatever its timing reveals is about digests, and learning a digest does not
	// give the token, which has at least 128 bits of entropy when made by gen-token.
	// Tokens are never stored or compared themselves.
	tokens  map[[sha256.Size]byte]*caller
	id      Identity
	matches []clientMatch
}

// Failures of the Authorization header itself.
var (
	errMissing   = &identity.Error{Reason: identity.ReasonMissing, Detail: "send Authorization: Bearer <token>"}
	errMalformed = &identity.Error{Reason: identity.ReasonMalformed, Detail: "the Authorization header is not of the form Bearer <token>"}
	errUnknown   = &identity.Error{Reason: identity.ReasonUnknownToken, Detail: "the bearer token is not valid"}
)

// identify finds the principal of r and its client, or says why there is none.
func (id *identifier) identify(r *http.Request) (identity.Principal, *caller, *identity.Error) {
	if header := r.Header.Get("Authorization"); header != "" {
		return id.bearer(r.Context(), header)
	}
	if id.id.ClientCertificates && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		p, err := identity.FromCertificate(r.TLS.VerifiedChains[0][0])
		return id.client(p, err)
	}
	if id.id.Proxy != nil {
		if p, ok, err := id.id.Proxy.Identify(r); ok {
			return id.client(p, err)
		}
	}
	return identity.Principal{}, nil, errMissing
}

// bearer identifies the bearer token of an Authorization header.
func (id *identifier) bearer(ctx context.Context, header string) (identity.Principal, *caller, *identity.Error) {
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t") {
		return identity.Principal{}, nil, errMalformed
	}
	// One SHA-256 of the token serves both lookups: the static tokens', and the
	// verified JWTs'.
	tok := identity.NewToken(token)
	if c, found := id.tokens[tok.Hash()]; found {
		return identity.Principal{Kind: identity.KindToken, Subject: c.name}, c, nil
	}
	if id.id.JWT == nil || !identity.LooksLikeJWT(token) {
		return identity.Principal{}, nil, errUnknown
	}
	return id.client(id.id.JWT.VerifyToken(ctx, tok))
}

// client maps a principal to the first client that matches it.
func (id *identifier) client(p identity.Principal, err error) (identity.Principal, *caller, *identity.Error) {
	if err != nil {
		if ie, ok := err.(*identity.Error); ok {
			return identity.Principal{}, nil, ie
		}
		return identity.Principal{}, nil, &identity.Error{Reason: identity.ReasonBadToken, Detail: "the credential could not be verified", Err: err}
	}
	for i := range id.matches {
		if id.matches[i].match.Matches(&p) {
			return p, id.matches[i].caller, nil
		}
	}
	return p, nil, &identity.Error{Reason: identity.ReasonNoClient, Detail: "no client of presignd's config is this " + string(p.Kind) + " principal"}
}
