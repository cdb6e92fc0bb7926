package api

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"

	"github.com/presignd/presignd/internal/identity"
)

// fakeJWT stands for a configured issuer: "jwt.alice.sig" is alice's token, any other
// JWT-shaped token is expired.
type fakeJWT struct{}

func (fakeJWT) VerifyToken(_ context.Context, t identity.Token) (identity.Principal, error) {
	if t.Raw() == "jwt.alice.sig" {
		return identity.Principal{Kind: identity.KindJWT, Issuer: "web", Subject: "alice", Claims: map[string]string{"team": "red"}}, nil
	}
	return identity.Principal{}, &identity.Error{Reason: identity.ReasonExpired, Detail: "the token has expired"}
}

// TestIdentifierSources: each source finds its principal and the first client that
// matches it; a request with an Authorization header is decided by that header alone;
// proxy headers count from a trusted peer only.
func TestIdentifierSources(t *testing.T) {
	app, web, ops, mesh := &caller{name: "app"}, &caller{name: "web"}, &caller{name: "ops"}, &caller{name: "mesh"}
	id := &identifier{
		tokens: map[[sha256.Size]byte]*caller{sha256.Sum256([]byte("app-token")): app},
		id: Identity{
			JWT:                fakeJWT{},
			ClientCertificates: true,
			Proxy: &identity.Proxy{Peers: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
				UserHeader: "X-Auth-Request-Email", GroupsHeader: "X-Auth-Request-Groups"},
		},
		matches: []clientMatch{
			{identity.Match{Issuer: "web", Claims: map[string]string{"team": "blue"}}, ops},
			{identity.Match{Issuer: "web"}, web},
			{identity.Match{ProxyGroup: "ops"}, ops},
			{identity.Match{SPIFFEID: "spiffe://example.org/ns/a/sa/b"}, mesh},
		},
	}
	spiffe, _ := url.Parse("spiffe://example.org/ns/a/sa/b")
	for _, tc := range []struct {
		name, auth, peer, user, groups string
		cert                           *x509.Certificate
		want                           *caller
		kind                           identity.Kind
		subject                        string
		reason                         identity.Reason
	}{
		{name: "static token", auth: "Bearer app-token", want: app, kind: identity.KindToken, subject: "app"},
		{name: "scheme in another case", auth: "bearer app-token", want: app, kind: identity.KindToken, subject: "app"},
		{name: "JWT, first matching client", auth: "Bearer jwt.alice.sig", want: web, kind: identity.KindJWT, subject: "alice"},
		{name: "JWT refused", auth: "Bearer jwt.bob.sig", reason: identity.ReasonExpired},
		{name: "unknown opaque token", auth: "Bearer nope", reason: identity.ReasonUnknownToken},
		{name: "malformed", auth: "Basic abc", reason: identity.ReasonMalformed},
		{name: "two tokens", auth: "Bearer a b", reason: identity.ReasonMalformed},
		{name: "nothing", reason: identity.ReasonMissing},
		{name: "bad token never falls back to the proxy", auth: "Bearer nope", peer: "10.1.2.3:5000", user: "alice@example.com", groups: "ops", reason: identity.ReasonUnknownToken},
		{name: "proxy group", peer: "10.1.2.3:5000", user: "alice@example.com", groups: "dev, ops", want: ops, kind: identity.KindProxy, subject: "alice@example.com"},
		{name: "proxy user of no client", peer: "10.1.2.3:5000", user: "bob@example.com", groups: "dev", reason: identity.ReasonNoClient},
		{name: "proxy headers from an untrusted peer are ignored", peer: "192.0.2.7:5000", user: "alice@example.com", groups: "ops", reason: identity.ReasonMissing},
		{name: "IPv4-mapped trusted peer", peer: "[::ffff:10.0.0.9]:5000", user: "alice@example.com", groups: "ops", want: ops, kind: identity.KindProxy, subject: "alice@example.com"},
		{name: "client certificate", cert: &x509.Certificate{URIs: []*url.URL{spiffe}}, want: mesh, kind: identity.KindMTLS, subject: "spiffe://example.org/ns/a/sa/b"},
		{name: "client certificate of no client", cert: &x509.Certificate{DNSNames: []string{"x.example.org"}}, reason: identity.ReasonNoClient},
		{name: "client certificate without SAN", cert: &x509.Certificate{}, reason: identity.ReasonBadCertificate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v1/presign", nil)
			r.RemoteAddr = "127.0.0.1:4000"
			if tc.peer != "" {
				r.RemoteAddr = tc.peer
			}
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			if tc.user != "" {
				r.Header.Set("X-Auth-Request-Email", tc.user)
				r.Header.Set("X-Auth-Request-Groups", tc.groups)
			}
			if tc.cert != nil {
				r.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{tc.cert}}}
			}
			p, c, err := id.identify(r)
			reason := identity.Reason("")
			if err != nil {
				reason = err.Reason
			}
			if c != tc.want || reason != tc.reason || p.Kind != tc.kind && c != nil || c != nil && p.Subject != tc.subject {
				t.Errorf("got %+v, %v, %q; want {%s %s}, %v, %q", p, c, reason, tc.kind, tc.subject, tc.want, tc.reason)
			}
		})
	}
}
