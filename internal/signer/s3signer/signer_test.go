package s3signer_test

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/signer"
	"github.com/presignd/presignd/internal/signer/s3signer"
	"github.com/presignd/presignd/internal/testenv"
)

const (
	exampleBucket   = "examplebucket"
	exampleKey      = "reports/2026/q3 summary.csv"
	exampleChecksum = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" // SHA-256 of nothing
)

func getRequest() signer.Request {
	return signer.Request{
		Bucket: exampleBucket, Key: exampleKey, Method: http.MethodGet,
		Expires: time.Hour, Credentials: exampleCredentials(), ContentLength: -1,
	}
}

func withMethod(m string) func(*signer.Request) {
	return func(r *signer.Request) { r.Method = m }
}

// TestPresignSignedHeaders is the golden record of what each operation and option
// signs. An SDK upgrade that signs something else (a checksum, a header dropped from
// the signature) fails here.
func TestPresignSignedHeaders(t *testing.T) {
	cfg := s3signer.Config{Default: s3signer.Target{Region: "us-east-1"}}
	put := withMethod(http.MethodPut)
	tests := []struct {
		name          string
		mutate        []func(*signer.Request)
		signedHeaders string
		headers       map[string]string
		// params are the query parameters besides the X-Amz-* signing ones.
		params map[string]string
	}{
		{
			name:          "GET plain",
			signedHeaders: "host",
			headers:       map[string]string{},
			params:        map[string]string{"x-id": "GetObject"},
		},
		{
			name: "GET with response overrides and version id",
			mutate: []func(*signer.Request){func(r *signer.Request) {
				r.VersionID = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"
				r.ResponseContentDisposition = `attachment; filename="q3 summary.csv"`
				r.ResponseContentType = "text/csv"
				r.ResponseCacheControl = "no-store"
			}},
			signedHeaders: "host",
			headers:       map[string]string{},
			params: map[string]string{
				"x-id":                         "GetObject",
				"versionId":                    "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo",
				"response-content-disposition": `attachment; filename="q3 summary.csv"`,
				"response-content-type":        "text/csv",
				"response-cache-control":       "no-store",
			},
		},
		{
			name:          "HEAD",
			mutate:        []func(*signer.Request){withMethod(http.MethodHead)},
			signedHeaders: "host",
			headers:       map[string]string{},
			params:        map[string]string{},
		},
		{
			name:          "HEAD with version id",
			mutate:        []func(*signer.Request){withMethod(http.MethodHead), func(r *signer.Request) { r.VersionID = "v1" }},
			signedHeaders: "host",
			headers:       map[string]string{},
			params:        map[string]string{"versionId": "v1"},
		},
		{
			name:          "DELETE with version id",
			mutate:        []func(*signer.Request){withMethod(http.MethodDelete), func(r *signer.Request) { r.VersionID = "v1" }},
			signedHeaders: "host",
			headers:       map[string]string{},
			params:        map[string]string{"x-id": "DeleteObject", "versionId": "v1"},
		},
		{
			name:          "PUT plain",
			mutate:        []func(*signer.Request){put},
			signedHeaders: "host",
			headers:       map[string]string{},
			params:        map[string]string{"x-id": "PutObject"},
		},
		{
			name:          "PUT with content type",
			mutate:        []func(*signer.Request){put, func(r *signer.Request) { r.ContentType = "text/csv" }},
			signedHeaders: "content-type;host",
			headers:       map[string]string{"Content-Type": "text/csv"},
			params:        map[string]string{"x-id": "PutObject"},
		},
		{
			name:          "PUT with content length",
			mutate:        []func(*signer.Request){put, func(r *signer.Request) { r.ContentLength = 1234 }},
			signedHeaders: "content-length;host",
			headers:       map[string]string{"Content-Length": "1234"},
			params:        map[string]string{"x-id": "PutObject"},
		},
		{
			// The SDK signs Content-Length only when it is positive.
			name:          "PUT with content length 0",
			mutate:        []func(*signer.Request){put, func(r *signer.Request) { r.ContentLength = 0 }},
			signedHeaders: "host",
			headers:       map[string]string{},
			params:        map[string]string{"x-id": "PutObject"},
		},
		{
			// PresignPutObject drops Content-Type when the declared length is zero.
			name:          "PUT with content type and content length 0",
			mutate:        []func(*signer.Request){put, func(r *signer.Request) { r.ContentType = "text/csv"; r.ContentLength = 0 }},
			signedHeaders: "host",
			headers:       map[string]string{},
			params:        map[string]string{"x-id": "PutObject"},
		},
		{
			name:          "PUT with checksum_sha256",
			mutate:        []func(*signer.Request){put, func(r *signer.Request) { r.ChecksumSHA256 = exampleChecksum }},
			signedHeaders: "host;x-amz-checksum-sha256",
			headers:       map[string]string{"X-Amz-Checksum-Sha256": exampleChecksum},
			params:        map[string]string{"x-id": "PutObject"},
		},
		{
			name:          "PUT with metadata",
			mutate:        []func(*signer.Request){put, func(r *signer.Request) { r.Metadata = map[string]string{"owner": "reports-backend"} }},
			signedHeaders: "host;x-amz-meta-owner",
			headers:       map[string]string{"X-Amz-Meta-Owner": "reports-backend"},
			params:        map[string]string{"x-id": "PutObject"},
		},
		{
			name: "PUT with all of them",
			mutate: []func(*signer.Request){put, func(r *signer.Request) {
				r.ContentType = "text/csv"
				r.ContentLength = 1234
				r.ChecksumSHA256 = exampleChecksum
				r.Metadata = map[string]string{"owner": "reports-backend", "source-system": "erp"}
			}},
			signedHeaders: "content-length;content-type;host;x-amz-checksum-sha256;x-amz-meta-owner;x-amz-meta-source-system",
			headers: map[string]string{
				"Content-Type":             "text/csv",
				"Content-Length":           "1234",
				"X-Amz-Checksum-Sha256":    exampleChecksum,
				"X-Amz-Meta-Owner":         "reports-backend",
				"X-Amz-Meta-Source-System": "erp",
			},
			params: map[string]string{"x-id": "PutObject"},
		},
	}
	for _, path := range signingPaths {
		s := newSignerOn(t, cfg, path.sdkOnly)
		for _, tt := range tests {
			t.Run(path.name+"/"+tt.name, func(t *testing.T) {
				req := getRequest()
				for _, m := range tt.mutate {
					m(&req)
				}
				p, err := presign(t, s, path.sdkOnly, req)
				if err != nil {
					t.Fatalf("Presign: %v", err)
				}
				if p.Method != req.Method {
					t.Errorf("Method = %q, want %q", p.Method, req.Method)
				}
				q := query(t, p.URL)
				if got := q["X-Amz-SignedHeaders"]; got != tt.signedHeaders {
					t.Errorf("X-Amz-SignedHeaders = %q, want %q", got, tt.signedHeaders)
				}
				if !maps.Equal(p.Headers, tt.headers) {
					t.Errorf("Headers = %q, want %q", p.Headers, tt.headers)
				}
				params := map[string]string{}
				for k, v := range q {
					if !strings.HasPrefix(k, "X-Amz-") {
						params[k] = v
					}
				}
				if !maps.Equal(params, tt.params) {
					t.Errorf("query parameters = %q, want %q", params, tt.params)
				}
				var signing []string
				for k := range q {
					if strings.HasPrefix(k, "X-Amz-") {
						signing = append(signing, k)
					}
				}
				slices.Sort(signing)
				want := []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-Signature", "X-Amz-SignedHeaders"}
				if !slices.Equal(signing, want) {
					t.Errorf("X-Amz-* query parameters = %q, want %q", signing, want)
				}
				assertNoUnaskedChecksum(t, p, req.ChecksumSHA256 != "")
				verifySignature(t, p.Method, p.URL, p.Headers, testenv.SecretAccessKey)
			})
		}
	}
}

