package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/presignd/presignd/internal/api"
	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/signer"
	"github.com/presignd/presignd/internal/testenv"
	"github.com/presignd/presignd/internal/testenv/syncbuf"
)

// endpoint is where testdata/config.yaml signs every URL, path-style.
const endpoint = "http://127.0.0.1:7070"

// link sends method to the raw path (escapes as given) with the token; header holds
// extra name, value pairs.
func (f *fixture) link(t testing.TB, method, rawPath, token string, header ...string) result {
	t.Helper()
	req, err := http.NewRequest(method, f.url+rawPath, nil)
	if err != nil {
		t.Fatalf("%s: %v", rawPath, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	r := f.do(t, req, nil)
	if loc := r.header.Get("Location"); loc != "" {
		if strings.Contains(r.logs, loc) {
			t.Errorf("%s %s: the log holds the URL of the redirect", method, rawPath)
		}
		if u, err := url.Parse(loc); err == nil {
			if sig := u.Query().Get("X-Amz-Signature"); sig == "" || strings.Contains(r.logs, sig) {
				t.Errorf("%s %s: the URL has no signature, or the log holds it (%q)", method, rawPath, sig)
			}
		}
	}
	return r
}

// presignURL is the URL POST /v1/presign issues for body: with the pinned clock, the
// very URL a link must redirect to.
func (f *fixture) presignURL(t testing.TB, token string, body map[string]any) string {
	t.Helper()
	b, _ := json.Marshal(body)
	r := f.post(t, token, string(b))
	if r.status != http.StatusOK {
		t.Fatalf("POST /v1/presign %s: got %d %s", b, r.status, r.body)
	}
	return r.presigned.URL
}

// checkRedirect checks a link's 307 and its headers and returns the Location.
func checkRedirect(t testing.TB, r result) string {
	t.Helper()
	if r.status != http.StatusTemporaryRedirect {
		t.Fatalf("status: got %d, want 307\nbody: %s", r.status, testenv.Clip(r.body))
	}
	for name, want := range map[string]string{
		"Cache-Control":   "no-store",
		"Referrer-Policy": "no-referrer",
	} {
		if got := r.header.Get(name); got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
	loc := r.header.Get("Location")
	if !strings.HasPrefix(loc, endpoint+"/") {
		t.Errorf("Location: got %q, want a URL of %s", loc, endpoint)
	}
	return loc
}

// checkRefused checks a refused link: the problem, and no Location.
func checkRefused(t testing.TB, r result, status int, code, reason string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status: got %d, want %d\nbody: %s", r.status, status, testenv.Clip(r.body))
	}
	if loc := r.header.Get("Location"); loc != "" {
		t.Errorf("a refused link has Location %q", loc)
	}
	if r.problem.Code != code || r.problem.Reason != reason {
		t.Errorf("problem: got %q, %q (%s), want %q, %q", r.problem.Code, r.problem.Reason, r.problem.Detail, code, reason)
	}
}

func TestLinkRedirects(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	for _, tc := range []struct {
		name      string
		method    string
		path      string
		presign   map[string]any // the POST /v1/presign body of the same request
		expiresIn int64
		cappedBy  string
	}{
		{name: "GET, default lifetime", method: http.MethodGet, path: "/v1/objects/media/reports/q3.pdf",
			presign: map[string]any{"bucket": "media", "key": "reports/q3.pdf", "expires_in": 300}, expiresIn: 300},
		{name: "HEAD is signed as HEAD", method: http.MethodHead, path: "/v1/objects/media/reports/q3.pdf",
			presign: map[string]any{"bucket": "media", "key": "reports/q3.pdf", "method": "HEAD", "expires_in": 300}, expiresIn: 300},
		{name: "expires_in", method: http.MethodGet, path: "/v1/objects/media/reports/q3.pdf?expires_in=3600",
			presign: map[string]any{"bucket": "media", "key": "reports/q3.pdf", "expires_in": 3600}, expiresIn: 3600},
		{name: "expires_in capped by the grant", method: http.MethodGet, path: "/v1/objects/media/reports/q3.pdf?expires_in=999999",
			presign: map[string]any{"bucket": "media", "key": "reports/q3.pdf", "expires_in": 86400}, expiresIn: 86400, cappedBy: "policy"},
		{name: "expires_in capped at 7 days", method: http.MethodGet, path: "/v1/objects/archive/2026/x.csv?expires_in=9999999",
			presign: map[string]any{"bucket": "archive", "key": "2026/x.csv", "expires_in": 604800}, expiresIn: 604800, cappedBy: "policy"}, // a tie names the policy
		{name: "version_id and download_filename", method: http.MethodGet,
			path:    "/v1/objects/media/reports/q3.pdf?version_id=3HL4kqtJlcpX&download_filename=Q3%20r%C3%A9sum%C3%A9%20%2B%20notes.pdf",
			presign: map[string]any{"bucket": "media", "key": "reports/q3.pdf", "expires_in": 300, "version_id": "3HL4kqtJlcpX", "download_filename": "Q3 résumé + notes.pdf"}, expiresIn: 300},
		{name: "+ in the query is a space", method: http.MethodGet, path: "/v1/objects/media/reports/q3.pdf?download_filename=Q3+summary.pdf",
			presign: map[string]any{"bucket": "media", "key": "reports/q3.pdf", "expires_in": 300, "download_filename": "Q3 summary.pdf"}, expiresIn: 300},
		{name: "HEAD with download_filename", method: http.MethodHead, path: "/v1/objects/media/reports/q3.pdf?download_filename=a.pdf",
			presign: map[string]any{"bucket": "media", "key": "reports/q3.pdf", "method": "HEAD", "expires_in": 300, "download_filename": "a.pdf"}, expiresIn: 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := f.presignURL(t, reportsToken, tc.presign)
			r := f.link(t, tc.method, tc.path, reportsToken, "X-Request-Id", "link-"+strings.ReplaceAll(tc.name, " ", "-"))
			loc := checkRedirect(t, r)
			if loc != want {
				t.Errorf("Location:\ngot  %s\nwant %s (the URL of the same presign)", loc, want)
			}
			if tc.method == http.MethodGet && !strings.Contains(string(r.body), "pre-signed") {
				t.Errorf("body: got %q, want a short text", r.body)
			}
			if len(r.audit) != 1 {
				t.Fatalf("got %d audit lines, want 1: %v", len(r.audit), r.audit)
			}
			a := r.audit[0]
			for _, c := range []struct {
				field     string
				got, want any
			}{
				{"operation", a.str("operation"), "link"},
				{"client", a.str("client"), "reports"},
				{"principal", a.str("principal"), "token"},
				{"subject", a.str("subject"), "reports"},
				{"bucket", a.str("bucket"), tc.presign["bucket"]},
				{"key", a.str("key"), tc.presign["key"]},
				{"method", a.str("method"), tc.method},
				{"expires_in", a.num("expires_in"), tc.expiresIn},
				{"capped_by", a.str("capped_by"), tc.cappedBy},
				{"outcome", a.str("outcome"), "issued"},
				{"request_id", a.str("request_id"), r.header.Get("X-Request-Id")},
			} {
				if c.got != c.want {
					t.Errorf("audit %s: got %v, want %v", c.field, c.got, c.want)
				}
			}
		})
	}
}

// TestLinkResponsesDocumented: every answer openapi.yaml documents for a link, GET
// and HEAD, is produced and matches the spec; a signer that returns something other
// than an absolute http(s) URL is an internal error, never a redirect.
func TestLinkResponsesDocumented(t *testing.T) {
	seen := map[string]bool{}
	ok := newFixture(t, fixtureOptions{seen: seen})
	noCredentials := newFixture(t, fixtureOptions{seen: seen, credentials: failingCredentials()})
	brokenSigner := newFixture(t, fixtureOptions{seen: seen, wrap: func(p api.Presigner) api.Presigner { return failingPresigner{p} }})
	oddURL := newFixture(t, fixtureOptions{seen: seen, wrap: func(p api.Presigner) api.Presigner { return urlPresigner{p, "//evil.example/x"} }})
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		for _, c := range []struct {
			f      *fixture
			path   string
			token  string
			status int
		}{
			{ok, "/v1/objects/media/reports/a", reportsToken, 307},
			{ok, "/v1/objects/media/..", reportsToken, 400},
			{ok, "/v1/objects/media/reports/a", "", 401},
			{ok, "/v1/objects/media/secret/a", reportsToken, 403},
			{ok, "/v1/objects/media/limited/a", limitedToken, 0}, // takes the one token of the burst
			{ok, "/v1/objects/media/limited/a", limitedToken, 429},
			{brokenSigner, "/v1/objects/media/reports/a", reportsToken, 500},
			{oddURL, "/v1/objects/media/reports/a", reportsToken, 500},
			{noCredentials, "/v1/objects/media/reports/a", reportsToken, 503},
		} {
			r := c.f.link(t, method, c.path, c.token)
			if c.status != 0 && r.status != c.status {
				t.Errorf("%s %s: got %d, want %d", method, c.path, r.status, c.status)
			}
			if r.status != http.StatusTemporaryRedirect && r.header.Get("Location") != "" {
				t.Errorf("%s %s: %d with a Location", method, c.path, r.status)
			}
		}
		ok.assertCovered(t, method, "/v1/objects/{bucket}/{key}")
	}
}

