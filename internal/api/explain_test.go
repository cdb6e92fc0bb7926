package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/presignd/presignd/internal/api"
	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/policy"
	"github.com/presignd/presignd/internal/signer/s3signer"
	"github.com/presignd/presignd/internal/testenv"
)

// Tokens of the clients of explainConfig.
const (
	explainAliceToken = "explain-token-alice-Jq8sV2mX7pR4tW9z"
	explainBobToken   = "explain-token-bob-Lk3nB6vC1xZ5hG0f"
)

// explainNow is the pinned clock of the explain tests, later than any real clock
// these tests run under, so that the SDK's credential cache never finds the test
// credentials expired.
var explainNow = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

// explainConfig gives alice one grant per stage a request can fail at, and bob the
// whole media bucket.
var explainConfig = `listen: 127.0.0.1:0
s3: {region: eu-west-1, endpoint: "http://127.0.0.1:7070", path_style: true}
clients:
  - name: alice
    token_sha256: "` + config.HashToken(explainAliceToken) + `"
    grants:
      - {bucket: media, prefixes: ["uploads/{client}/"], methods: [PUT], max_ttl: 1h, content_types: ["image/*"], max_content_length: 1000}
      - {bucket: media, prefixes: ["public/"], methods: [GET, HEAD], max_ttl: 24h}
      - {bucket: media, prefixes: ["uploads/{client}/", "uploads/{client}/thumbs/"], methods: [GET, DELETE], max_ttl: 2h}
  - name: bob
    token_sha256: "` + config.HashToken(explainBobToken) + `"
    grants:
      - {bucket: media, prefixes: [""], methods: [GET, PUT, HEAD, DELETE], max_ttl: 7d}
`