// assertNoUnaskedChecksum fails when a checksum the caller did not supply is in the
// URL or the headers (the SDK's default integrity protection puts a CRC32 of an
// empty body into pre-signed PUT URLs, which then fail at upload time).
func assertNoUnaskedChecksum(t *testing.T, p signer.Presigned, askedSHA256 bool) {
	t.Helper()
	lowerURL := strings.ToLower(p.URL)
	for _, bad := range []string{"x-amz-sdk-checksum-algorithm", "x-amz-checksum-crc32", "x-amz-checksum-crc64", "x-amz-checksum-sha1", "x-amz-trailer"} {
		if strings.Contains(lowerURL, bad) {
			t.Errorf("URL carries %s, which the caller did not ask for", bad)
		}
	}
	if strings.Contains(lowerURL, "x-amz-checksum-") && !askedSHA256 {
		t.Errorf("URL carries a checksum the caller did not ask for")
	}
	for name := range p.Headers {
		ln := strings.ToLower(name)
		if strings.Contains(ln, "checksum") && !(askedSHA256 && ln == "x-amz-checksum-sha256") {
			t.Errorf("header %s is a checksum the caller did not ask for", name)
		}
		if ln == "host" {
			t.Errorf("Headers holds Host, which the client sets itself")
		}
	}
}

