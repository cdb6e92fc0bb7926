package config_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/presignd/presignd/internal/config"
)

// matchClient is a client of matchConfig: its matches as YAML flow mappings (none
// gives it a token instead) and the prefix of its one grant.
type matchClient struct {
	name    string
	matches []string
	prefix  string // default "shared/"
}

// matchConfig is a valid config with every identity source configured and the given
// clients.
func matchConfig(clients ...matchClient) string {
	var b strings.Builder
	b.WriteString(`listen: 127.0.0.1:8443
s3: {region: us-east-1}
identity:
  issuers:
    - {name: web, issuer: "https://login.example.com", audiences: [presignd]}
    - {name: k8s, issuer: "https://k8s.example.com", audiences: [presignd]}
  trusted_proxies: {from: ["127.0.0.1"]}
tls: {cert_file: tls.crt, key_file: tls.key, client_ca_file: ca.crt}
clients:
`)
	for _, c := range clients {
		fmt.Fprintf(&b, "  - name: %s\n", c.name)
		if len(c.matches) == 0 {
			fmt.Fprintf(&b, "    token_sha256: %q\n", config.HashToken(c.name+"-token"))
		} else {
			b.WriteString("    match:\n")
			for _, m := range c.matches {
				fmt.Fprintf(&b, "      - %s\n", m)
			}
		}
		prefix := c.prefix
		if prefix == "" {
			prefix = "shared/"
		}
		fmt.Fprintf(&b, "    grants:\n      - {bucket: media, prefixes: [%q], methods: [GET], max_ttl: 1h}\n", prefix)
	}
	return b.String()
}