// urlPresigner is the real signer whose URLs are replaced with url.
type urlPresigner struct {
	api.Presigner
	url string
}

func (p urlPresigner) Presign(ctx context.Context, req signer.Request) (signer.Presigned, error) {
	res, err := p.Presigner.Presign(ctx, req)
	res.URL = p.url
	return res, err
}

// TestLinkRefused: what POST /v1/presign refuses, a link refuses with the same
// problem, and never with a Location.
func TestLinkRefused(t *testing.T) {
	seen := map[string]bool{}
	f := newFixture(t, fixtureOptions{seen: seen})
	for _, tc := range []struct {
		name, method, path, token string
		status                    int
		code, reason              string
		detail                    string // a part of the detail, when it matters
	}{
		{name: "no token", path: "/v1/objects/media/reports/a", status: 401, code: "unauthenticated", reason: "missing"},
		{name: "HEAD without a token", method: http.MethodHead, path: "/v1/objects/media/reports/a", status: 401, code: "unauthenticated", reason: "missing"},
		{name: "unknown token", path: "/v1/objects/media/reports/a", token: "nope", status: 401, code: "unauthenticated", reason: "unknown_token"},
		{name: "prefix not allowed", path: "/v1/objects/media/secret/a", status: 403, code: "forbidden", reason: "prefix_not_allowed"},
		{name: "bucket not allowed", path: "/v1/objects/elsewhere/reports/a", status: 403, code: "forbidden", reason: "bucket_not_allowed"},
		{name: "method not allowed", path: "/v1/objects/media/uploads/a.png", status: 403, code: "forbidden", reason: "method_not_allowed"},
		{name: "HEAD not allowed by the grant", method: http.MethodHead, path: "/v1/objects/archive/a", status: 403, code: "forbidden", reason: "method_not_allowed"},
		{name: "prefix boundary", path: "/v1/objects/media/reports-evil/a", status: 403, code: "forbidden", reason: "prefix_not_allowed"},
		{name: "invalid bucket", path: "/v1/objects/Media/reports/a", status: 400, code: "invalid_bucket"},
		{name: "IP address bucket", path: "/v1/objects/127.0.0.1/reports/a", status: 400, code: "invalid_bucket"},
		{name: "empty key", path: "/v1/objects/media/", status: 400, code: "invalid_key"},
		{name: "dot segment", path: "/v1/objects/media/reports/../secret/a", status: 400, code: "invalid_key"},
		{name: "encoded dot segment", path: "/v1/objects/media/reports/%2E%2E/secret/a", status: 400, code: "invalid_key"},
		{name: "double slash", path: "/v1/objects/media/reports//a", status: 400, code: "invalid_key"},
		{name: "control character", path: "/v1/objects/media/reports/a%00b", status: 400, code: "invalid_key"},
		{name: "not UTF-8", path: "/v1/objects/media/reports/a%FFb", status: 400, code: "invalid_key"},
		{name: "key too long", path: "/v1/objects/media/reports/" + strings.Repeat("x", 1017), status: 400, code: "invalid_key"},
		{name: "unknown query parameter", path: "/v1/objects/media/reports/a?redirect=https://evil.example", status: 400, code: "invalid_request", detail: `"redirect"`},
		{name: "method in the query", path: "/v1/objects/media/reports/a?method=DELETE", status: 400, code: "invalid_request", detail: `"method"`},
		{name: "SigV4 parameter in the query", path: "/v1/objects/media/reports/a?X-Amz-Expires=1", status: 400, code: "invalid_request", detail: `"X-Amz-Expires"`},
		{name: "response override in the query", path: "/v1/objects/media/reports/a?response_content_type=text/html", status: 400, code: "invalid_request", detail: "response_content_type"},
		{name: "expires_in twice", path: "/v1/objects/media/reports/a?expires_in=5&expires_in=6", status: 400, code: "invalid_request", detail: "expires_in"},
		{name: "expires_in not a number", path: "/v1/objects/media/reports/a?expires_in=abc", status: 400, code: "invalid_request", detail: "expires_in"},
		{name: "expires_in empty", path: "/v1/objects/media/reports/a?expires_in=", status: 400, code: "invalid_request", detail: "expires_in"},
		{name: "expires_in fraction", path: "/v1/objects/media/reports/a?expires_in=1.5", status: 400, code: "invalid_request", detail: "expires_in"},
		{name: "expires_in exponent", path: "/v1/objects/media/reports/a?expires_in=1e3", status: 400, code: "invalid_request", detail: "expires_in"},
		{name: "expires_in with a plus sign", path: "/v1/objects/media/reports/a?expires_in=%2B60", status: 400, code: "invalid_request", detail: "expires_in"},
		{name: "expires_in with a space", path: "/v1/objects/media/reports/a?expires_in=60+", status: 400, code: "invalid_request", detail: "expires_in"},
		{name: "expires_in hex", path: "/v1/objects/media/reports/a?expires_in=0x10", status: 400, code: "invalid_request", detail: "expires_in"},
		{name: "expires_in too large for int64", path: "/v1/objects/media/reports/a?expires_in=99999999999999999999", status: 400, code: "invalid_request", detail: "expires_in"},
		{name: "expires_in zero", path: "/v1/objects/media/reports/a?expires_in=0", status: 400, code: "invalid_expires_in"},
		{name: "expires_in negative", path: "/v1/objects/media/reports/a?expires_in=-1", status: 400, code: "invalid_expires_in"},
		{name: "query with a semicolon", path: "/v1/objects/media/reports/a?expires_in=5;x=1", status: 400, code: "invalid_request", detail: "query string"},
		{name: "download_filename with a slash", path: "/v1/objects/media/reports/a?download_filename=a%2Fb", status: 400, code: "invalid_request", detail: "download_filename"},
		{name: "version_id not printable", path: "/v1/objects/media/reports/a?version_id=%0A", status: 400, code: "invalid_request", detail: "version_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			token := tc.token
			if token == "" && tc.status != 401 {
				token = reportsToken
			}
			r := f.link(t, method, tc.path, token)
			if method == http.MethodHead {
				if r.status != tc.status || r.header.Get("Location") != "" {
					t.Errorf("got %d with Location %q, want %d and none", r.status, r.header.Get("Location"), tc.status)
				}
				return
			}
			checkRefused(t, r, tc.status, tc.code, tc.reason)
			if !strings.Contains(r.problem.Detail, tc.detail) {
				t.Errorf("detail: got %q, want it to name %s", r.problem.Detail, tc.detail)
			}
			if tc.status == 401 {
				if len(r.audit) != 0 {
					t.Errorf("an unauthenticated request was audited: %v", r.audit)
				}
				return
			}
			if len(r.audit) != 1 || r.audit[0].str("operation") != "link" {
				t.Fatalf("audit: got %v, want one line of operation link", r.audit)
			}
			wantOutcome := map[int]string{400: "invalid", 403: "denied"}[tc.status]
			if got := r.audit[0].str("outcome"); got != wantOutcome {
				t.Errorf("audit outcome: got %q, want %q", got, wantOutcome)
			}
		})
	}

	// The same key problems get the same answer as POST /v1/presign.
	for _, key := range []string{"", "reports/../a", "/reports/a", "reports/a\x01"} {
		body, _ := json.Marshal(map[string]string{"bucket": "media", "key": key})
		want := f.post(t, reportsToken, string(body))
		got := f.link(t, http.MethodGet, "/v1/objects/media/"+url.PathEscape(key), reportsToken)
		if got.status != want.status || got.problem.Code != want.problem.Code || got.problem.Detail != want.problem.Detail {
			t.Errorf("key %q: link got %d %s %q, presign %d %s %q", key, got.status, got.problem.Code, got.problem.Detail,
				want.status, want.problem.Code, want.problem.Detail)
		}
	}

	// Other HTTP methods on a link are 405 with Allow.
	r := f.do(t, f.request(t, http.MethodPost, "/v1/objects/media/reports/a", reportsToken, []byte(`{}`)), nil)
	if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST on a link: got %d Allow %q, want 405 Allow GET, HEAD", r.status, r.header.Get("Allow"))
	}
	for _, code := range []string{"400", "401", "403"} {
		if !seen["GET /v1/objects/{bucket}/{key} "+code] {
			t.Errorf("no GET link case was answered %s", code)
		}
	}
}

