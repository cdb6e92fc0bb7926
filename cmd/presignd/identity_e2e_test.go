package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/testenv"
	"github.com/presignd/presignd/internal/testenv/s3server"
)

// jwtConfig is a presignd whose only callers are the users of one OIDC issuer, each in
// their own prefix, and a team whose claim names its shared prefix.
func jwtConfig(s *s3server.Server, iss *testenv.OIDCIssuer, extra string) string {
	return testConfig(`  - name: team-red
    match:
      - {issuer: web, claims: {team: red}}
    grants:
      - {bucket: `+bucketMain+`, prefixes: ["teams/{claims.team}/"], methods: [GET, PUT], max_ttl: 1h}
  - name: web-users
    match:
      - {issuer: web}
    grants:
      - {bucket: `+bucketMain+`, prefixes: ["uploads/{subject}/"], methods: [PUT, GET], max_ttl: 1h}
`, configOptions{S3: s, Extra: fmt.Sprintf(`identity:
  issuers:
    - name: web
      issuer: %s
      audiences: [%s]
      algorithms: [RS256, ES256]
%s`, iss.URL(), testenv.OIDCAudience, extra)})
}

// TestE2EJWTCallers: users of a web app call presignd with their IdP's access tokens,
// each limited to their own prefix, and use the URLs against versitygw.
func TestE2EJWTCallers(t *testing.T) {
	s := s3server.Start(t)
	s.CreateBucket(t, bucketMain)
	iss := testenv.NewOIDCIssuer(t)
	p := startPresignd(t, jwtConfig(s, iss, ""))
	alice := iss.Token("alice")
	aliceES := iss.Token("alice", testenv.TokenAlg("ES256"))

	for _, tok := range []string{alice, aliceES} {
		key := "uploads/alice/photo.txt"
		put := p.presign(t, tok, map[string]any{"bucket": bucketMain, "key": key, "method": "PUT", "expires_in": 300})
		if r := use(t, put.Method, put.URL, put.Headers, []byte("alice's bytes")); r.status != http.StatusOK {
			t.Fatalf("PUT on alice's URL: got %d %s", r.status, testenv.Clip(r.body))
		}
		get := p.presign(t, tok, map[string]any{"bucket": bucketMain, "key": key, "method": "GET", "expires_in": 300})
		if r := use(t, get.Method, get.URL, get.Headers, nil); r.status != http.StatusOK || string(r.body) != "alice's bytes" {
			t.Fatalf("GET on alice's URL: got %d %q", r.status, testenv.Clip(r.body))
		}
	}
	// Another user's prefix, and the parent prefix, are not alice's.
	for _, key := range []string{"uploads/bob/photo.txt", "uploads/photo.txt", "uploads/alice2/x"} {
		if pr := p.refused(t, alice, map[string]any{"bucket": bucketMain, "key": key, "method": "GET"}, http.StatusForbidden); pr.Reason != "prefix_not_allowed" {
			t.Errorf("alice asking for %q: got reason %q, want prefix_not_allowed", key, pr.Reason)
		}
	}
	// A claim places a caller in the first client that matches: team red's member.
	red := iss.Token("carol", testenv.TokenClaim("team", "red"))
	p.presign(t, red, map[string]any{"bucket": bucketMain, "key": "teams/red/plan.txt", "method": "PUT", "expires_in": 60})
	p.refused(t, red, map[string]any{"bucket": bucketMain, "key": "uploads/carol/x", "method": "PUT"}, http.StatusForbidden)

	// Explain shows the prefix expanded for the caller.
	status, _, body := p.post(t, alice, "/v1/explain", map[string]any{"bucket": bucketMain, "key": "uploads/alice/a", "method": "GET"})
	var ex struct {
		Allowed bool
		Grant   struct{ Prefix string }
	}
	if err := json.Unmarshal(body, &ex); status != 200 || err != nil || !ex.Allowed || ex.Grant.Prefix != "uploads/alice/" {
		t.Errorf("explain for alice: got %d %s, want allowed under uploads/alice/", status, body)
	}

	// Subjects that are not one key segment never widen a prefix: they deny.
	for _, sub := range []string{"..", ".", "a/b", "../bob", "x\u0000y", "tab\there", strings.Repeat("a", 129), `a\b`} {
		tok := iss.Token(sub)
		pr := p.refused(t, tok, map[string]any{"bucket": bucketMain, "key": "uploads/x/y", "method": "GET"}, http.StatusForbidden)
		if pr.Reason != "identity_not_usable" {
			t.Errorf("subject %q: got reason %q, want identity_not_usable", sub, pr.Reason)
		}
	}

	// Tokens presignd must refuse: each a 401 naming why, never a URL.
	for _, tc := range []struct {
		name, token, reason string
	}{
		{"expired", iss.Token("alice", testenv.TokenExpired()), "expired"},
		{"not yet valid", iss.Token("alice", testenv.TokenNotYetValid()), "not_yet_valid"},
		{"wrong audience", iss.Token("alice", testenv.TokenAudience("someone-else")), "bad_audience"},
		{"wrong issuer", iss.Token("alice", testenv.TokenIssuer("https://evil.example")), "bad_issuer"},
		{"alg none", iss.Token("alice", testenv.TokenAlgNone()), "bad_algorithm"},
		{"HS256 keyed with the public key", iss.Token("alice", testenv.TokenHS256PublicKey()), "bad_algorithm"},
		{"unknown kid", iss.Token("alice", testenv.TokenUnknownKey()), "unknown_key"},
		{"tampered", iss.Token("alice", testenv.TokenTampered()), "bad_signature"},
	} {
		pr := p.refused(t, tc.token, map[string]any{"bucket": bucketMain, "key": "uploads/alice/photo.txt"}, http.StatusUnauthorized)
		if pr.Code != "unauthenticated" || pr.Reason != tc.reason {
			t.Errorf("%s: got %s/%s, want unauthenticated/%s", tc.name, pr.Code, pr.Reason, tc.reason)
		}
	}

	// The issuer goes down: the cached keys keep serving its callers.
	iss.Stop()
	p.presign(t, alice, map[string]any{"bucket": bucketMain, "key": "uploads/alice/photo.txt", "method": "GET", "expires_in": 60})
	// Readiness does not depend on an issuer.
	if resp, err := http.Get(p.AdminURL + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/readyz with the issuer down: %v %v, want 200", resp, err)
	}
	iss.Start()

	// The audit line names the principal and its subject; no token reaches any log
	// line or metric.
	var audited bool
	for _, l := range p.LogLines(t) {
		if l["msg"] == "presign" && l["principal"] == "jwt" && l["subject"] == "alice" && l["client"] == "web-users" {
			audited = true
		}
	}
	if !audited {
		t.Errorf("no audit line names principal jwt, subject alice, client web-users:\n%s", p.Logs())
	}
	text, fams := scrape(t, p.AdminURL+"/metrics")
	for _, tok := range []string{alice, aliceES, red} {
		for _, part := range strings.Split(tok, ".") {
			if strings.Contains(p.Logs(), part) || strings.Contains(text, part) {
				t.Fatalf("a part of a token reached the log or the metrics")
			}
		}
	}
	failures := map[string]float64{}
	for _, m := range fams["presignd_auth_failures_total"].GetMetric() {
		failures[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
	}
	for _, reason := range []string{"expired", "not_yet_valid", "bad_audience", "bad_issuer", "bad_algorithm", "unknown_key", "bad_signature"} {
		if failures[reason] < 1 {
			t.Errorf("presignd_auth_failures_total{reason=%q} = %v, want at least 1", reason, failures[reason])
		}
	}
}

// TestE2EJWTIssuerUnavailable: with no keys ever fetched and the issuer down, a JWT
// caller gets 503 identity_unavailable while static-token callers are served.
func TestE2EJWTIssuerUnavailable(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	tok := iss.Token("alice")
	iss.Stop()
	cfg := jwtConfig(nil, iss, "") + clientYAML("app", appToken, `[{bucket: media, prefixes: [""], methods: [GET], max_ttl: 1h}]`)
	p := startPresignd(t, cfg)
	status, h, body := p.post(t, tok, "/v1/presign", map[string]any{"bucket": bucketMain, "key": "uploads/alice/a"})
	if status != http.StatusServiceUnavailable || !bytes.Contains(body, []byte(`"code":"identity_unavailable"`)) || h.Get("Retry-After") == "" {
		t.Errorf("JWT caller with the issuer down: got %d %s (Retry-After %q), want 503 identity_unavailable with Retry-After", status, body, h.Get("Retry-After"))
	}
	p.presign(t, appToken, map[string]any{"bucket": "media", "key": "a", "method": "GET"})
	// The issuer comes back: served without a restart (after the miss interval).
	iss.Start()
	deadline := 15
	for i := 0; ; i++ {
		status, _, body = p.post(t, tok, "/v1/presign", map[string]any{"bucket": bucketMain, "key": "uploads/alice/a"})
		if status == http.StatusOK {
			break
		}
		if i == deadline*2 {
			t.Fatalf("the issuer is back, and the JWT caller still gets %d %s", status, body)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