func TestMatchWarnings(t *testing.T) {
	const never = ": never wins: every principal it matches is matched first by "
	tests := []struct {
		name    string
		clients []matchClient
		want    []string
	}{
		{
			name: "distinct principals of every kind",
			clients: []matchClient{
				{name: "a", matches: []string{"{issuer: web, subject: alice}", "{spiffe_id: \"spiffe://example.org/a\"}", "{dns_name: a.example.org}", "{proxy_user: alice}", "{proxy_group: ops}"}},
				{name: "b", matches: []string{"{issuer: web, subject: bob}", "{spiffe_id: \"spiffe://example.org/b\"}", "{dns_name: b.example.org}", "{proxy_user: bob}", "{proxy_group: dev}", "{issuer: k8s}"}},
			},
		},
		{
			name: "a whole issuer before one of its subjects, in another client",
			clients: []matchClient{
				{name: "everyone", matches: []string{"{issuer: web}"}},
				{name: "alice", matches: []string{"{issuer: web, subject: alice}"}},
			},
			want: []string{"clients[1].match[0]" + never + "clients[0].match[0], clients[0] (everyone)"},
		},
		{
			name: "the same match twice in one client",
			clients: []matchClient{
				{name: "ops", matches: []string{"{proxy_group: ops}", "{proxy_user: alice}", "{proxy_group: ops}"}},
			},
			want: []string{"clients[0].match[2]" + never + "clients[0].match[0], an earlier match of this client"},
		},
		{
			name: "a narrower match before a wider one",
			clients: []matchClient{
				{name: "alice", matches: []string{"{issuer: web, subject: alice}"}},
				{name: "admins", matches: []string{"{issuer: web, claims: {role: admin}}"}},
				{name: "everyone", matches: []string{"{issuer: web}"}},
			},
		},
		{
			name: "claims that the later match also requires",
			clients: []matchClient{
				{name: "admins", matches: []string{"{issuer: web, claims: {role: admin}}"}},
				{name: "team-admins", matches: []string{"{issuer: web, subject: alice, claims: {role: admin, team: red}}"}},
			},
			want: []string{"clients[1].match[0]" + never + "clients[0].match[0], clients[0] (admins)"},
		},
		{
			name: "claims with other values",
			clients: []matchClient{
				{name: "admins", matches: []string{"{issuer: web, claims: {role: admin}}"}},
				{name: "users", matches: []string{"{issuer: web, claims: {role: user}}"}},
			},
		},
		{
			name: "a subject of another issuer",
			clients: []matchClient{
				{name: "web", matches: []string{"{issuer: web}"}},
				{name: "k8s", matches: []string{"{issuer: k8s, subject: alice}"}},
			},
		},
		{
			name: "dns names compare without case",
			clients: []matchClient{
				{name: "a", matches: []string{"{dns_name: Dashboard.Example.org}"}},
				{name: "b", matches: []string{"{dns_name: dashboard.example.ORG}"}},
			},
			want: []string{"clients[1].match[0]" + never + "clients[0].match[0], clients[0] (a)"},
		},
		{
			name: "the same SPIFFE ID",
			clients: []matchClient{
				{name: "a", matches: []string{"{proxy_user: alice}", "{spiffe_id: \"spiffe://example.org/ns/ops\"}"}},
				{name: "b", matches: []string{"{spiffe_id: \"spiffe://example.org/ns/ops\"}"}},
			},
			want: []string{"clients[1].match[0]" + never + "clients[0].match[1], clients[0] (a)"},
		},
		{
			name: "a SPIFFE ID does not cover the IDs under it",
			clients: []matchClient{
				{name: "a", matches: []string{"{spiffe_id: \"spiffe://example.org/ns\"}"}},
				{name: "b", matches: []string{"{spiffe_id: \"spiffe://example.org/ns/ops\"}"}},
			},
		},
		{
			name: "a proxy user and a proxy group of the same name",
			clients: []matchClient{
				{name: "a", matches: []string{"{proxy_group: ops}"}},
				{name: "b", matches: []string{"{proxy_user: ops}"}},
			},
		},
		{
			name: "the same proxy user",
			clients: []matchClient{
				{name: "a", matches: []string{"{proxy_user: alice@example.com}"}},
				{name: "b", matches: []string{"{proxy_user: alice@example.com}"}},
			},
			want: []string{"clients[1].match[0]" + never + "clients[0].match[0], clients[0] (a)"},
		},
		{
			name: "the first match that covers is named",
			clients: []matchClient{
				{name: "a", matches: []string{"{issuer: web, claims: {role: admin}}", "{issuer: web}"}},
				{name: "b", matches: []string{"{issuer: web, claims: {role: admin}}"}},
			},
			want: []string{"clients[1].match[0]" + never + "clients[0].match[0], clients[0] (a)"},
		},
		{
			name: "every match that never wins",
			clients: []matchClient{
				{name: "a", matches: []string{"{issuer: web}"}},
				{name: "b", matches: []string{"{issuer: web, subject: x}", "{proxy_user: x}", "{issuer: web, subject: y}"}},
			},
			want: []string{
				"clients[1].match[0]" + never + "clients[0].match[0], clients[0] (a)",
				"clients[1].match[2]" + never + "clients[0].match[0], clients[0] (a)",
			},
		},
		{
			name: "a claim placeholder in a client without an issuer match",
			clients: []matchClient{
				{name: "ops", matches: []string{"{proxy_group: ops}", "{dns_name: ops.example.org}"}, prefix: "teams/{claims.team}/"},
			},
			want: []string{"clients[0].grants[0].prefixes[0]: {claims.team} is a JWT claim, and no match of this client names an issuer; every request under this prefix is denied"},
		},
		{
			name: "a claim placeholder in a token client",
			clients: []matchClient{
				{name: "backend", prefix: "teams/{client}/{claims.team}/"},
			},
			want: []string{"clients[0].grants[0].prefixes[0]: {claims.team} is a JWT claim, and no match of this client names an issuer; every request under this prefix is denied"},
		},
		{
			name: "a claim placeholder in a client with an issuer match",
			clients: []matchClient{
				{name: "web", matches: []string{"{proxy_group: ops}", "{issuer: web}"}, prefix: "teams/{claims.team}/"},
			},
		},
		{
			name: "a subject placeholder in a client without an issuer match",
			clients: []matchClient{
				{name: "ops", matches: []string{"{proxy_group: ops}"}, prefix: "home/{subject}/"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse([]byte(matchConfig(tt.clients...)))
			if err != nil {
				t.Fatalf("got error %v, want a valid config", err)
			}
			if diff := cmp.Diff(tt.want, c.Warnings()); diff != "" {
				t.Errorf("warnings mismatch:\n%s", diff)
			}
		})
	}
}

// TestMatchWarningsContractExample: the identity example of the contract warns of
// nothing.
func TestMatchWarningsContractExample(t *testing.T) {
	c, err := config.Parse([]byte(identityConfig))
	if err != nil {
		t.Fatalf("got error %v, want the valid config to parse", err)
	}
	if got := c.Warnings(); len(got) != 0 {
		t.Errorf("got warnings %q, want none", got)
	}
}

// TestMatchWarningsWholeIssuerFirst: the contract example with its web clients swapped,
// so the whole issuer comes first, hides the client that names a claim behind it.
func TestMatchWarningsWholeIssuerFirst(t *testing.T) {
	text := apply(t, identityConfig, edit{
		"  - name: team-admins\n    match:\n      - {issuer: web, claims: {role: admin}}\n    grants:\n      - {bucket: media, prefixes: [\"teams/{claims.team}/\"], methods: [GET, PUT, DELETE], max_ttl: 1h}\n  - name: web-users\n    match:\n      - {issuer: web}\n    grants:\n      - {bucket: media, prefixes: [\"uploads/{subject}/\"], methods: [PUT, GET], max_ttl: 1h}\n",
		"  - name: web-users\n    match:\n      - {issuer: web}\n    grants:\n      - {bucket: media, prefixes: [\"uploads/{subject}/\"], methods: [PUT, GET], max_ttl: 1h}\n  - name: team-admins\n    match:\n      - {issuer: web, claims: {role: admin}}\n    grants:\n      - {bucket: media, prefixes: [\"teams/{claims.team}/\"], methods: [GET, PUT, DELETE], max_ttl: 1h}\n",
	})
	c, err := config.Parse([]byte(text))
	if err != nil {
		t.Fatalf("got error %v, want a valid config", err)
	}
	want := []string{"clients[2].match[0]: never wins: every principal it matches is matched first by clients[1].match[0], clients[1] (web-users)"}
	if diff := cmp.Diff(want, c.Warnings()); diff != "" {
		t.Errorf("warnings mismatch:\n%s", diff)
	}
}