// explainServer is api.New with explainConfig and a real signer with the given
// credentials (static example keys when nil), on a pinned clock, served over HTTP.
func explainServer(t *testing.T, creds aws.CredentialsProvider) string {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	cfg, err := config.Parse([]byte(explainConfig))
	if err != nil {
		t.Fatalf("explainConfig: %v", err)
	}
	if creds == nil {
		creds = s3signer.StaticCredentials(testenv.AccessKeyID, testenv.SecretAccessKey)
	}
	sg, err := s3signer.New(context.Background(), s3signer.Config{
		Default:     s3signer.Target{Region: cfg.S3.Region, Endpoint: cfg.S3.Endpoint, PathStyle: cfg.S3.PathStyle},
		Credentials: creds,
		Now:         func() time.Time { return explainNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Options{Runtime: runtimeOf(t, cfg, sg), Now: func() time.Time { return explainNow }})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler(false))
	t.Cleanup(ts.Close)
	return ts.URL
}

// postExplain sends body to POST /v1/explain with the token and returns the status
// and the raw answer.
func postExplain(t *testing.T, base, token, body string) (int, []byte) {
	t.Helper()
	status, _, data := postRaw(t, base+"/v1/explain", token, body)
	// Explaining signs nothing: no URL, signature or credential in any answer.
	unwanted := []string{"http://", "https://", "X-Amz-", testenv.AccessKeyID, exampleSessionToken}
	if token != "" {
		unwanted = append(unwanted, token, config.HashToken(token))
	}
	for _, s := range unwanted {
		if strings.Contains(string(data), s) {
			t.Errorf("the answer holds %q: %s", s, data)
		}
	}
	return status, data
}

// explained decodes a 200 answer independently of the server's types.
type explained struct {
	Allowed bool   `json:"allowed"`
	Client  string `json:"client"`
	Grant   *struct {
		Index   int      `json:"index"`
		Bucket  string   `json:"bucket"`
		Prefix  string   `json:"prefix"`
		Methods []string `json:"methods"`
		MaxTTL  int64    `json:"max_ttl"`
	} `json:"grant"`
	ExpiresIn int64            `json:"expires_in"`
	CappedBy  string           `json:"capped_by"`
	Limits    map[string]int64 `json:"limits"`
	Code      string           `json:"code"`
	Reason    string           `json:"reason"`
	Detail    string           `json:"detail"`
}

// explainCase is one question and the answer's fields that matter.
type explainCase struct {
	name string
	body string
	// want: allowed, grant index (-1: none), prefix, expires_in, capped_by, code, reason.
	allowed   bool
	grant     int
	prefix    string
	expiresIn int64
	cappedBy  string
	code      string
	reason    string
	limits    map[string]int64
}

func (tc explainCase) check(t *testing.T, status int, body []byte, client string) {
	t.Helper()
	if status != http.StatusOK {
		t.Fatalf("got status %d (%s), want 200", status, body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var got explained
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("the answer does not decode: %v: %s", err, body)
	}
	if got.Allowed != tc.allowed || got.Client != client || got.ExpiresIn != tc.expiresIn || got.CappedBy != tc.cappedBy || got.Code != tc.code || got.Reason != tc.reason {
		t.Errorf("got allowed=%v client=%q expires_in=%d capped_by=%q code=%q reason=%q; want %v %q %d %q %q %q (%s)",
			got.Allowed, got.Client, got.ExpiresIn, got.CappedBy, got.Code, got.Reason,
			tc.allowed, client, tc.expiresIn, tc.cappedBy, tc.code, tc.reason, body)
	}
	if !tc.allowed && got.Detail == "" {
		t.Errorf("got no detail for a refusal: %s", body)
	}
	switch {
	case tc.grant < 0 && got.Grant != nil:
		t.Errorf("got grant %+v, want none", *got.Grant)
	case tc.grant >= 0 && got.Grant == nil:
		t.Errorf("got no grant, want grant %d", tc.grant)
	case tc.grant >= 0 && (got.Grant.Index != tc.grant || got.Grant.Prefix != tc.prefix || got.Grant.Bucket != "media"):
		t.Errorf("got grant %+v, want index %d prefix %q on media", *got.Grant, tc.grant, tc.prefix)
	}
	if tc.limits != nil && !reflect.DeepEqual(got.Limits, tc.limits) {
		t.Errorf("got limits %v, want %v", got.Limits, tc.limits)
	}
}

func TestExplainAllowsAndDenies(t *testing.T) {
	base := explainServer(t, nil)
	const day, week = 86400, 604800
	tests := []explainCase{
		{
			name:    "allowed, with the grant and the lifetime",
			body:    `{"bucket": "media", "key": "public/css/site.css", "expires_in": 600}`,
			allowed: true, grant: 1, prefix: "public/", expiresIn: 600,
			limits: map[string]int64{"policy": day, "s3_max": week},
		},
		{
			name:    "allowed under the longest prefix of the grant",
			body:    `{"bucket": "media", "key": "uploads/alice/thumbs/a.png", "method": "DELETE", "expires_in": 60}`,
			allowed: true, grant: 2, prefix: "uploads/alice/thumbs/", expiresIn: 60,
		},
		{
			name:    "capped by the policy",
			body:    `{"bucket": "media", "key": "uploads/alice/a.png", "method": "GET", "expires_in": 86400}`,
			allowed: true, grant: 2, prefix: "uploads/alice/", expiresIn: 7200, cappedBy: "policy",
			limits: map[string]int64{"policy": 7200, "s3_max": week},
		},
		{
			name:    "upload within the rules",
			body:    `{"bucket": "media", "key": "uploads/alice/a.png", "method": "PUT", "content_type": "image/png", "content_length": 1000}`,
			allowed: true, grant: 0, prefix: "uploads/alice/", expiresIn: 3600,
		},
		{
			name:    "strict_ttl refused when capped",
			body:    `{"bucket": "media", "key": "public/x", "expires_in": 90000, "strict_ttl": true}`,
			allowed: false, grant: 1, prefix: "public/", cappedBy: "policy", code: "ttl_not_satisfiable",
		},
		{
			name:  "bucket_not_allowed",
			body:  `{"bucket": "archive", "key": "public/x"}`,
			grant: -1, code: "forbidden", reason: "bucket_not_allowed",
		},
		{
			name:  "prefix_not_allowed",
			body:  `{"bucket": "media", "key": "uploads/bob/x"}`,
			grant: -1, code: "forbidden", reason: "prefix_not_allowed",
		},
		{
			name:  "prefix boundary",
			body:  `{"bucket": "media", "key": "public-evil/x"}`,
			grant: -1, code: "forbidden", reason: "prefix_not_allowed",
		},
		{
			name:  "method_not_allowed",
			body:  `{"bucket": "media", "key": "public/x", "method": "DELETE"}`,
			grant: -1, code: "forbidden", reason: "method_not_allowed",
		},
		{
			name:  "content_type_required",
			body:  `{"bucket": "media", "key": "uploads/alice/a.png", "method": "PUT", "content_length": 10}`,
			grant: -1, code: "forbidden", reason: "content_type_required",
		},
		{
			name:  "content_type_not_allowed",
			body:  `{"bucket": "media", "key": "uploads/alice/a.txt", "method": "PUT", "content_type": "text/plain", "content_length": 10}`,
			grant: -1, code: "forbidden", reason: "content_type_not_allowed",
		},
		{
			name:  "content_length_required",
			body:  `{"bucket": "media", "key": "uploads/alice/a.png", "method": "PUT", "content_type": "image/png"}`,
			grant: -1, code: "forbidden", reason: "content_length_required",
		},
		{
			name:  "content_length_too_large",
			body:  `{"bucket": "media", "key": "uploads/alice/a.png", "method": "PUT", "content_type": "image/png", "content_length": 1001}`,
			grant: -1, code: "forbidden", reason: "content_length_too_large",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := postExplain(t, base, explainAliceToken, tc.body)
			tc.check(t, status, body, "alice")
		})
	}
}

// TestExplainOnlyTheCaller: a caller is told about its own grants only, and cannot
// name another client.
func TestExplainOnlyTheCaller(t *testing.T) {
	base := explainServer(t, nil)
	const key = `{"bucket": "media", "key": "uploads/bob/x", "method": "PUT"}`

	status, body := postExplain(t, base, explainAliceToken, key)
	explainCase{grant: -1, code: "forbidden", reason: "prefix_not_allowed"}.check(t, status, body, "alice")

	status, body = postExplain(t, base, explainBobToken, key)
	explainCase{allowed: true, grant: 0, prefix: "", expiresIn: 3600}.check(t, status, body, "bob")

	for _, field := range []string{`"client": "bob"`, `"Client": "bob"`} {
		status, body = postExplain(t, base, explainAliceToken, `{"bucket": "media", "key": "public/x", `+field+`}`)
		var p api.Problem
		if err := json.Unmarshal(body, &p); err != nil || status != http.StatusBadRequest || p.Code != api.CodeInvalidRequest {
			t.Errorf("%s: got status %d, body %s; want 400 invalid_request", field, status, body)
		}
	}

	status, body = postExplain(t, base, "", key)
	if status != http.StatusUnauthorized {
		t.Errorf("without a token: got status %d (%s), want 401", status, body)
	}
}

// TestExplainInvalidRequests: values that break the rules are problems, as for
// POST /v1/presign, not explanations.
func TestExplainInvalidRequests(t *testing.T) {
	base := explainServer(t, nil)
	tests := []struct {
		name, body, code string
	}{
		{"bad bucket", `{"bucket": "Media", "key": "public/x"}`, api.CodeInvalidBucket},
		{"dot segment", `{"bucket": "media", "key": "public/../uploads/bob/x"}`, api.CodeInvalidKey},
		{"bad method", `{"bucket": "media", "key": "public/x", "method": "POST"}`, api.CodeInvalidMethod},
		{"zero lifetime", `{"bucket": "media", "key": "public/x", "expires_in": 0}`, api.CodeInvalidExpiresIn},
		{"no key", `{"bucket": "media"}`, api.CodeInvalidRequest},
		{"not JSON", `bucket=media`, api.CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := postExplain(t, base, explainAliceToken, tt.body)
			var p api.Problem
			if err := json.Unmarshal(body, &p); err != nil || status != http.StatusBadRequest || p.Code != tt.code {
				t.Errorf("got status %d, body %s; want 400 %s", status, body, tt.code)
			}
		})
	}
}

