package main

// End-to-end test of per-bucket targets: a bucket whose URLs name a public endpoint
// that differs from the endpoint presignd is configured with, and a bucket in another
// region.

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/presignd/presignd/internal/testenv/s3server"
)

const targetsToken = "e2e-targets-token-0c5d8a71e2b9"

func TestE2EBucketTargets(t *testing.T) {
	const (
		bucketPublic = "e2e-public"
		bucketEU     = "e2e-eu"
	)
	s := s3server.Start(t)
	for _, b := range []string{bucketMain, bucketPublic} {
		s.CreateBucket(t, b)
	}
	clients := clientYAML("targets", targetsToken,
		`[{bucket: `+bucketMain+`, prefixes: [""], methods: [GET, PUT], max_ttl: 1h},`+
			` {bucket: `+bucketPublic+`, prefixes: [""], methods: [GET, PUT], max_ttl: 1h},`+
			` {bucket: `+bucketEU+`, prefixes: [""], methods: [GET], max_ttl: 1h}]`)
	cfg := testConfig(s, profileStatic, clients)
	// The public address is the same versitygw on a second port, standing in for the
	// host callers reach (a proxy, a load balancer).
	buckets := "buckets:\n" +
		"  " + bucketPublic + ": {public_endpoint: " + s.PublicEndpoint + "}\n" +
		"  " + bucketEU + ": {region: eu-west-1}\n"
	withBuckets := strings.Replace(cfg, "clients:\n", buckets+"clients:\n", 1)
	if withBuckets == cfg {
		t.Fatalf("the test config has no clients list to put buckets before:\n%s", cfg)
	}
	p := startPresignd(t, withBuckets)

	primary, public := mustParse(t, s.Endpoint).Host, mustParse(t, s.PublicEndpoint).Host
	if primary == public {
		t.Fatalf("the public endpoint %s is the primary one", s.PublicEndpoint)
	}

	t.Run("public endpoint", func(t *testing.T) {
		key := "reports/2026 Q3 (final)+ü.csv"
		body := []byte("region,total\neu,12\nus,30\n\x00\xff binary tail")

		put := p.presign(t, targetsToken, map[string]any{"bucket": bucketPublic, "key": key, "method": "PUT", "expires_in": 300})
		u := mustParse(t, put.URL)
		if u.Host != public {
			t.Fatalf("PUT URL host: got %s, want the public endpoint's %s", u.Host, public)
		}
		if got := use(t, put.Method, put.URL, put.Headers, body); got.status != http.StatusOK {
			t.Fatalf("PUT through the public endpoint: got %d %s, want 200", got.status, clip(got.body))
		}

		get := p.presign(t, targetsToken, map[string]any{"bucket": bucketPublic, "key": key, "method": "GET", "expires_in": 300})
		if h := mustParse(t, get.URL).Host; h != public {
			t.Fatalf("GET URL host: got %s, want %s", h, public)
		}
		got := use(t, get.Method, get.URL, get.Headers, nil)
		if got.status != http.StatusOK || !bytes.Equal(got.body, body) {
			t.Fatalf("GET through the public endpoint: got %d %q, want 200 %q", got.status, clip(got.body), body)
		}

		// The public host is signed: the same URL sent to the primary address fails.
		moved := mustParse(t, get.URL)
		moved.Host = primary
		if r := use(t, http.MethodGet, moved.String(), get.Headers, nil); r.status != http.StatusForbidden {
			t.Errorf("the public URL sent to the primary address: got %d %s, want 403", r.status, clip(r.body))
		}
	})

	t.Run("default target", func(t *testing.T) {
		res := p.presign(t, targetsToken, map[string]any{"bucket": bucketMain, "key": "a.txt", "method": "GET"})
		u := mustParse(t, res.URL)
		if u.Host != primary || !strings.HasPrefix(u.Path, "/"+bucketMain+"/") {
			t.Errorf("got URL host %s path %s, want the configured endpoint %s, path style", u.Host, u.Path, primary)
		}
		if scope := credentialScope(t, u); !strings.HasSuffix(scope, "/"+s.Region+"/s3/aws4_request") {
			t.Errorf("got credential scope %q, want the region %s", scope, s.Region)
		}
	})

	t.Run("region override", func(t *testing.T) {
		res := p.presign(t, targetsToken, map[string]any{"bucket": bucketEU, "key": "logs/x.gz", "method": "GET"})
		u := mustParse(t, res.URL)
		if scope := credentialScope(t, u); !strings.HasSuffix(scope, "/eu-west-1/s3/aws4_request") {
			t.Errorf("got credential scope %q, want eu-west-1", scope)
		}
		if u.Host != primary {
			t.Errorf("got host %s, want the inherited endpoint %s", u.Host, primary)
		}
	})
}

// credentialScope is the X-Amz-Credential of a pre-signed URL without its key ID:
// DATE/REGION/SERVICE/aws4_request.
func credentialScope(t *testing.T, u *url.URL) string {
	t.Helper()
	cred := u.Query().Get("X-Amz-Credential")
	_, scope, ok := strings.Cut(cred, "/")
	if !ok {
		t.Fatalf("the URL has no X-Amz-Credential scope (%d characters)", len(cred))
	}
	return scope
}