// TestLinkHostSteering: nothing in the path or the query moves the redirect off the
// endpoint configured for the bucket.
func TestLinkHostSteering(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"//evil.example/x", 404},
		{"/v1/objects//evil.example/x", 400},
		{"/v1/objects/media//evil.example/x", 400},
		{"/v1/objects/media/%2F%2Fevil.example/x", 400},
		{"/v1/objects/media/reports/%2F%2Fevil.example", 400},
		{"/v1/objects/media%2F%2Fevil.example/reports/x", 400},
		{"/v1/objects/evil.example/reports/x", 403},
		{"/v1/objects/media/reports/https:%2F%2Fevil.example%2F", 400},
		{"/v1/objects/media/reports/http:evil.example", 307},
		{"/v1/objects/media/reports/\\evil.example", 307},
		{"/v1/objects/media/reports/%5C%5Cevil.example", 307},
		{"/v1/objects/media/reports/@evil.example", 307},
		{"/v1/objects/media/reports/x%23@evil.example", 307},
		{"/v1/objects/media/reports/x?redirect=https://evil.example", 400},
		{"/v1/objects/media/reports/x?url=//evil.example", 400},
		{"/v1/objects/media/reports/x?download_filename=x%0D%0ALocation:%20https://evil.example", 400},
		{"/v1/objects/media/reports/x%0D%0ALocation:%20https://evil.example", 400},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := f.link(t, http.MethodGet, tc.path, reportsToken, "X-Forwarded-Host", "evil.example", "Forwarded", "host=evil.example")
			if r.status != tc.status {
				t.Errorf("status: got %d %s, want %d", r.status, r.problem.Code, tc.status)
			}
			locs := r.header.Values("Location")
			if r.status != http.StatusTemporaryRedirect {
				if len(locs) != 0 {
					t.Errorf("%d with Location %q", r.status, locs)
				}
				return
			}
			if len(locs) != 1 {
				t.Fatalf("Location: got %q, want one", locs)
			}
			u, err := url.Parse(locs[0])
			if err != nil || u.Scheme != "http" || u.Host != "127.0.0.1:7070" || u.User != nil || !strings.HasPrefix(locs[0], endpoint+"/media/reports/") {
				t.Errorf("Location %q is not a URL of %s/media/reports/", locs[0], endpoint)
			}
		})
	}
	// The Host header the request came with does not matter either.
	req, _ := http.NewRequest(http.MethodGet, f.url+"/v1/objects/media/reports/x", nil)
	req.Host = "evil.example"
	req.Header.Set("Authorization", "Bearer "+reportsToken)
	r := f.do(t, req, nil)
	if loc := checkRedirect(t, r); !strings.HasPrefix(loc, endpoint+"/media/reports/x?") {
		t.Errorf("with Host evil.example, Location %q", loc)
	}
}

