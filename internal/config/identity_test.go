package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/presignd/presignd/internal/config"
)

// identityConfig is the identity example of the contract, made complete: every
// identity source, every kind of match, and the optional issuer settings. Each
// mutation below changes one thing in it; the text each one replaces occurs exactly
// once.
const identityConfig = `
listen: 127.0.0.1:8443
s3: {region: us-east-1}
identity:
  issuers:
    - name: k8s
      issuer: https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE
      jwks_url: ""
      audiences: [presignd]
      algorithms: [RS256]
    - name: web
      issuer: https://login.example.com/realms/app
      jwks_url: https://login.example.com/realms/app/keys
      audiences: [presignd-web, presignd-admin]
      algorithms: [ES256, PS256]
      ca_file: /etc/presignd/idp-ca.pem
      leeway: 1m
      max_key_age: 12h
  trusted_proxies:
    from: ["127.0.0.1/32", "10.1.2.3", "fd00:1::/64"]
    user_header: X-Auth-Request-Email
    groups_header: X-Auth-Request-Groups
tls: {cert_file: /etc/presignd/tls.crt, key_file: /etc/presignd/tls.key, client_ca_file: /etc/presignd/ca.crt}
clients:
  - name: reports-backend
    match:
      - {issuer: k8s, subject: "system:serviceaccount:reports:backend"}
    grants:
      - {bucket: demo, prefixes: ["reports/"], methods: [GET, HEAD], max_ttl: 24h}
  - name: team-admins
    match:
      - {issuer: web, claims: {role: admin}}
    grants:
      - {bucket: media, prefixes: ["teams/{claims.team}/"], methods: [GET, PUT, DELETE], max_ttl: 1h}
  - name: web-users
    match:
      - {issuer: web}
    grants:
      - {bucket: media, prefixes: ["uploads/{subject}/"], methods: [PUT, GET], max_ttl: 1h}
  - name: ops
    match:
      - {proxy_group: ops}
      - {proxy_user: alice@example.com}
      - {spiffe_id: "spiffe://example.org/ns/ops/sa/dashboard"}
      - {dns_name: dashboard.ops.example.org}
    grants:
      - {bucket: media, prefixes: [""], methods: [GET, HEAD], max_ttl: 15m}
`

func TestValidIdentityConfig(t *testing.T) {
	c, err := config.Parse([]byte(identityConfig))
	if err != nil {
		t.Fatalf("got error %v, want the valid config to parse", err)
	}
	want := config.Identity{
		Issuers: []config.Issuer{
			{
				Name:       "k8s",
				Issuer:     "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE",
				Audiences:  []string{"presignd"},
				Algorithms: []string{"RS256"},
			},
			{
				Name:       "web",
				Issuer:     "https://login.example.com/realms/app",
				JWKSURL:    "https://login.example.com/realms/app/keys",
				Audiences:  []string{"presignd-web", "presignd-admin"},
				Algorithms: []string{"ES256", "PS256"},
				CAFile:     "/etc/presignd/idp-ca.pem",
				Leeway:     &config.Duration{D: time.Minute},
				MaxKeyAge:  &config.Duration{D: 12 * time.Hour},
			},
		},
		TrustedProxies: &config.TrustedProxies{
			From:         []string{"127.0.0.1/32", "10.1.2.3", "fd00:1::/64"},
			UserHeader:   "X-Auth-Request-Email",
			GroupsHeader: "X-Auth-Request-Groups",
		},
	}
	if diff := cmp.Diff(want, c.Identity); diff != "" {
		t.Errorf("identity mismatch:\n%s", diff)
	}
	wantTLS := &config.TLS{CertFile: "/etc/presignd/tls.crt", KeyFile: "/etc/presignd/tls.key", ClientCAFile: "/etc/presignd/ca.crt"}
	if diff := cmp.Diff(wantTLS, c.TLS); diff != "" {
		t.Errorf("tls mismatch:\n%s", diff)
	}
	wantMatches := [][]config.Match{
		{{Issuer: "k8s", Subject: "system:serviceaccount:reports:backend"}},
		{{Issuer: "web", Claims: map[string]string{"role": "admin"}}},
		{{Issuer: "web"}},
		{{ProxyGroup: "ops"}, {ProxyUser: "alice@example.com"}, {SPIFFEID: "spiffe://example.org/ns/ops/sa/dashboard"}, {DNSName: "dashboard.ops.example.org"}},
	}
	var gotMatches [][]config.Match
	for _, cl := range c.Clients {
		if cl.TokenSHA256 != "" {
			t.Errorf("client %s: got a token hash, want none", cl.Name)
		}
		gotMatches = append(gotMatches, cl.Match)
	}
	if diff := cmp.Diff(wantMatches, gotMatches); diff != "" {
		t.Errorf("matches mismatch:\n%s", diff)
	}
	if _, err := c.Policy(); err != nil {
		t.Errorf("Policy: got error %v, want the policy of a valid config", err)
	}
}