// TestPresignURLGolden pins complete URLs, byte for byte.
func TestPresignURLGolden(t *testing.T) {
	cfg := s3signer.Config{
		Default: s3signer.Target{Region: "us-east-1"},
		Buckets: map[string]s3signer.Target{"logs-eu": {Region: "eu-west-1"}},
	}
	tests := []struct {
		name    string
		mutate  func(*signer.Request)
		wantURL string
	}{
		{
			name:   "GET plain",
			mutate: func(*signer.Request) {},
			wantURL: "https://examplebucket.s3.us-east-1.amazonaws.com/reports/2026/q3%20summary.csv" +
				"?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
				"&X-Amz-Credential=" + testenv.AccessKeyID + "%2F20261122%2Fus-east-1%2Fs3%2Faws4_request" +
				"&X-Amz-Date=20261122T190000Z" +
				"&X-Amz-Expires=3600" +
				"&X-Amz-SignedHeaders=host" +
				"&x-id=GetObject" +
				"&X-Amz-Signature=41dd4b012260fc75b372b6ec1767dbee915b2661142412a9a303741ce5550f34",
		},
		{
			name: "PUT with all options",
			mutate: func(r *signer.Request) {
				r.Method = http.MethodPut
				r.ContentType = "text/csv"
				r.ContentLength = 1234
				r.ChecksumSHA256 = exampleChecksum
				r.Metadata = map[string]string{"owner": "reports-backend"}
			},
			wantURL: "https://examplebucket.s3.us-east-1.amazonaws.com/reports/2026/q3%20summary.csv" +
				"?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
				"&X-Amz-Credential=" + testenv.AccessKeyID + "%2F20261122%2Fus-east-1%2Fs3%2Faws4_request" +
				"&X-Amz-Date=20261122T190000Z" +
				"&X-Amz-Expires=3600" +
				"&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost%3Bx-amz-checksum-sha256%3Bx-amz-meta-owner" +
				"&x-id=PutObject" +
				"&X-Amz-Signature=82832867971acd5216be6273825f1d05f33acc287c64589bd70a12c26c9fdaba",
		},
		{
			name: "GET with overrides, temporary credentials, other region",
			mutate: func(r *signer.Request) {
				r.Bucket = "logs-eu"
				r.Key = "2026/11/22/app (1)+ä.log"
				r.VersionID = "v1"
				r.ResponseContentDisposition = `attachment; filename="app.log"`
				r.Credentials.SessionToken = "FwoGZXIvYXdzEXAMPLE/session+token="
				r.Expires = 7 * 24 * time.Hour
			},
			wantURL: "https://logs-eu.s3.eu-west-1.amazonaws.com/2026/11/22/app%20%281%29%2B%C3%A4.log" +
				"?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
				"&X-Amz-Credential=" + testenv.AccessKeyID + "%2F20261122%2Feu-west-1%2Fs3%2Faws4_request" +
				"&X-Amz-Date=20261122T190000Z" +
				"&X-Amz-Expires=604800" +
				"&X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLE%2Fsession%2Btoken%3D" +
				"&X-Amz-SignedHeaders=host" +
				"&response-content-disposition=attachment%3B%20filename%3D%22app.log%22" +
				"&versionId=v1" +
				"&x-id=GetObject" +
				"&X-Amz-Signature=cf29b73d2a041b09925d6d42b1869fb72d8a25db35890cfa3fc3838e095596c6",
		},
		{
			name: "DELETE on a dotted bucket",
			mutate: func(r *signer.Request) {
				r.Bucket = "media.example.com"
				r.Method = http.MethodDelete
				r.Expires = 60 * time.Second
			},
			wantURL: "https://s3.us-east-1.amazonaws.com/media.example.com/reports/2026/q3%20summary.csv" +
				"?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
				"&X-Amz-Credential=" + testenv.AccessKeyID + "%2F20261122%2Fus-east-1%2Fs3%2Faws4_request" +
				"&X-Amz-Date=20261122T190000Z" +
				"&X-Amz-Expires=60" +
				"&X-Amz-SignedHeaders=host" +
				"&x-id=DeleteObject" +
				"&X-Amz-Signature=241ba18f9cc4204673add1b30ab3b166b43a556daee0e591626632a2eefead2e",
		},
	}
	for _, path := range signingPaths {
		s := newSignerOn(t, cfg, path.sdkOnly)
		for _, tt := range tests {
			t.Run(path.name+"/"+tt.name, func(t *testing.T) {
				req := getRequest()
				tt.mutate(&req)
				p, err := presign(t, s, path.sdkOnly, req)
				if err != nil {
					t.Fatalf("Presign: %v", err)
				}
				if p.URL != tt.wantURL {
					t.Errorf("URL =\n%s\nwant\n%s", p.URL, tt.wantURL)
				}
				verifySignature(t, p.Method, p.URL, p.Headers, testenv.SecretAccessKey)
			})
		}
	}
}