// TestLinkKeyEscaping: a key arrives exactly as the caller encoded it in the path,
// whether slashes are sent as / or as %2F, and is signed as POST /v1/presign signs it.
func TestLinkKeyEscaping(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	for _, key := range []string{
		"reports/a b.txt",
		"reports/a+b=c&d(e).txt",
		"reports/100%.txt",
		"reports/a%2Fb",
		"reports/100%25",
		"reports/what?.txt",
		"reports/#1.txt",
		"reports/ümlaut/日本語/😀.txt",
		"reports/dir/",
		"reports/x/y/z",
		"reports/a\\b",
		"reports/'quoted'\"x\"",
		"reports/~tilde;semi:colon,comma!*$@",
	} {
		segments := strings.Split(key, "/")
		for i, s := range segments {
			segments[i] = url.PathEscape(s)
		}
		for _, path := range []string{
			"/v1/objects/media/" + strings.Join(segments, "/"), // slashes as they are
			"/v1/objects/media/" + url.PathEscape(key),         // slashes as %2F
		} {
			t.Run(path, func(t *testing.T) {
				want := f.presignURL(t, reportsToken, map[string]any{"bucket": "media", "key": key, "expires_in": 300})
				r := f.link(t, http.MethodGet, path, reportsToken)
				if loc := checkRedirect(t, r); loc != want {
					t.Errorf("Location:\ngot  %s\nwant %s", loc, want)
				}
				if len(r.audit) != 1 || r.audit[0].str("key") != key {
					t.Errorf("audit key: got %v, want %q", r.audit, key)
				}
			})
		}
	}
}

