package identity_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/presignd/presignd/internal/identity"
)

// Principals of every kind, as the sources find them.
var (
	jwtAlice = identity.Principal{Kind: identity.KindJWT, Issuer: "web", Subject: "alice", Claims: map[string]string{"role": "admin", "team": "red"}}
	jwtBob   = identity.Principal{Kind: identity.KindJWT, Issuer: "web", Subject: "bob"}
	jwtK8s   = identity.Principal{Kind: identity.KindJWT, Issuer: "k8s", Subject: "system:serviceaccount:reports:backend"}
	mtlsOps  = identity.Principal{Kind: identity.KindMTLS, Subject: "spiffe://example.org/ns/ops", SPIFFEID: "spiffe://example.org/ns/ops", DNSNames: []string{"dashboard.ops.example.org", "ops.example.org"}}
	mtlsDNS  = identity.Principal{Kind: identity.KindMTLS, Subject: "Dashboard.Example.org", DNSNames: []string{"Dashboard.Example.org"}}
	proxyOps = identity.Principal{Kind: identity.KindProxy, Subject: "alice@example.com", Groups: []string{"dev", "ops"}}
	token    = identity.Principal{Kind: identity.KindToken, Subject: "reports-backend"}
)

func TestMatchMatches(t *testing.T) {
	tests := []struct {
		name  string
		match identity.Match
		p     identity.Principal
		want  bool
	}{
		// Issuer, subject, claims.
		{name: "any subject of the issuer", match: identity.Match{Issuer: "web"}, p: jwtAlice, want: true},
		{name: "any subject, without claims", match: identity.Match{Issuer: "web"}, p: jwtBob, want: true},
		{name: "another issuer", match: identity.Match{Issuer: "web"}, p: jwtK8s},
		{name: "the issuer's name, not its URL", match: identity.Match{Issuer: "https://login.example.com"}, p: jwtAlice},
		{name: "subject", match: identity.Match{Issuer: "k8s", Subject: "system:serviceaccount:reports:backend"}, p: jwtK8s, want: true},
		{name: "another subject", match: identity.Match{Issuer: "web", Subject: "alice"}, p: jwtBob},
		{name: "subject compared with case", match: identity.Match{Issuer: "web", Subject: "Alice"}, p: jwtAlice},
		{name: "subject of another issuer", match: identity.Match{Issuer: "k8s", Subject: "alice"}, p: jwtAlice},
		{name: "claim", match: identity.Match{Issuer: "web", Claims: map[string]string{"role": "admin"}}, p: jwtAlice, want: true},
		{name: "every claim", match: identity.Match{Issuer: "web", Subject: "alice", Claims: map[string]string{"role": "admin", "team": "red"}}, p: jwtAlice, want: true},
		{name: "one claim of two differs", match: identity.Match{Issuer: "web", Claims: map[string]string{"role": "admin", "team": "blue"}}, p: jwtAlice},
		{name: "claim missing", match: identity.Match{Issuer: "web", Claims: map[string]string{"role": "admin"}}, p: jwtBob},
		{name: "claim that must be empty, missing", match: identity.Match{Issuer: "web", Claims: map[string]string{"role": ""}}, p: jwtBob},
		{name: "claim value compared with case", match: identity.Match{Issuer: "web", Claims: map[string]string{"role": "Admin"}}, p: jwtAlice},

		// Client certificates.
		{name: "SPIFFE ID", match: identity.Match{SPIFFEID: "spiffe://example.org/ns/ops"}, p: mtlsOps, want: true},
		{name: "another SPIFFE ID", match: identity.Match{SPIFFEID: "spiffe://example.org/ns/dev"}, p: mtlsOps},
		{name: "SPIFFE ID prefix", match: identity.Match{SPIFFEID: "spiffe://example.org/ns"}, p: mtlsOps},
		{name: "SPIFFE ID of a certificate without one", match: identity.Match{SPIFFEID: "spiffe://example.org/ns/ops"}, p: mtlsDNS},
		{name: "DNS name", match: identity.Match{DNSName: "ops.example.org"}, p: mtlsOps, want: true},
		{name: "DNS name without case", match: identity.Match{DNSName: "DASHBOARD.ops.EXAMPLE.org"}, p: mtlsOps, want: true},
		{name: "DNS name of the subject without case", match: identity.Match{DNSName: "dashboard.example.org"}, p: mtlsDNS, want: true},
		{name: "DNS name not held", match: identity.Match{DNSName: "example.org"}, p: mtlsOps},
		{name: "DNS name as a SPIFFE ID", match: identity.Match{SPIFFEID: "dashboard.ops.example.org"}, p: mtlsOps},

		// The trusted proxy.
		{name: "proxy user", match: identity.Match{ProxyUser: "alice@example.com"}, p: proxyOps, want: true},
		{name: "another proxy user", match: identity.Match{ProxyUser: "bob@example.com"}, p: proxyOps},
		{name: "proxy user compared with case", match: identity.Match{ProxyUser: "Alice@example.com"}, p: proxyOps},
		{name: "proxy group", match: identity.Match{ProxyGroup: "ops"}, p: proxyOps, want: true},
		{name: "another proxy group", match: identity.Match{ProxyGroup: "admin"}, p: proxyOps},
		{name: "proxy group compared with case", match: identity.Match{ProxyGroup: "OPS"}, p: proxyOps},
		{name: "proxy group as a user", match: identity.Match{ProxyUser: "ops"}, p: proxyOps},
		{name: "proxy user as a group", match: identity.Match{ProxyGroup: "alice@example.com"}, p: proxyOps},

		// Kinds never cross.
		{name: "issuer match, proxy principal with the issuer's fields", match: identity.Match{Issuer: "web", Subject: "alice"}, p: identity.Principal{Kind: identity.KindProxy, Issuer: "web", Subject: "alice"}},
		{name: "issuer match, certificate principal", match: identity.Match{Issuer: "web"}, p: identity.Principal{Kind: identity.KindMTLS, Issuer: "web", Subject: "alice"}},
		{name: "issuer match, token principal", match: identity.Match{Issuer: "web"}, p: identity.Principal{Kind: identity.KindToken, Issuer: "web", Subject: "alice"}},
		{name: "issuer match, principal of no kind", match: identity.Match{Issuer: "web"}, p: identity.Principal{Issuer: "web", Subject: "alice"}},
		{name: "proxy user, JWT principal with that subject", match: identity.Match{ProxyUser: "alice"}, p: jwtAlice},
		{name: "proxy user, certificate principal with that subject", match: identity.Match{ProxyUser: "dashboard.ops.example.org"}, p: identity.Principal{Kind: identity.KindMTLS, Subject: "dashboard.ops.example.org", DNSNames: []string{"dashboard.ops.example.org"}}},
		{name: "proxy user, token principal with that subject", match: identity.Match{ProxyUser: "reports-backend"}, p: token},
		{name: "proxy group, JWT principal with groups", match: identity.Match{ProxyGroup: "ops"}, p: identity.Principal{Kind: identity.KindJWT, Issuer: "web", Subject: "alice", Groups: []string{"ops"}}},
		{name: "SPIFFE ID, JWT principal with that subject", match: identity.Match{SPIFFEID: "spiffe://example.org/ns/ops"}, p: identity.Principal{Kind: identity.KindJWT, Issuer: "web", Subject: "spiffe://example.org/ns/ops"}},
		{name: "SPIFFE ID, proxy principal with that ID", match: identity.Match{SPIFFEID: "spiffe://example.org/ns/ops"}, p: identity.Principal{Kind: identity.KindProxy, Subject: "spiffe://example.org/ns/ops", SPIFFEID: "spiffe://example.org/ns/ops"}},
		{name: "DNS name, proxy principal with that name", match: identity.Match{DNSName: "ops.example.org"}, p: identity.Principal{Kind: identity.KindProxy, Subject: "ops.example.org", DNSNames: []string{"ops.example.org"}}},
		{name: "DNS name, JWT principal with that name", match: identity.Match{DNSName: "ops.example.org"}, p: identity.Principal{Kind: identity.KindJWT, Issuer: "web", Subject: "ops.example.org", DNSNames: []string{"ops.example.org"}}},

		// A match that names nothing matches nothing.
		{name: "empty match, JWT", match: identity.Match{}, p: jwtAlice},
		{name: "empty match, certificate", match: identity.Match{}, p: mtlsOps},
		{name: "empty match, proxy", match: identity.Match{}, p: proxyOps},
		{name: "empty match, token", match: identity.Match{}, p: token},
		{name: "subject without issuer", match: identity.Match{Subject: "alice"}, p: jwtAlice},
		{name: "empty match, empty principal", match: identity.Match{}, p: identity.Principal{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.match.Matches(&tt.p); got != tt.want {
				t.Errorf("%+v.Matches(%+v): got %v, want %v", tt.match, tt.p, got, tt.want)
			}
		})
	}
}

func TestPrincipalAttributes(t *testing.T) {
	tests := []struct {
		name string
		p    identity.Principal
		want map[string]string
	}{
		{name: "token has none", p: token},
		{name: "principal of no kind has none", p: identity.Principal{Subject: "alice", Claims: map[string]string{"team": "red"}}},
		{name: "token with claims has none", p: identity.Principal{Kind: identity.KindToken, Subject: "x", Claims: map[string]string{"team": "red"}}},
		{name: "JWT", p: jwtAlice, want: map[string]string{"subject": "alice", "claims.role": "admin", "claims.team": "red"}},
		{name: "JWT without claims", p: jwtBob, want: map[string]string{"subject": "bob"}},
		{name: "certificate", p: mtlsOps, want: map[string]string{"subject": "spiffe://example.org/ns/ops"}},
		{name: "proxy: groups are not attributes", p: proxyOps, want: map[string]string{"subject": "alice@example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.p.Attributes()); diff != "" {
				t.Errorf("Attributes mismatch:\n%s", diff)
			}
		})
	}
}