func TestIdentityDefaults(t *testing.T) {
	c, err := config.Parse([]byte(identityConfig))
	if err != nil {
		t.Fatalf("got error %v, want the valid config to parse", err)
	}
	k8s, web := c.Identity.Issuers[0], c.Identity.Issuers[1]
	if got, want := k8s.LeewayOf(), config.DefaultLeeway; got != want {
		t.Errorf("k8s LeewayOf: got %v, want %v", got, want)
	}
	if got, want := web.LeewayOf(), time.Minute; got != want {
		t.Errorf("web LeewayOf: got %v, want %v", got, want)
	}
	if got, want := k8s.MaxKeyAgeOf(), config.DefaultMaxKeyAge; got != want {
		t.Errorf("k8s MaxKeyAgeOf: got %v, want %v", got, want)
	}
	if got, want := web.MaxKeyAgeOf(), 12*time.Hour; got != want {
		t.Errorf("web MaxKeyAgeOf: got %v, want %v", got, want)
	}
	if diff := cmp.Diff([]string{"RS256"}, (config.Issuer{}).AlgorithmsOf()); diff != "" {
		t.Errorf("default AlgorithmsOf mismatch:\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ES256", "PS256"}, web.AlgorithmsOf()); diff != "" {
		t.Errorf("web AlgorithmsOf mismatch:\n%s", diff)
	}
	var tp config.TrustedProxies
	if got, want := [2]string{tp.UserHeaderOf(), tp.GroupsHeaderOf()}, [2]string{"X-Auth-Request-Email", "X-Auth-Request-Groups"}; got != want {
		t.Errorf("default proxy headers: got %q, want %q", got, want)
	}
	peers := c.Identity.TrustedProxies.ProxyPeers()
	var got []string
	for _, p := range peers {
		got = append(got, p.String())
	}
	if diff := cmp.Diff([]string{"127.0.0.1/32", "10.1.2.3/32", "fd00:1::/64"}, got); diff != "" {
		t.Errorf("ProxyPeers mismatch:\n%s", diff)
	}
}

func TestProxyPeersNormalise(t *testing.T) {
	tp := config.TrustedProxies{From: []string{"10.1.2.3/8", "::ffff:192.0.2.7", "2001:db8::1", "fd00::1/64"}}
	var got []string
	for _, p := range tp.ProxyPeers() {
		got = append(got, p.String())
	}
	// A CIDR is masked; an IPv4-mapped address is the IPv4 address it maps.
	want := []string{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::1/128", "fd00::/64"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ProxyPeers mismatch:\n%s", diff)
	}
}

// issuerEntry is an issuers entry inserted after the two of identityConfig.
func issuerEntry(entry string) edit {
	return edit{"  trusted_proxies:\n", "    - " + entry + "\n  trusted_proxies:\n"}
}