// TestLinkRateLimitedAndCounted: links are decisions, counted and rate limited as
// operation "link"; the routes are counted by their patterns.
func TestLinkRateLimitedAndCounted(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	checkRedirect(t, f.link(t, http.MethodGet, "/v1/objects/media/limited/a", limitedToken))
	r := f.link(t, http.MethodGet, "/v1/objects/media/limited/a", limitedToken)
	checkRefused(t, r, http.StatusTooManyRequests, "rate_limited", "")
	if len(r.audit) != 1 || r.audit[0].str("operation") != "link" || r.audit[0].str("outcome") != "rate_limited" {
		t.Errorf("audit of the rate-limited link: got %v, want operation link, outcome rate_limited", r.audit)
	}
	checkRedirect(t, f.link(t, http.MethodGet, "/v1/objects/media/reports/a", reportsToken))
	checkRedirect(t, f.link(t, http.MethodHead, "/v1/objects/media/reports/b", reportsToken))
	checkRefused(t, f.link(t, http.MethodGet, "/v1/objects/media/secret/a", reportsToken), 403, "forbidden", "prefix_not_allowed")
	f.get(t, "/v1/whoami", "Authorization", "Bearer "+reportsToken)

	m := f.get(t, "/metrics")
	for _, want := range []string{
		`presignd_presign_requests_total{client="limited",operation="link",outcome="issued"} 1`,
		`presignd_presign_requests_total{client="limited",operation="link",outcome="rate_limited"} 1`,
		`presignd_presign_requests_total{client="reports",operation="link",outcome="issued"} 2`,
		`presignd_presign_requests_total{client="reports",operation="link",outcome="denied"} 1`,
		`presignd_http_requests_total{code="307",route="/v1/objects/{bucket}/*"} 3`,
		`presignd_http_requests_total{code="403",route="/v1/objects/{bucket}/*"} 1`,
		`presignd_http_requests_total{code="200",route="/v1/whoami"} 1`,
	} {
		if !strings.Contains(string(m.body), want+"\n") {
			t.Errorf("/metrics has no line %s", want)
		}
	}
	if strings.Contains(string(m.body), `operation="whoami"`) {
		t.Error("whoami was counted as a decision")
	}
}

// whoami is the GET /v1/whoami answer, decoded independently of the server's types.
type whoami struct {
	Client    string `json:"client"`
	Principal struct {
		Kind    string   `json:"kind"`
		Subject string   `json:"subject"`
		Issuer  *string  `json:"issuer"`
		Groups  []string `json:"groups"`
	} `json:"principal"`
	Grants       []whoamiGrant `json:"grants"`
	MaxExpiresIn int64         `json:"max_expires_in"`
}