// TestPresignTargets checks where URLs point and which region signs them.
func TestPresignTargets(t *testing.T) {
	tests := []struct {
		name   string
		cfg    s3signer.Config
		bucket string
		// wantPrefix is the URL up to the key.
		wantPrefix string
		wantRegion string
	}{
		{
			name:       "default AWS regional endpoint, virtual-hosted",
			cfg:        s3signer.Config{Default: s3signer.Target{Region: "us-east-1"}},
			bucket:     exampleBucket,
			wantPrefix: "https://examplebucket.s3.us-east-1.amazonaws.com/",
			wantRegion: "us-east-1",
		},
		{
			name:       "default in another region",
			cfg:        s3signer.Config{Default: s3signer.Target{Region: "ap-southeast-2"}},
			bucket:     exampleBucket,
			wantPrefix: "https://examplebucket.s3.ap-southeast-2.amazonaws.com/",
			wantRegion: "ap-southeast-2",
		},
		{
			name: "bucket override with another region",
			cfg: s3signer.Config{
				Default: s3signer.Target{Region: "us-east-1"},
				Buckets: map[string]s3signer.Target{"logs-eu": {Region: "eu-west-1"}},
			},
			bucket:     "logs-eu",
			wantPrefix: "https://logs-eu.s3.eu-west-1.amazonaws.com/",
			wantRegion: "eu-west-1",
		},
		{
			name: "bucket without override beside one with",
			cfg: s3signer.Config{
				Default: s3signer.Target{Region: "us-east-1"},
				Buckets: map[string]s3signer.Target{"logs-eu": {Region: "eu-west-1"}},
			},
			bucket:     exampleBucket,
			wantPrefix: "https://examplebucket.s3.us-east-1.amazonaws.com/",
			wantRegion: "us-east-1",
		},
		{
			name:       "dotted bucket is forced path-style over HTTPS",
			cfg:        s3signer.Config{Default: s3signer.Target{Region: "us-east-1"}},
			bucket:     "media.example.com",
			wantPrefix: "https://s3.us-east-1.amazonaws.com/media.example.com/",
			wantRegion: "us-east-1",
		},
		{
			name: "dotted bucket in another region",
			cfg: s3signer.Config{
				Default: s3signer.Target{Region: "us-east-1"},
				Buckets: map[string]s3signer.Target{"eu.media.example.com": {Region: "eu-central-1"}},
			},
			bucket:     "eu.media.example.com",
			wantPrefix: "https://s3.eu-central-1.amazonaws.com/eu.media.example.com/",
			wantRegion: "eu-central-1",
		},
		{
			name:       "custom endpoint, path style",
			cfg:        s3signer.Config{Default: s3signer.Target{Region: "us-east-1", Endpoint: "http://127.0.0.1:7070", PathStyle: true}},
			bucket:     exampleBucket,
			wantPrefix: "http://127.0.0.1:7070/examplebucket/",
			wantRegion: "us-east-1",
		},
		{
			name:       "custom endpoint, virtual-hosted",
			cfg:        s3signer.Config{Default: s3signer.Target{Region: "eu-west-2", Endpoint: "https://objects.example.net:9000"}},
			bucket:     exampleBucket,
			wantPrefix: "https://examplebucket.objects.example.net:9000/",
			wantRegion: "eu-west-2",
		},
		{
			name:       "custom endpoint, virtual-hosted, dotted bucket forced path-style",
			cfg:        s3signer.Config{Default: s3signer.Target{Region: "eu-west-2", Endpoint: "https://objects.example.net"}},
			bucket:     "media.example.com",
			wantPrefix: "https://objects.example.net/media.example.com/",
			wantRegion: "eu-west-2",
		},
		{
			name: "public endpoint is the signed host",
			cfg: s3signer.Config{
				Default: s3signer.Target{Region: "us-east-1"},
				Buckets: map[string]s3signer.Target{"internal-media": {
					Region: "us-east-1", Endpoint: "http://10.0.0.5:9000", PublicEndpoint: "https://media.example.com", PathStyle: true,
				}},
			},
			bucket:     "internal-media",
			wantPrefix: "https://media.example.com/internal-media/",
			wantRegion: "us-east-1",
		},
		{
			name: "public endpoint, virtual-hosted",
			cfg: s3signer.Config{
				Default: s3signer.Target{Region: "eu-west-1", Endpoint: "http://10.0.0.5:9000", PublicEndpoint: "https://cdn.example.com"},
			},
			bucket:     exampleBucket,
			wantPrefix: "https://examplebucket.cdn.example.com/",
			wantRegion: "eu-west-1",
		},
	}
	for _, path := range signingPaths {
		for _, tt := range tests {
			t.Run(path.name+"/"+tt.name, func(t *testing.T) {
				s := newSignerOn(t, tt.cfg, path.sdkOnly)
				req := getRequest()
				req.Bucket = tt.bucket
				p, err := presign(t, s, path.sdkOnly, req)
				if err != nil {
					t.Fatalf("Presign: %v", err)
				}
				wantPath := tt.wantPrefix + "reports/2026/q3%20summary.csv?"
				if !strings.HasPrefix(p.URL, wantPath) {
					t.Errorf("URL = %s, want it to start with %s", p.URL, wantPath)
				}
				wantCred := testenv.AccessKeyID + "/20261122/" + tt.wantRegion + "/s3/aws4_request"
				if got := query(t, p.URL)["X-Amz-Credential"]; got != wantCred {
					t.Errorf("X-Amz-Credential = %q, want %q", got, wantCred)
				}
				if strings.Contains(p.URL, "10.0.0.5") {
					t.Errorf("URL %s names the internal endpoint", p.URL)
				}
				verifySignature(t, p.Method, p.URL, p.Headers, testenv.SecretAccessKey)
			})
		}
	}
}

