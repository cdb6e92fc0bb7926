package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/testenv"
	"github.com/presignd/presignd/internal/testenv/s3server"
)

// proxyClients: the ops group reads and writes under ops/; alice and bob each under
// their own home/{subject}/; "app" by its token.
var proxyClients = `  - name: ops
    match:
      - {proxy_group: ops}
    grants: [{bucket: ` + bucketMain + `, prefixes: ["ops/"], methods: [GET, PUT], max_ttl: 1h}]
  - name: people
    match:
      - {proxy_user: alice@example.com}
      - {proxy_user: bob@example.com}
    grants: [{bucket: ` + bucketMain + `, prefixes: ["home/{subject}/"], methods: [GET, PUT], max_ttl: 1h}]
  - name: app
    token_sha256: "` + config.HashToken(appToken) + `"
    grants: [{bucket: ` + bucketMain + `, prefixes: ["app/"], methods: [GET], max_ttl: 1h}]
`

// proxyConfig is a presignd that reads the default identity headers of peers in from.
func proxyConfig(s *s3server.Server, from string) string {
	return testConfig(proxyClients, configOptions{S3: s, Extra: fmt.Sprintf(`identity:
  trusted_proxies:
    from: [%q]
`, from)})
}

// viaProxy asks for a URL as an auth proxy in front of presignd would, with header
// (the identity headers, and any other) and the bearer token ("" for none).
func (p *presignd) viaProxy(t testing.TB, token string, header map[string]string, req map[string]any) (status int, body []byte) {
	t.Helper()
	data, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.NewRequest(http.MethodPost, p.URL+"/v1/presign", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		r.Header.Set(k, v)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(r)
	if err != nil {
		t.Fatalf("POST /v1/presign: %v", err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST /v1/presign: reading the answer: %v", err)
	}
	return resp.StatusCode, body
}

// proxyPresign asks through the proxy for a URL, failing the test unless it gets one.
func (p *presignd) proxyPresign(t testing.TB, header map[string]string, req map[string]any) presignResult {
	t.Helper()
	status, body := p.viaProxy(t, "", header, req)
	if status != http.StatusOK {
		t.Fatalf("POST /v1/presign %v as %v: got %d %s, want 200", req, header, status, body)
	}
	var res presignResult
	if err := json.Unmarshal(body, &res); err != nil || res.URL == "" {
		t.Fatalf("decoding the presign answer %s: %v", body, err)
	}
	return res
}

// proxyRefused asks through the proxy and fails the test unless the answer is want
// with code and reason.
func (p *presignd) proxyRefused(t testing.TB, what, token string, header map[string]string, req map[string]any, want int, code, reason string) {
	t.Helper()
	status, body := p.viaProxy(t, token, header, req)
	var pr problem
	if status != want || json.Unmarshal(body, &pr) != nil || pr.Code != code || pr.Reason != reason {
		t.Errorf("%s: got %d %s, want %d %s/%s", what, status, body, want, code, reason)
	}
}

func proxyUser(user, groups string) map[string]string {
	h := map[string]string{"X-Auth-Request-Email": user}
	if groups != "" {
		h["X-Auth-Request-Groups"] = groups
	}
	return h
}

// TestE2EProxyCallers: behind a trusted auth proxy, its identity headers name the
// caller: a group or a user maps to a client, {subject} is the user, and the URLs work
// against versitygw.
func TestE2EProxyCallers(t *testing.T) {
	t.Parallel()
	s := s3server.Start(t)
	s.CreateBucket(t, bucketMain)
	p := startPresignd(t, proxyConfig(s, "127.0.0.1/32"))

	for _, tc := range []struct {
		name   string
		header map[string]string
		key    string
	}{
		// Groups are comma-separated, with spaces around them as proxies send them.
		{"a member of ops", proxyUser("carol@example.com", "dev, ops ,qa"), "ops/runbook.txt"},
		{"alice by name", proxyUser("alice@example.com", "dev"), "home/alice@example.com/notes.txt"},
	} {
		content := []byte("bytes of " + tc.name)
		put := p.proxyPresign(t, tc.header, map[string]any{"bucket": bucketMain, "key": tc.key, "method": "PUT", "expires_in": 300})
		if r := use(t, put.Method, put.URL, put.Headers, content); r.status != http.StatusOK {
			t.Fatalf("%s: PUT on the URL: got %d %s", tc.name, r.status, testenv.Clip(r.body))
		}
		get := p.proxyPresign(t, tc.header, map[string]any{"bucket": bucketMain, "key": tc.key, "method": "GET", "expires_in": 300})
		if r := use(t, get.Method, get.URL, get.Headers, nil); r.status != http.StatusOK || !bytes.Equal(r.body, content) {
			t.Fatalf("%s: GET on the URL: got %d %q, want 200 %q", tc.name, r.status, testenv.Clip(r.body), content)
		}
	}

	alice := proxyUser("alice@example.com", "")
	// {subject} is alice's own prefix: another user's, and the parent, are not hers.
	for _, key := range []string{"home/bob@example.com/notes.txt", "home/notes.txt", "home/alice@example.com.evil/x"} {
		p.proxyRefused(t, "alice asking for "+key, "", alice, map[string]any{"bucket": bucketMain, "key": key, "method": "GET"},
			http.StatusForbidden, "forbidden", "prefix_not_allowed")
	}
	p.proxyPresign(t, proxyUser("bob@example.com", ""), map[string]any{"bucket": bucketMain, "key": "home/bob@example.com/notes.txt", "method": "GET"})

	req := map[string]any{"bucket": bucketMain, "key": "ops/runbook.txt", "method": "GET"}
	p.proxyRefused(t, "a user of no client", "", proxyUser("dave@example.com", "dev, qa"), req, http.StatusUnauthorized, "unauthenticated", "no_client")
	p.proxyRefused(t, "a group that only starts with ops", "", proxyUser("dave@example.com", "ops-admins, devops"), req, http.StatusUnauthorized, "unauthenticated", "no_client")
	p.proxyRefused(t, "groups without a user", "", map[string]string{"X-Auth-Request-Groups": "ops"}, req, http.StatusUnauthorized, "unauthenticated", "missing")
	// The Authorization header decides alone: a bad token beside the headers of a
	// trusted proxy fails, and a good one is its own client's.
	p.proxyRefused(t, "a bad token with the proxy's headers", "not-a-token-of-anyone", proxyUser("carol@example.com", "ops"), req, http.StatusUnauthorized, "unauthenticated", "unknown_token")
	p.proxyRefused(t, "app's token with the headers of ops", appToken, proxyUser("carol@example.com", "ops"), req, http.StatusForbidden, "forbidden", "prefix_not_allowed")

	// The audit line names the principal kind and the user.
	want := map[string]string{"carol@example.com": "ops", "alice@example.com": "people"}
	for _, l := range p.LogLines(t) {
		if l["msg"] == "presign" && l["principal"] == "proxy" && want[fmt.Sprint(l["subject"])] == l["client"] {
			delete(want, fmt.Sprint(l["subject"]))
		}
	}
	if len(want) > 0 {
		t.Errorf("no audit line names principal proxy with subject and client %v:\n%s", want, p.Logs())
	}
	_, fams := scrape(t, p.AdminURL+"/metrics")
	for _, reason := range []string{"missing", "no_client", "unknown_token"} {
		if got := value(fams, "presignd_auth_failures_total", map[string]string{"reason": reason}); got < 1 {
			t.Errorf("presignd_auth_failures_total{reason=%q} = %v, want at least 1", reason, got)
		}
	}
}

// TestE2EProxyHeadersFromUntrustedPeer: a presignd trusting only a proxy at 192.0.2.0/24
// ignores the identity headers of a caller that is not there (this test, on
// loopback): they name no one, whatever they say and whatever forwarding headers
// claim the peer is.
func TestE2EProxyHeadersFromUntrustedPeer(t *testing.T) {
	t.Parallel()
	p := startPresignd(t, proxyConfig(nil, "192.0.2.0/24"))
	for _, tc := range []struct {
		name   string
		header map[string]string
		key    string
	}{
		{"a member of ops", proxyUser("carol@example.com", "ops"), "ops/runbook.txt"},
		{"alice by name", proxyUser("alice@example.com", ""), "home/alice@example.com/notes.txt"},
		{"alice, claiming to come through the proxy", map[string]string{
			"X-Auth-Request-Email": "alice@example.com",
			"X-Forwarded-For":      "192.0.2.7",
			"X-Real-Ip":            "192.0.2.7",
			"Forwarded":            "for=192.0.2.7",
		}, "home/alice@example.com/notes.txt"},
	} {
		p.proxyRefused(t, tc.name+" from an untrusted peer", "", tc.header, map[string]any{"bucket": bucketMain, "key": tc.key, "method": "GET"},
			http.StatusUnauthorized, "unauthenticated", "missing")
	}
	// A caller with its own token is served as usual.
	p.presign(t, appToken, map[string]any{"bucket": bucketMain, "key": "app/a", "method": "GET"})
	for _, l := range p.LogLines(t) {
		if l["principal"] == "proxy" {
			t.Errorf("a log line names a proxy principal: %v", l)
		}
	}
}