type whoamiGrant struct {
	Bucket           string   `json:"bucket"`
	Prefixes         []string `json:"prefixes"`
	Methods          []string `json:"methods"`
	MaxTTL           int64    `json:"max_ttl"`
	MaxContentLength int64    `json:"max_content_length"`
	ContentTypes     []string `json:"content_types"`
}

func (f *fixture) whoami(t *testing.T, header ...string) (whoami, result) {
	t.Helper()
	r := f.get(t, "/v1/whoami", header...)
	var w whoami
	if r.status == http.StatusOK {
		if err := json.Unmarshal(r.body, &w); err != nil {
			t.Fatalf("whoami: %v: %s", err, r.body)
		}
	}
	if len(r.audit) != 0 {
		t.Errorf("whoami wrote audit lines: %v", r.audit)
	}
	return w, r
}

func TestWhoamiStaticToken(t *testing.T) {
	seen := map[string]bool{}
	f := newFixture(t, fixtureOptions{seen: seen})
	w, r := f.whoami(t, "Authorization", "Bearer "+reportsToken)
	if r.status != http.StatusOK {
		t.Fatalf("status: got %d, want 200: %s", r.status, r.body)
	}
	if w.Client != "reports" || w.Principal.Kind != "token" || w.Principal.Subject != "reports" ||
		w.Principal.Issuer != nil || w.Principal.Groups != nil {
		t.Errorf("got client %q, principal %+v; want reports, a token principal without issuer or groups", w.Client, w.Principal)
	}
	want := []whoamiGrant{
		{Bucket: "media", Prefixes: []string{"reports/", "shared/reports/"}, Methods: []string{"GET", "HEAD", "DELETE"}, MaxTTL: 86400},
		{Bucket: "media", Prefixes: []string{"uploads/"}, Methods: []string{"PUT"}, MaxTTL: 3600, MaxContentLength: 1048576, ContentTypes: []string{"image/png", "text/*"}},
		{Bucket: "media", Prefixes: []string{"drop/"}, Methods: []string{"PUT"}, MaxTTL: 900},
		{Bucket: "archive", Prefixes: []string{""}, Methods: []string{"GET"}, MaxTTL: 604800},
		{Bucket: "media", Prefixes: []string{"big/"}, Methods: []string{"PUT"}, MaxTTL: 3600, MaxContentLength: 107374182400, ContentTypes: []string{"video/mp4"}},
	}
	if diff := cmp.Diff(want, w.Grants); diff != "" {
		t.Errorf("grants (-want +got):\n%s", diff)
	}
	if w.MaxExpiresIn != 604800 {
		t.Errorf("max_expires_in: got %d, want 604800 (credentials that do not expire)", w.MaxExpiresIn)
	}
	for _, absent := range []string{"limited", "token_sha256", "{client}"} {
		if strings.Contains(string(r.body), absent) {
			t.Errorf("whoami holds %q: %s", absent, r.body)
		}
	}

	// Another client sees its own grants only.
	w, _ = f.whoami(t, "Authorization", "Bearer "+limitedToken)
	if w.Client != "limited" || len(w.Grants) != 1 || w.Grants[0].Prefixes[0] != "limited/" {
		t.Errorf("limited: got %+v, want its one grant", w)
	}
	if strings.Contains(fmt.Sprint(w), "reports") {
		t.Errorf("limited sees the grants of reports: %+v", w)
	}

	_, r = f.whoami(t)
	if r.status != http.StatusUnauthorized {
		t.Errorf("without a token: got %d, want 401", r.status)
	}
	r = f.do(t, f.request(t, http.MethodPost, "/v1/whoami", reportsToken, []byte(`{}`)), nil)
	if r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST /v1/whoami: got %d, want 405", r.status)
	}
	for _, code := range []string{"200", "401"} {
		if !seen["GET /v1/whoami "+code] {
			t.Errorf("no whoami case was answered %s", code)
		}
	}
}

func TestWhoamiCredentials(t *testing.T) {
	for _, tc := range []struct {
		name   string
		expiry time.Time
		want   int64
	}{
		{"two hours left", testNow.Add(2 * time.Hour), 7200 - 60},
		{"eight days left", testNow.Add(8 * 24 * time.Hour), 604800},
		{"about to expire", testNow.Add(30 * time.Second), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{credentials: expiringCredentials(tc.expiry)})
			w, r := f.whoami(t, "Authorization", "Bearer "+reportsToken)
			if r.status != http.StatusOK || w.MaxExpiresIn != tc.want {
				t.Errorf("got %d max_expires_in %d, want 200 and %d", r.status, w.MaxExpiresIn, tc.want)
			}
		})
	}
	f := newFixture(t, fixtureOptions{credentials: failingCredentials()})
	_, r := f.whoami(t, "Authorization", "Bearer "+reportsToken)
	if r.status != http.StatusServiceUnavailable || r.problem.Code != "credentials_unavailable" {
		t.Errorf("without credentials: got %d %s, want 503 credentials_unavailable", r.status, r.problem.Code)
	}
	r = f.link(t, http.MethodGet, "/v1/objects/media/reports/a", reportsToken)
	checkRefused(t, r, http.StatusServiceUnavailable, "credentials_unavailable", "")
}