func TestInvalidIdentityConfig(t *testing.T) {
	const (
		is0 = "identity.issuers[0]"
		is1 = "identity.issuers[1]"
		tp  = "identity.trusted_proxies"
		// The matches of ops that need a client certificate, and those that need the proxy.
		opsSPIFFE = "clients[3].match[2]"
		opsDNS    = "clients[3].match[3]"
	)
	const (
		k8sIssuer      = "issuer: https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
		webJWKS        = "jwks_url: https://login.example.com/realms/app/keys"
		k8sMatch       = `{issuer: k8s, subject: "system:serviceaccount:reports:backend"}`
		opsGroup       = "{proxy_group: ops}"
		opsSPIFFEMatch = `{spiffe_id: "spiffe://example.org/ns/ops/sa/dashboard"}`
		tlsLine        = "tls: {cert_file: /etc/presignd/tls.crt, key_file: /etc/presignd/tls.key, client_ca_file: /etc/presignd/ca.crt}"
		proxyBlock     = "  trusted_proxies:\n    from: [\"127.0.0.1/32\", \"10.1.2.3\", \"fd00:1::/64\"]\n    user_header: X-Auth-Request-Email\n    groups_header: X-Auth-Request-Groups\n"
	)
	tests := []struct {
		name  string
		edits []edit
		// want is the path of every problem reported, in order.
		want []string
		// msg must appear in the first problem.
		msg string
	}{
		// identity.issuers[].name
		{name: "issuer name missing", edits: []edit{{"    - name: k8s\n      issuer", "    - issuer"}}, want: []string{is0 + ".name", "clients[0].match[0].issuer"}, msg: "is required (clients[].match refers to it)"},
		{name: "issuer name uppercase", edits: []edit{{"name: k8s", "name: K8s"}}, want: []string{is0 + ".name", "clients[0].match[0].issuer"}, msg: `"K8s" may contain only lowercase letters, digits, '.', '_' and '-'`},
		{name: "issuer name with a space", edits: []edit{{"name: k8s", `name: "k 8s"`}}, want: []string{is0 + ".name", "clients[0].match[0].issuer"}, msg: `"k 8s" may contain only`},
		{name: "issuer name with a slash", edits: []edit{{"name: k8s", `name: "k8s/a"`}}, want: []string{is0 + ".name", "clients[0].match[0].issuer"}},
		{name: "issuer name twice", edits: []edit{issuerEntry(`{name: k8s, issuer: "https://other.example.com", audiences: [x]}`)}, want: []string{"identity.issuers[2].name"}, msg: `"k8s" is already the name of identity.issuers[0]`},

		// identity.issuers[].issuer
		{name: "issuer missing", edits: []edit{{"      " + k8sIssuer + "\n", ""}}, want: []string{is0 + ".issuer"}, msg: "is required: the exact iss of the tokens"},
		{name: "issuer over http", edits: []edit{{k8sIssuer, "issuer: http://oidc.example.com"}}, want: []string{is0 + ".issuer"}, msg: `"http://oidc.example.com" must be https (http is only allowed on localhost, 127.0.0.1 or ::1)`},
		// The key fetcher allows plain HTTP to these three hosts only.
		{name: "issuer over http on another loopback address", edits: []edit{{k8sIssuer, "issuer: http://127.0.0.2"}}, want: []string{is0 + ".issuer"}, msg: `"http://127.0.0.2" must be https`},
		{name: "issuer over http on a private address", edits: []edit{{k8sIssuer, "issuer: http://10.0.0.1:5556"}}, want: []string{is0 + ".issuer"}, msg: "must be https"},
		{name: "issuer over http on a name that starts as localhost", edits: []edit{{k8sIssuer, "issuer: http://localhost.example.com"}}, want: []string{is0 + ".issuer"}, msg: "must be https"},
		{name: "issuer without scheme", edits: []edit{{k8sIssuer, "issuer: oidc.example.com"}}, want: []string{is0 + ".issuer"}, msg: `"oidc.example.com" is not an https URL`},
		{name: "issuer with another scheme", edits: []edit{{k8sIssuer, "issuer: ftp://oidc.example.com"}}, want: []string{is0 + ".issuer"}, msg: "is not an https URL"},
		{name: "issuer without host", edits: []edit{{k8sIssuer, "issuer: https:///id"}}, want: []string{is0 + ".issuer"}, msg: "is not an https URL"},
		{name: "issuer with credentials", edits: []edit{{k8sIssuer, "issuer: https://user:pw@oidc.example.com"}}, want: []string{is0 + ".issuer"}, msg: "is not an https URL"},
		{name: "issuer with query", edits: []edit{{k8sIssuer, "issuer: https://oidc.example.com/?a=b"}}, want: []string{is0 + ".issuer"}, msg: "is not an https URL"},
		{name: "issuer with fragment", edits: []edit{{k8sIssuer, "issuer: https://oidc.example.com/#a"}}, want: []string{is0 + ".issuer"}, msg: "is not an https URL"},
		{name: "issuer twice", edits: []edit{issuerEntry(`{name: k8s2, issuer: "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE", audiences: [x]}`)}, want: []string{"identity.issuers[2].issuer"}, msg: "is already the issuer of identity.issuers[0]; a token's iss must lead to one issuer"},

		// jwks_url, jwks_file
		{name: "jwks_url and jwks_file", edits: []edit{{webJWKS, webJWKS + "\n      jwks_file: /etc/presignd/jwks.json"}}, want: []string{is1 + ".jwks_file"}, msg: "and jwks_url cannot both be set"},
		{name: "jwks_url over http", edits: []edit{{webJWKS, "jwks_url: http://login.example.com/keys"}}, want: []string{is1 + ".jwks_url"}, msg: "must be https"},
		{name: "jwks_url not a URL", edits: []edit{{webJWKS, "jwks_url: keys.json"}}, want: []string{is1 + ".jwks_url"}, msg: "is not an https URL"},

		// audiences
		{name: "audiences missing", edits: []edit{{"      audiences: [presignd]\n", ""}}, want: []string{is0 + ".audiences"}, msg: "at least one audience is required"},
		{name: "audiences empty", edits: []edit{{"audiences: [presignd]", "audiences: []"}}, want: []string{is0 + ".audiences"}, msg: "at least one audience is required"},
		{name: "audience empty", edits: []edit{{"audiences: [presignd]", `audiences: [""]`}}, want: []string{is0 + ".audiences[0]"}, msg: "is empty"},
		{name: "audience blank", edits: []edit{{"audiences: [presignd-web, presignd-admin]", `audiences: [presignd-web, "  "]`}}, want: []string{is1 + ".audiences[1]"}, msg: "is empty"},

		// algorithms
		{name: "algorithm none", edits: []edit{{"algorithms: [RS256]", "algorithms: [none]"}}, want: []string{is0 + ".algorithms[0]"}, msg: `"none" is not one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA (none and HMAC algorithms are never accepted)`},
		{name: "algorithm HS256", edits: []edit{{"algorithms: [RS256]", "algorithms: [RS256, HS256]"}}, want: []string{is0 + ".algorithms[1]"}, msg: `"HS256" is not one of`},
		{name: "algorithm unknown", edits: []edit{{"algorithms: [ES256, PS256]", "algorithms: [ES256, PS257]"}}, want: []string{is1 + ".algorithms[1]"}, msg: `"PS257" is not one of`},
		{name: "algorithm lowercase", edits: []edit{{"algorithms: [RS256]", "algorithms: [rs256]"}}, want: []string{is0 + ".algorithms[0]"}},

		// leeway, max_key_age
		{name: "leeway above 5m", edits: []edit{{"leeway: 1m", "leeway: 5m1s"}}, want: []string{is1 + ".leeway"}, msg: "must be between 0s and 5m"},
		{name: "leeway 1h", edits: []edit{{"leeway: 1m", "leeway: 1h"}}, want: []string{is1 + ".leeway"}},
		{name: "leeway negative", edits: []edit{{"leeway: 1m", "leeway: -1s"}}, want: []string{is1 + ".leeway"}},
		{name: "leeway not a duration", edits: []edit{{"leeway: 1m", "leeway: a bit"}}, want: []string{is1 + ".leeway"}, msg: "is not a duration"},
		{name: "max_key_age below 10m", edits: []edit{{"max_key_age: 12h", "max_key_age: 9m59s"}}, want: []string{is1 + ".max_key_age"}, msg: "must be between 10m and 30d"},
		{name: "max_key_age above 30d", edits: []edit{{"max_key_age: 12h", "max_key_age: 30d1s"}}, want: []string{is1 + ".max_key_age"}, msg: "must be between 10m and 30d"},
		{name: "max_key_age zero", edits: []edit{{"max_key_age: 12h", "max_key_age: 0s"}}, want: []string{is1 + ".max_key_age"}},

		// unknown keys
		{name: "issuer unknown key", edits: []edit{{"leeway: 1m", "leway: 1m"}}, want: []string{is1 + ".leway"}, msg: "unknown key"},
		{name: "identity unknown key", edits: []edit{{"  issuers:\n", "  issuer:\n"}}, want: []string{"identity.issuer", "clients[0].match[0].issuer", "clients[1].match[0].issuer", "clients[2].match[0].issuer"}, msg: "unknown key"},

		// identity.trusted_proxies
		{name: "proxy from missing", edits: []edit{{`    from: ["127.0.0.1/32", "10.1.2.3", "fd00:1::/64"]` + "\n", ""}}, want: []string{tp + ".from"}, msg: "at least one peer address or CIDR is required"},
		{name: "proxy from empty", edits: []edit{{`from: ["127.0.0.1/32", "10.1.2.3", "fd00:1::/64"]`, "from: []"}}, want: []string{tp + ".from"}, msg: "at least one peer"},
		{name: "proxy from a name", edits: []edit{{`"10.1.2.3"`, `"proxy.internal"`}}, want: []string{tp + ".from[1]"}, msg: `"proxy.internal" is not an IP address or CIDR prefix`},
		{name: "proxy from a bad CIDR", edits: []edit{{`"127.0.0.1/32"`, `"127.0.0.1/33"`}}, want: []string{tp + ".from[0]"}, msg: "is not an IP address or CIDR prefix"},
		{name: "proxy from with a port", edits: []edit{{`"10.1.2.3"`, `"10.1.2.3:4180"`}}, want: []string{tp + ".from[1]"}, msg: "is not an IP address or CIDR prefix"},
		{name: "proxy from every IPv4 peer", edits: []edit{{`"10.1.2.3"`, `"0.0.0.0/0"`}}, want: []string{tp + ".from[1]"}, msg: `"0.0.0.0/0" trusts every peer: anyone could send identity headers`},
		{name: "proxy from every IPv6 peer", edits: []edit{{`"fd00:1::/64"`, `"::/0"`}}, want: []string{tp + ".from[2]"}, msg: `"::/0" trusts every peer`},
		{name: "proxy from every peer unmasked", edits: []edit{{`"10.1.2.3"`, `"10.1.2.3/0"`}}, want: []string{tp + ".from[1]"}, msg: "trusts every peer"},
		{name: "user header with a space", edits: []edit{{"user_header: X-Auth-Request-Email", `user_header: "X Auth"`}}, want: []string{tp + ".user_header"}, msg: `"X Auth" is not an HTTP header name`},
		{name: "groups header with a colon", edits: []edit{{"groups_header: X-Auth-Request-Groups", `groups_header: "X-Groups:"`}}, want: []string{tp + ".groups_header"}, msg: `"X-Groups:" is not an HTTP header name`},
		{name: "user header Authorization", edits: []edit{{"user_header: X-Auth-Request-Email", "user_header: Authorization"}}, want: []string{tp + ".user_header"}, msg: "cannot be Authorization"},
		{name: "user header authorization lowercase", edits: []edit{{"user_header: X-Auth-Request-Email", "user_header: authorization"}}, want: []string{tp + ".user_header"}, msg: "cannot be authorization"},
		{name: "groups header Authorization", edits: []edit{{"groups_header: X-Auth-Request-Groups", "groups_header: AUTHORIZATION"}}, want: []string{tp + ".groups_header"}, msg: "cannot be AUTHORIZATION"},
		{name: "user header Cookie", edits: []edit{{"user_header: X-Auth-Request-Email", "user_header: Cookie"}}, want: []string{tp + ".user_header"}, msg: "cannot be Cookie"},
		{name: "user header is groups header", edits: []edit{{"user_header: X-Auth-Request-Email", "user_header: X-Auth-Request-Groups"}}, want: []string{tp + ".groups_header"}, msg: "must differ from user_header"},
		{name: "user header is groups header but for case", edits: []edit{{"user_header: X-Auth-Request-Email", "user_header: x-auth-request-groups"}}, want: []string{tp + ".groups_header"}, msg: "must differ from user_header"},
		{name: "user header is the default groups header", edits: []edit{{"user_header: X-Auth-Request-Email\n    groups_header: X-Auth-Request-Groups\n", "user_header: X-Auth-Request-Groups\n"}}, want: []string{tp + ".groups_header"}, msg: "must differ from user_header"},
		{name: "proxy unknown key", edits: []edit{{"user_header:", "user_headers:"}}, want: []string{tp + ".user_headers"}, msg: "unknown key"},

		// tls
		{name: "tls cert without key", edits: []edit{{" key_file: /etc/presignd/tls.key,", ""}}, want: []string{"tls.key_file"}, msg: "is required with tls"},
		{name: "tls key without cert", edits: []edit{{"{cert_file: /etc/presignd/tls.crt, ", "{"}}, want: []string{"tls.cert_file"}, msg: "is required with tls"},
		{name: "tls requires client certs without a CA", edits: []edit{{tlsLine, "tls: {cert_file: a.crt, key_file: a.key, require_client_cert: true}"}}, want: []string{"tls.require_client_cert", opsSPIFFE, opsDNS}, msg: "needs tls.client_ca_file, the CA that signs client certificates"},
		{name: "tls unknown key", edits: []edit{{"client_ca_file:", "ca_file:"}}, want: []string{"tls.ca_file", opsSPIFFE, opsDNS}, msg: "unknown key"},

		// clients[].match
		{name: "match names nothing", edits: []edit{{k8sMatch, "{}"}}, want: []string{"clients[0].match[0]"}, msg: "names nothing: give one of issuer, spiffe_id, dns_name, proxy_user, proxy_group"},
		{name: "match names two kinds", edits: []edit{{opsGroup, "{proxy_group: ops, proxy_user: bob@example.com}"}}, want: []string{"clients[3].match[0]"}, msg: "names more than one of issuer, spiffe_id, dns_name, proxy_user, proxy_group; list each as a match of its own"},
		{name: "match names an issuer and a certificate", edits: []edit{{k8sMatch, "{issuer: k8s, dns_name: a.example.org}"}}, want: []string{"clients[0].match[0]"}, msg: "names more than one of"},
		{name: "match names an unknown issuer", edits: []edit{{k8sMatch, "{issuer: nope}"}}, want: []string{"clients[0].match[0].issuer"}, msg: `"nope" is not the name of any identity.issuers entry`},
		{name: "match subject without issuer", edits: []edit{{k8sMatch, `{subject: "system:serviceaccount:reports:backend"}`}}, want: []string{"clients[0].match[0].issuer"}, msg: "is required with subject or claims"},
		{name: "match claims without issuer", edits: []edit{{"{issuer: web, claims: {role: admin}}", "{claims: {role: admin}}"}}, want: []string{"clients[1].match[0].issuer"}, msg: "is required with subject or claims"},
		{name: "match subject with a proxy group", edits: []edit{{opsGroup, "{proxy_group: ops, subject: alice}"}}, want: []string{"clients[3].match[0]"}, msg: "subject and claims apply to issuer matches only"},
		{name: "match claims with a SPIFFE ID", edits: []edit{{opsSPIFFEMatch, `{spiffe_id: "spiffe://example.org/x", claims: {role: admin}}`}}, want: []string{opsSPIFFE}, msg: "subject and claims apply to issuer matches only"},
		{name: "match claim name with a dot", edits: []edit{{"claims: {role: admin}", `claims: {"team.role": admin}`}}, want: []string{"clients[1].match[0].claims.team.role"}, msg: `"team.role" is not a claim name (letters, digits, '_' and '-')`},
		{name: "match claim name with a space", edits: []edit{{"claims: {role: admin}", `claims: {"my role": admin}`}}, want: []string{"clients[1].match[0].claims.my role"}, msg: "is not a claim name"},
		{name: "match claim names sorted", edits: []edit{{"claims: {role: admin}", `claims: {"z.z": a, "a.a": b}`}}, want: []string{"clients[1].match[0].claims.a.a", "clients[1].match[0].claims.z.z"}},
		{name: "match unknown key", edits: []edit{{opsGroup, "{proxy_groups: ops}"}}, want: []string{"clients[3].match[0].proxy_groups", "clients[3].match[0]"}, msg: "unknown key"},
		{name: "client with neither token nor match", edits: []edit{{"    match:\n      - " + k8sMatch + "\n", ""}}, want: []string{"clients[0].token_sha256"}, msg: "is required unless match names the client's principals (presignd hash-token prints it)"},
		{name: "client with an empty match list", edits: []edit{{"    match:\n      - " + k8sMatch + "\n", "    match: []\n"}}, want: []string{"clients[0].token_sha256"}, msg: "is required unless match"},
		{name: "client with a bad token and a match", edits: []edit{{"    match:\n      - " + k8sMatch + "\n", "    token_sha256: abc\n    match:\n      - " + k8sMatch + "\n"}}, want: []string{"clients[0].token_sha256"}, msg: "must be 64 lowercase hex digits"},

		// clients[].match[].spiffe_id
		{name: "spiffe_id uppercase trust domain", edits: []edit{{opsSPIFFEMatch, `{spiffe_id: "spiffe://Example.org/ns/ops"}`}}, want: []string{opsSPIFFE + ".spiffe_id"}, msg: `"spiffe://Example.org/ns/ops" is not a SPIFFE ID such as spiffe://example.org/ns/ops/sa/dashboard`},
		{name: "spiffe_id with a port", edits: []edit{{opsSPIFFEMatch, `{spiffe_id: "spiffe://example.org:443/ns/ops"}`}}, want: []string{opsSPIFFE + ".spiffe_id"}, msg: "is not a SPIFFE ID"},
		{name: "spiffe_id with a query", edits: []edit{{opsSPIFFEMatch, `{spiffe_id: "spiffe://example.org/ns/ops?x=1"}`}}, want: []string{opsSPIFFE + ".spiffe_id"}, msg: "is not a SPIFFE ID"},
		{name: "spiffe_id with a fragment", edits: []edit{{opsSPIFFEMatch, `{spiffe_id: "spiffe://example.org/ns/ops#x"}`}}, want: []string{opsSPIFFE + ".spiffe_id"}, msg: "is not a SPIFFE ID"},
		{name: "spiffe_id with a user", edits: []edit{{opsSPIFFEMatch, `{spiffe_id: "spiffe://ops@example.org/ns/ops"}`}}, want: []string{opsSPIFFE + ".spiffe_id"}, msg: "is not a SPIFFE ID"},
		{name: "spiffe_id with a trailing slash", edits: []edit{{opsSPIFFEMatch, `{spiffe_id: "spiffe://example.org/ns/ops/"}`}}, want: []string{opsSPIFFE + ".spiffe_id"}, msg: "is not a SPIFFE ID"},
		{name: "spiffe_id trust domain with a slash", edits: []edit{{opsSPIFFEMatch, `{spiffe_id: "spiffe://example.org/"}`}}, want: []string{opsSPIFFE + ".spiffe_id"}, msg: "is not a SPIFFE ID"},
		{name: "spiffe_id with an empty segment", edits: []edit{{opsSPIFFEMatch, `{spiffe_id: "spiffe://example.org/ns//ops"}`}}, want: []string{opsSPIFFE + ".spiffe_id"}, msg: "is not a SPIFFE ID"},
		{name: "spiffe_id with a dot-dot segment", edits: []edit{{opsSPIFFEMatch, `{spiffe_id: "spiffe://example.org/ns/../ops"}`}}, want: []string{opsSPIFFE + ".spiffe_id"}, msg: "is not a SPIFFE ID"},
		{name: "spiffe_id with a dot segment", edits: []edit{{opsSPIFFEMatch, `{spiffe_id: "spiffe://example.org/./ops"}`}}, want: []string{opsSPIFFE + ".spiffe_id"}, msg: "is not a SPIFFE ID"},
		{name: "spiffe_id with another scheme", edits: []edit{{opsSPIFFEMatch, `{spiffe_id: "https://example.org/ns/ops"}`}}, want: []string{opsSPIFFE + ".spiffe_id"}, msg: "is not a SPIFFE ID"},
		{name: "spiffe_id without trust domain", edits: []edit{{opsSPIFFEMatch, `{spiffe_id: "spiffe:///ns/ops"}`}}, want: []string{opsSPIFFE + ".spiffe_id"}, msg: "is not a SPIFFE ID"},
		{name: "spiffe_id without slashes", edits: []edit{{opsSPIFFEMatch, `{spiffe_id: "spiffe:example.org/ns/ops"}`}}, want: []string{opsSPIFFE + ".spiffe_id"}, msg: "is not a SPIFFE ID"},

		// matches of a source that is not configured
		{name: "certificate matches without tls", edits: []edit{{tlsLine + "\n", ""}}, want: []string{opsSPIFFE, opsDNS}, msg: "matches a client certificate, and tls.client_ca_file is not set"},
		{name: "certificate matches without a client CA", edits: []edit{{", client_ca_file: /etc/presignd/ca.crt", ""}}, want: []string{opsSPIFFE, opsDNS}, msg: "matches a client certificate, and tls.client_ca_file is not set"},
		{name: "proxy matches without trusted_proxies", edits: []edit{{proxyBlock, ""}}, want: []string{"clients[3].match[0]", "clients[3].match[1]"}, msg: "matches the trusted proxy's headers, and identity.trusted_proxies is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(apply(t, identityConfig, tt.edits...)))
			if err == nil {
				t.Fatalf("got no error, want problems at %q", tt.want)
			}
			paths, problems := problemPaths(t, err)
			if diff := cmp.Diff(tt.want, paths); diff != "" {
				t.Fatalf("problem paths mismatch:\n%s\nproblems: %q", diff, problems)
			}
			if tt.msg != "" && !strings.Contains(problems[0], tt.msg) {
				t.Errorf("got problem %q, want it to contain %q", problems[0], tt.msg)
			}
		})
	}
}