// sessionCredentials hands out temporary credentials; each retrieval takes the next
// lifetime of lifetimes (the last one repeats), counted from explainNow.
type sessionCredentials struct {
	lifetimes []time.Duration
	calls     atomic.Int32
}

func (s *sessionCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	n := int(s.calls.Add(1)) - 1
	life := s.lifetimes[min(n, len(s.lifetimes)-1)]
	return aws.Credentials{
		AccessKeyID: testenv.AccessKeyID, SecretAccessKey: testenv.SecretAccessKey, SessionToken: exampleSessionToken,
		Source: "test", CanExpire: true, Expires: explainNow.Add(life),
	}, nil
}

func TestExplainCaps(t *testing.T) {
	const week = 604800
	t.Run("credentials", func(t *testing.T) {
		creds := &sessionCredentials{lifetimes: []time.Duration{30 * time.Minute}}
		base := explainServer(t, creds)
		status, body := postExplain(t, base, explainAliceToken, `{"bucket": "media", "key": "public/x", "expires_in": 3600}`)
		// Thirty minutes less the minute of margin.
		explainCase{allowed: true, grant: 1, prefix: "public/", expiresIn: 1740, cappedBy: "credentials",
			limits: map[string]int64{"policy": 86400, "s3_max": week, "credentials": 1740}}.check(t, status, body, "alice")
		if n := creds.calls.Load(); n < 2 {
			t.Errorf("the credentials were retrieved %d times, want a refresh as for presign", n)
		}
	})
	t.Run("credentials refreshed to a longer session", func(t *testing.T) {
		base := explainServer(t, &sessionCredentials{lifetimes: []time.Duration{30 * time.Minute, 12 * time.Hour}})
		status, body := postExplain(t, base, explainAliceToken, `{"bucket": "media", "key": "public/x", "expires_in": 3600}`)
		explainCase{allowed: true, grant: 1, prefix: "public/", expiresIn: 3600,
			limits: map[string]int64{"policy": 86400, "s3_max": week, "credentials": 12*3600 - 60}}.check(t, status, body, "alice")
	})
	t.Run("credentials too close to expiry", func(t *testing.T) {
		base := explainServer(t, &sessionCredentials{lifetimes: []time.Duration{50 * time.Second}})
		status, body := postExplain(t, base, explainAliceToken, `{"bucket": "media", "key": "public/x"}`)
		explainCase{grant: 1, prefix: "public/", cappedBy: "credentials", code: "credentials_unavailable"}.check(t, status, body, "alice")
	})
	t.Run("credentials unavailable", func(t *testing.T) {
		broken := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errors.New("no credential source answered")
		})
		base := explainServer(t, broken)
		status, body := postExplain(t, base, explainAliceToken, `{"bucket": "media", "key": "public/x"}`)
		explainCase{grant: 1, prefix: "public/", code: "credentials_unavailable"}.check(t, status, body, "alice")
		if strings.Contains(string(body), "no credential source answered") {
			t.Errorf("the answer holds the cause: %s", body)
		}
		// A denial is still explained as one.
		status, body = postExplain(t, base, explainAliceToken, `{"bucket": "media", "key": "private/x"}`)
		explainCase{grant: -1, code: "forbidden", reason: "prefix_not_allowed"}.check(t, status, body, "alice")
	})
	t.Run("s3_max", func(t *testing.T) {
		// A config's max_ttl is at most 7d and a tie goes to the policy, so only a
		// policy built directly can have S3's maximum bind.
		p, err := policy.New([]policy.Client{{Name: "alice", Grants: []policy.Grant{
			{Bucket: "media", Prefixes: []string{""}, Methods: []string{"GET"}, MaxTTL: 30 * 24 * time.Hour},
		}}})
		if err != nil {
			t.Fatal(err)
		}
		req := policy.Request{Bucket: "media", Key: "a", Method: "GET", TTL: 10 * 86400, ContentLength: -1}
		got := api.Explain(p, "alice", req, policy.Env{Now: explainNow})
		want := api.Explanation{
			Allowed: true, Client: "alice", ExpiresIn: week, CappedBy: "s3_max",
			Grant:  &api.ExplainedGrant{Index: 0, Bucket: "media", Prefix: "", Methods: []string{"GET"}, MaxTTL: 30 * 86400},
			Limits: map[string]int64{"policy": 30 * 86400, "s3_max": week},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %s, want %s", explainJSON(got), explainJSON(want))
		}
	})
}

func explainJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestExplainWithTenThousandClients builds the server of a config with 10,000
// clients and 50,000 grants and explains for the last one. The time api.New takes is
// logged, not asserted.
func TestExplainWithTenThousandClients(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	var b strings.Builder
	b.WriteString("listen: 127.0.0.1:0\ns3: {region: us-east-1}\nclients:\n")
	for i := range 10000 {
		fmt.Fprintf(&b, "  - name: tenant-%05d\n    token_sha256: %q\n    grants:\n", i, config.HashToken(fmt.Sprintf("token-%d", i)))
		for j := range 5 {
			fmt.Fprintf(&b, "      - {bucket: media-%d, prefixes: [\"t%d/{client}/\"], methods: [GET], max_ttl: 1h}\n", i%50, j)
		}
	}
	cfg, err := config.Parse([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	sg, err := s3signer.New(context.Background(), s3signer.Config{
		Default:     s3signer.Target{Region: "us-east-1"},
		Credentials: s3signer.StaticCredentials(testenv.AccessKeyID, testenv.SecretAccessKey),
		Now:         func() time.Time { return explainNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	srv, err := api.New(api.Options{Runtime: runtimeOf(t, cfg, sg), Now: func() time.Time { return explainNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("api.New with 10,000 clients and 50,000 grants: %v", time.Since(start))
	ts := httptest.NewServer(srv.Handler(false))
	t.Cleanup(ts.Close)

	status, body := postExplain(t, ts.URL, "token-9999", `{"bucket": "media-49", "key": "t4/tenant-09999/x"}`)
	var got explained
	if err := json.Unmarshal(body, &got); err != nil || status != http.StatusOK || !got.Allowed || got.Client != "tenant-09999" || got.Grant == nil || got.Grant.Index != 4 {
		t.Errorf("got status %d, %s; want tenant-09999 allowed by grant 4", status, body)
	}
}