// identityConfig is testdata/config.yaml's S3 setup with callers found by a JWT issuer
// and a trusted proxy on loopback.
func identityConfig(iss *testenv.OIDCIssuer) string {
	return fmt.Sprintf(`listen: 127.0.0.1:0
s3:
  region: us-east-1
  endpoint: %s
  path_style: true
identity:
  issuers:
    - name: web
      issuer: %s
      audiences: [%s]
  trusted_proxies:
    from: ["127.0.0.1/32"]
clients:
  - name: reports
    token_sha256: %s
    grants:
      - {bucket: media, prefixes: ["reports/"], methods: [GET], max_ttl: 1h}
  - name: web-users
    match:
      - {issuer: web}
    grants:
      - {bucket: media, prefixes: ["uploads/{subject}/", "teams/{claims.team}/"], methods: [PUT, GET], max_ttl: 1h, content_types: ["image/*"]}
      - {bucket: media, prefixes: ["inbox/{claims.team}/"], methods: [GET], max_ttl: 10m}
      - {bucket: media, prefixes: ["public/"], methods: [GET, HEAD], max_ttl: 1d}
  - name: ops
    match:
      - {proxy_group: ops}
    grants:
      - {bucket: media, prefixes: ["uploads/{subject}/"], methods: [GET, PUT], max_ttl: 1h, max_content_length: 1048576, content_types: ["image/*"]}
`, endpoint, iss.URL(), testenv.OIDCAudience, config.HashToken(reportsToken))
}

