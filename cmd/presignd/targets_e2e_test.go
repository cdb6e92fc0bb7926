package main

// Per-bucket targets: end to end, a bucket whose URLs name a public endpoint that
// differs from the endpoint presignd is configured with, and a bucket in another
// region; and how a bucket's overrides combine with the s3 block.

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/signer/s3signer"
	"github.com/presignd/presignd/internal/testenv"
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
	// The public address is the same versitygw on a second port, standing in for the
	// host callers reach (a proxy, a load balancer).
	buckets := "buckets:\n" +
		"  " + bucketPublic + ": {public_endpoint: " + s.PublicEndpoint + "}\n" +
		"  " + bucketEU + ": {region: eu-west-1}\n"
	p := startPresignd(t, testConfig(clients, configOptions{S3: s, Extra: buckets}))

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
			t.Fatalf("PUT through the public endpoint: got %d %s, want 200", got.status, testenv.Clip(got.body))
		}

		get := p.presign(t, targetsToken, map[string]any{"bucket": bucketPublic, "key": key, "method": "GET", "expires_in": 300})
		if h := mustParse(t, get.URL).Host; h != public {
			t.Fatalf("GET URL host: got %s, want %s", h, public)
		}
		got := use(t, get.Method, get.URL, get.Headers, nil)
		if got.status != http.StatusOK || !bytes.Equal(got.body, body) {
			t.Fatalf("GET through the public endpoint: got %d %q, want 200 %q", got.status, testenv.Clip(got.body), body)
		}

		// The public host is signed: the same URL sent to the primary address fails.
		moved := mustParse(t, get.URL)
		moved.Host = primary
		if r := use(t, http.MethodGet, moved.String(), get.Headers, nil); r.status != http.StatusForbidden {
			t.Errorf("the public URL sent to the primary address: got %d %s, want 403", r.status, testenv.Clip(r.body))
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

// TestSignerConfigResolvesBuckets checks how a bucket's overrides combine with the s3
// block into the target the signer uses.
func TestSignerConfigResolvesBuckets(t *testing.T) {
	cfg, err := config.Parse([]byte(`listen: 127.0.0.1:0
s3:
  region: us-east-1
  endpoint: http://10.0.0.1:9000
  public_endpoint: https://s3.example.com
  path_style: true
buckets:
  logs-eu: {region: eu-west-1}
  media: {endpoint: "http://10.0.0.5:9000"}
  cdn: {endpoint: "http://10.0.0.6:9000", public_endpoint: "https://cdn.example.com", path_style: false}
  assets: {public_endpoint: "https://assets.example.com"}
clients:
  - name: a
    token_sha256: "` + config.HashToken("a-token") + `"
    grants: [{bucket: media, prefixes: [""], methods: [GET], max_ttl: 1h}]
`))
	if err != nil {
		t.Fatal(err)
	}
	sc := signerConfig(cfg)
	def := s3signer.Target{Region: "us-east-1", Endpoint: "http://10.0.0.1:9000", PublicEndpoint: "https://s3.example.com", PathStyle: true}
	want := map[string]s3signer.Target{
		// Only the region changes; the endpoints and the style are inherited.
		"logs-eu": {Region: "eu-west-1", Endpoint: "http://10.0.0.1:9000", PublicEndpoint: "https://s3.example.com", PathStyle: true},
		// Another store: the default public endpoint, which fronts the default store, is not inherited.
		"media":  {Region: "us-east-1", Endpoint: "http://10.0.0.5:9000", PathStyle: true},
		"cdn":    {Region: "us-east-1", Endpoint: "http://10.0.0.6:9000", PublicEndpoint: "https://cdn.example.com"},
		"assets": {Region: "us-east-1", Endpoint: "http://10.0.0.1:9000", PublicEndpoint: "https://assets.example.com", PathStyle: true},
	}
	if sc.Default != def {
		t.Errorf("default target: got %+v, want %+v", sc.Default, def)
	}
	if len(sc.Buckets) != len(want) {
		t.Errorf("got targets for %d buckets, want %d", len(sc.Buckets), len(want))
	}
	for name, w := range want {
		if got := sc.Buckets[name]; got != w {
			t.Errorf("bucket %s: got %+v, want %+v", name, got, w)
		}
	}
}