// TestPresignTiming checks the signing time, the lifetime and the session token.
func TestPresignTiming(t *testing.T) {
	for _, path := range signingPaths {
		t.Run(path.name, func(t *testing.T) { testPresignTiming(t, path.sdkOnly) })
	}
}

func testPresignTiming(t *testing.T, sdkOnly bool) {
	at := time.Date(2027, 2, 28, 23, 59, 58, 700_000_000, time.UTC)
	s := newSignerOn(t, s3signer.Config{Default: s3signer.Target{Region: "us-east-1"}, Now: func() time.Time { return at }}, sdkOnly)
	req := getRequest()
	req.Expires = 90 * time.Minute
	req.Credentials.SessionToken = "IQoJb3JpZ2luX2VjEXAMPLE+/=="
	req.Credentials.CanExpire = true
	req.Credentials.Expires = at.Add(2 * time.Hour)
	p, err := presign(t, s, sdkOnly, req)
	if err != nil {
		t.Fatalf("Presign: %v", err)
	}
	q := query(t, p.URL)
	for name, want := range map[string]string{
		"X-Amz-Date":           "20270228T235958Z",
		"X-Amz-Expires":        "5400",
		"X-Amz-Security-Token": "IQoJb3JpZ2luX2VjEXAMPLE+/==",
		"X-Amz-Credential":     testenv.AccessKeyID + "/20270228/us-east-1/s3/aws4_request",
	} {
		if q[name] != want {
			t.Errorf("%s = %q, want %q", name, q[name], want)
		}
	}
	wantSigned := time.Date(2027, 2, 28, 23, 59, 58, 0, time.UTC)
	if !p.SignedAt.Equal(wantSigned) {
		t.Errorf("SignedAt = %s, want %s", p.SignedAt, wantSigned)
	}
	if p.Expires != 90*time.Minute {
		t.Errorf("Expires = %s, want 1h30m", p.Expires)
	}
	if want := wantSigned.Add(90 * time.Minute); !p.ExpiresAt().Equal(want) {
		t.Errorf("ExpiresAt = %s, want %s", p.ExpiresAt(), want)
	}
	verifySignature(t, p.Method, p.URL, p.Headers, testenv.SecretAccessKey)

	// A fraction of a second cannot be said in X-Amz-Expires; ExpiresAt follows the URL.
	req.Expires = 1500 * time.Millisecond
	p, err = presign(t, s, sdkOnly, req)
	if err != nil {
		t.Fatalf("Presign: %v", err)
	}
	if got := query(t, p.URL)["X-Amz-Expires"]; got != "1" {
		t.Errorf("X-Amz-Expires = %q, want 1", got)
	}
	if want := wantSigned.Add(time.Second); !p.ExpiresAt().Equal(want) {
		t.Errorf("ExpiresAt = %s, want %s", p.ExpiresAt(), want)
	}
}