func newIdentityFixture(t *testing.T, iss *testenv.OIDCIssuer) *fixture {
	t.Helper()
	cfg, err := config.Parse([]byte(identityConfig(iss)))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	srv, err := api.New(api.Options{
		Runtime: runtimeOf(t, cfg, newSigner(t, cfg, nil)),
		Logger:  slog.New(slog.NewJSONHandler(logs, nil)),
		Now:     func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler(true))
	t.Cleanup(ts.Close)
	return &fixture{srv: srv, url: ts.URL, logs: logs, spec: specFor(t), seen: map[string]bool{}}
}

func TestWhoamiIdentities(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	f := newIdentityFixture(t, iss)

	t.Run("JWT, {subject} expanded, a missing claim leaves its prefix out", func(t *testing.T) {
		w, r := f.whoami(t, "Authorization", "Bearer "+iss.Token("alice"))
		if r.status != http.StatusOK {
			t.Fatalf("got %d: %s", r.status, r.body)
		}
		if w.Client != "web-users" || w.Principal.Kind != "jwt" || w.Principal.Subject != "alice" ||
			w.Principal.Issuer == nil || *w.Principal.Issuer != "web" || w.Principal.Groups != nil {
			t.Errorf("got client %q, principal %+v; want web-users, jwt alice of issuer web", w.Client, w.Principal)
		}
		want := []whoamiGrant{
			{Bucket: "media", Prefixes: []string{"uploads/alice/"}, Methods: []string{"PUT", "GET"}, MaxTTL: 3600, ContentTypes: []string{"image/*"}},
			{Bucket: "media", Prefixes: []string{"public/"}, Methods: []string{"GET", "HEAD"}, MaxTTL: 86400},
		}
		if diff := cmp.Diff(want, w.Grants); diff != "" {
			t.Errorf("grants (-want +got):\n%s", diff)
		}
		for _, absent := range []string{"{subject}", "{claims", "bob", "ops", "reports/", iss.URL()} {
			if strings.Contains(string(r.body), absent) {
				t.Errorf("whoami holds %q: %s", absent, r.body)
			}
		}
	})

	t.Run("JWT with the claim", func(t *testing.T) {
		w, _ := f.whoami(t, "Authorization", "Bearer "+iss.Token("bob", testenv.TokenClaim("team", "red")))
		want := []whoamiGrant{
			{Bucket: "media", Prefixes: []string{"uploads/bob/", "teams/red/"}, Methods: []string{"PUT", "GET"}, MaxTTL: 3600, ContentTypes: []string{"image/*"}},
			{Bucket: "media", Prefixes: []string{"inbox/red/"}, Methods: []string{"GET"}, MaxTTL: 600},
			{Bucket: "media", Prefixes: []string{"public/"}, Methods: []string{"GET", "HEAD"}, MaxTTL: 86400},
		}
		if diff := cmp.Diff(want, w.Grants); diff != "" {
			t.Errorf("grants (-want +got):\n%s", diff)
		}
		if strings.Contains(fmt.Sprint(w), "alice") {
			t.Errorf("bob sees alice's prefix: %+v", w)
		}
	})

	t.Run("trusted proxy", func(t *testing.T) {
		w, r := f.whoami(t, "X-Auth-Request-Email", "carol@example.com", "X-Auth-Request-Groups", "dev,ops")
		if r.status != http.StatusOK {
			t.Fatalf("got %d: %s", r.status, r.body)
		}
		if w.Client != "ops" || w.Principal.Kind != "proxy" || w.Principal.Subject != "carol@example.com" ||
			w.Principal.Issuer != nil || !slices.Equal(w.Principal.Groups, []string{"dev", "ops"}) {
			t.Errorf("got client %q, principal %+v; want ops, proxy carol@example.com in dev and ops", w.Client, w.Principal)
		}
		want := []whoamiGrant{{Bucket: "media", Prefixes: []string{"uploads/carol@example.com/"}, Methods: []string{"GET", "PUT"},
			MaxTTL: 3600, MaxContentLength: 1048576, ContentTypes: []string{"image/*"}}}
		if diff := cmp.Diff(want, w.Grants); diff != "" {
			t.Errorf("grants (-want +got):\n%s", diff)
		}
	})

	t.Run("links under a JWT and a proxy are audited with the principal", func(t *testing.T) {
		for _, c := range []struct {
			header          []string
			path            string
			kind, subject   string
			client, wantKey string
		}{
			{[]string{"Authorization", "Bearer " + iss.Token("alice")}, "/v1/objects/media/uploads/alice/cat.png", "jwt", "alice", "web-users", "uploads/alice/cat.png"},
			{[]string{"X-Auth-Request-Email", "carol@example.com", "X-Auth-Request-Groups", "ops"}, "/v1/objects/media/uploads/carol@example.com/x.png", "proxy", "carol@example.com", "ops", "uploads/carol@example.com/x.png"},
		} {
			r := f.link(t, http.MethodGet, c.path, "", c.header...)
			checkRedirect(t, r)
			if len(r.audit) != 1 {
				t.Fatalf("got %d audit lines, want 1", len(r.audit))
			}
			a := r.audit[0]
			if a.str("operation") != "link" || a.str("principal") != c.kind || a.str("subject") != c.subject ||
				a.str("client") != c.client || a.str("key") != c.wantKey {
				t.Errorf("audit: got %v, want link by %s %s of %s on %s", a, c.kind, c.subject, c.client, c.wantKey)
			}
		}
		// alice's link to bob's prefix is denied.
		r := f.link(t, http.MethodGet, "/v1/objects/media/uploads/bob/cat.png", "", "Authorization", "Bearer "+iss.Token("alice"))
		checkRefused(t, r, http.StatusForbidden, "forbidden", "prefix_not_allowed")
	})
}

// TestOpenAPIWhoamiSchema: the examples of GET /v1/whoami match the Whoami schema,
// and the schema holds issuer to JWTs and groups to proxies.
func TestOpenAPIWhoamiSchema(t *testing.T) {
	s := specFor(t)
	mt := s.model.Paths.PathItems.GetOrZero("/v1/whoami").Get.Responses.Codes.GetOrZero("200").Content.GetOrZero("application/json")
	n := 0
	for name, ex := range mt.Examples.FromOldest() {
		n++
		b, _ := json.Marshal(nodeValue(t, ex.Value))
		if ok, errs := s.schemas.ValidateSchemaBytes(mt.Schema.Schema(), b); !ok {
			t.Errorf("example %s does not match Whoami:\n%s", name, describe(errs))
		}
	}
	if n == 0 {
		t.Error("GET /v1/whoami has no examples")
	}
	for name, body := range map[string]string{
		"issuer on a proxy":      `{"client":"ops","principal":{"kind":"proxy","subject":"a","issuer":"web","groups":[]},"grants":[],"max_expires_in":1}`,
		"JWT without issuer":     `{"client":"w","principal":{"kind":"jwt","subject":"a"},"grants":[],"max_expires_in":1}`,
		"groups on a token":      `{"client":"r","principal":{"kind":"token","subject":"r","groups":["x"]},"grants":[],"max_expires_in":1}`,
		"proxy without groups":   `{"client":"ops","principal":{"kind":"proxy","subject":"a"},"grants":[],"max_expires_in":1}`,
		"grant without prefixes": `{"client":"r","principal":{"kind":"token","subject":"r"},"grants":[{"bucket":"media","prefixes":[],"methods":["GET"],"max_ttl":60}],"max_expires_in":1}`,
		"a token hash":           `{"client":"r","principal":{"kind":"token","subject":"r","token_sha256":"00"},"grants":[],"max_expires_in":1}`,
	} {
		if ok, _ := s.schemas.ValidateSchemaBytes(s.schema(t, "Whoami"), []byte(body)); ok {
			t.Errorf("%s: the Whoami schema accepts %s", name, body)
		}
	}
}