// TestValidIdentityVariants are edits of identityConfig that stay valid.
func TestValidIdentityVariants(t *testing.T) {
	const k8sIssuer = "issuer: https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
	tests := []struct {
		name  string
		edits []edit
	}{
		{name: "issuer over http on 127.0.0.1", edits: []edit{{k8sIssuer, "issuer: http://127.0.0.1:5556/dex"}}},
		{name: "issuer over http on localhost", edits: []edit{{k8sIssuer, "issuer: http://localhost:5556"}}},
		{name: "issuer over http on ::1", edits: []edit{{k8sIssuer, "issuer: http://[::1]:5556"}}},
		{name: "jwks_file instead of jwks_url", edits: []edit{{"jwks_url: https://login.example.com/realms/app/keys", "jwks_file: /etc/presignd/jwks.json"}}},
		{name: "every algorithm", edits: []edit{{"algorithms: [RS256]", "algorithms: [" + strings.Join(config.Algorithms, ", ") + "]"}}},
		{name: "no algorithms", edits: []edit{{"      algorithms: [RS256]\n", ""}}},
		{name: "leeway 0s", edits: []edit{{"leeway: 1m", "leeway: 0s"}}},
		{name: "leeway 5m", edits: []edit{{"leeway: 1m", "leeway: 5m"}}},
		{name: "max_key_age 10m", edits: []edit{{"max_key_age: 12h", "max_key_age: 10m"}}},
		{name: "max_key_age 30d", edits: []edit{{"max_key_age: 12h", "max_key_age: 30d"}}},
		{name: "default proxy headers", edits: []edit{{"    user_header: X-Auth-Request-Email\n    groups_header: X-Auth-Request-Groups\n", ""}}},
		{name: "proxy peer unmasked CIDR", edits: []edit{{`"127.0.0.1/32"`, `"127.0.0.1/8"`}}},
		{name: "proxy peer IPv6 loopback", edits: []edit{{`"fd00:1::/64"`, `"::1"`}}},
		{name: "tls without client certificates", edits: []edit{{", client_ca_file: /etc/presignd/ca.crt", ""}, {"      - {spiffe_id: \"spiffe://example.org/ns/ops/sa/dashboard\"}\n      - {dns_name: dashboard.ops.example.org}\n", ""}}},
		{name: "tls requiring client certificates", edits: []edit{{"client_ca_file: /etc/presignd/ca.crt", "client_ca_file: /etc/presignd/ca.crt, require_client_cert: true"}}},
		{name: "spiffe_id of a trust domain", edits: []edit{{`"spiffe://example.org/ns/ops/sa/dashboard"`, `"spiffe://example.org"`}}},
		{name: "a token beside matches", edits: []edit{{"  - name: ops\n", "  - name: ops\n    token_sha256: \"" + reportsHash + "\"\n"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := config.Parse([]byte(apply(t, identityConfig, tt.edits...))); err != nil {
				t.Errorf("got error %v, want a valid config", err)
			}
		})
	}
}

// TestSPIFFEIDEmptyQueryOrFragment: spiffe_id must be a SPIFFE ID, which has no
// query and no fragment, not even an empty one (a bare "?" or "#", which url.Parse
// leaves no trace of).
func TestSPIFFEIDEmptyQueryOrFragment(t *testing.T) {
	const opsSPIFFEMatch = `{spiffe_id: "spiffe://example.org/ns/ops/sa/dashboard"}`
	for _, id := range []string{"spiffe://example.org/ns/ops?", "spiffe://example.org/ns/ops#", "spiffe://example.org?"} {
		_, err := config.Parse([]byte(apply(t, identityConfig, edit{opsSPIFFEMatch, `{spiffe_id: "` + id + `"}`})))
		if err == nil {
			t.Errorf("spiffe_id %q: got no error, want clients[3].match[2].spiffe_id: ... is not a SPIFFE ID", id)
			continue
		}
		if paths, problems := problemPaths(t, err); !cmp.Equal(paths, []string{"clients[3].match[2].spiffe_id"}) {
			t.Errorf("spiffe_id %q: got problems %q, want one at clients[3].match[2].spiffe_id", id, problems)
		}
	}
}

// TestSPIFFEIDCharactersOutsideSPIFFE: a SPIFFE ID's path holds only letters,
// digits, '.', '-' and '_', never a percent-encoding; a spiffe_id with others could
// never match a certificate, so it is refused.
func TestSPIFFEIDCharactersOutsideSPIFFE(t *testing.T) {
	const opsSPIFFEMatch = `{spiffe_id: "spiffe://example.org/ns/ops/sa/dashboard"}`
	for _, id := range []string{"spiffe://example.org/ns/a b", "spiffe://example.org/ns/é", "spiffe://example.org/ns/a%2Fb"} {
		_, err := config.Parse([]byte(apply(t, identityConfig, edit{opsSPIFFEMatch, `{spiffe_id: "` + id + `"}`})))
		if err == nil {
			t.Errorf("spiffe_id %q: got no error, want clients[3].match[2].spiffe_id: ... is not a SPIFFE ID", id)
		}
	}
}