// TestPresignRefuses checks the requests Presign must not sign.
func TestPresignRefuses(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*signer.Request)
	}{
		// The SDK would silently sign these for 900 s.
		{"zero lifetime", func(r *signer.Request) { r.Expires = 0 }},
		{"sub-second lifetime", func(r *signer.Request) { r.Expires = 999 * time.Millisecond }},
		{"negative lifetime", func(r *signer.Request) { r.Expires = -time.Hour }},
		{"unknown method", func(r *signer.Request) { r.Method = "POST" }},
		{"lowercase method", func(r *signer.Request) { r.Method = "get" }},
		// One header, two values: the SDK would sign either, at random.
		{"metadata names that differ only in case", func(r *signer.Request) {
			r.Method = http.MethodPut
			r.Metadata = map[string]string{"owner": "a", "Owner": "b"}
		}},
	}
	for _, path := range signingPaths {
		s := newSignerOn(t, s3signer.Config{Default: s3signer.Target{Region: "us-east-1"}}, path.sdkOnly)
		for _, tt := range tests {
			t.Run(path.name+"/"+tt.name, func(t *testing.T) {
				req := getRequest()
				tt.mutate(&req)
				p, err := s.Presign(context.Background(), req)
				if err == nil {
					t.Fatalf("Presign signed %s for %s, want an error", p.Method, p.Expires)
				}
			})
		}
	}
}
