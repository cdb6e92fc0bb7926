package s3signer_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/presignd/presignd/internal/signer"
	"github.com/presignd/presignd/internal/signer/s3signer"
)

// differentialConfigs are the targets the differential test signs for: AWS regional
// endpoints in several partitions, bucket overrides, dotted buckets, custom and public
// endpoints with and without path style, default ports, endpoints with a path, and
// endpoint settings that come from the AWS configuration rather than from presignd's.
func differentialConfigs() map[string]s3signer.Config {
	return map[string]s3signer.Config{
		"regional": {
			Default: s3signer.Target{Region: "us-east-1"},
			Buckets: map[string]s3signer.Target{
				"eu-logs":              {Region: "eu-west-1"},
				"ap-data":              {Region: "ap-northeast-1"},
				"sa-archive":           {Region: "sa-east-1"},
				"cn-assets":            {Region: "cn-north-1"},
				"gov-records":          {Region: "us-gov-west-1"},
				"eu.dotted.bucket":     {Region: "eu-central-1"},
				"minio-path":           {Region: "us-east-1", Endpoint: "http://127.0.0.1:7070", PathStyle: true},
				"minio-vhost":          {Region: "eu-west-2", Endpoint: "http://objects.internal:9000"},
				"internal-media":       {Region: "us-east-1", Endpoint: "http://10.0.0.5:9000", PublicEndpoint: "https://media.example.com", PathStyle: true},
				"cdn-prefixed":         {Region: "us-east-1", Endpoint: "http://10.0.0.6:9000", PublicEndpoint: "https://cdn.example.com/s3/", PathStyle: true},
				"public-vhost":         {Region: "us-west-2", Endpoint: "http://10.0.0.7:9000", PublicEndpoint: "https://objects.example.org"},
				"port-80":              {Region: "us-east-1", Endpoint: "http://127.0.0.1:80", PathStyle: true},
				"port-443":             {Region: "us-east-1", Endpoint: "https://s3.example.net:443"},
				"dotted.custom.bucket": {Region: "us-east-1", Endpoint: "https://objects.example.net"},
			},
		},
		"dual-stack fips": {
			Default:     s3signer.Target{Region: "us-west-2"},
			LoadOptions: []func(*config.LoadOptions) error{config.WithUseDualStackEndpoint(aws.DualStackEndpointStateEnabled), config.WithUseFIPSEndpoint(aws.FIPSEndpointStateEnabled)},
		},
		"base endpoint from the AWS configuration": {
			Default:     s3signer.Target{Region: "eu-central-1"},
			LoadOptions: []func(*config.LoadOptions) error{config.WithBaseEndpoint("http://127.0.0.1:9999")},
		},
	}
}

var differentialBuckets = map[string][]string{
	"regional": {
		"examplebucket", "media.example.com", "UpperCase_bucket", "eu-logs", "ap-data", "sa-archive", "cn-assets",
		"gov-records", "eu.dotted.bucket", "minio-path", "minio-vhost", "internal-media", "cdn-prefixed",
		"public-vhost", "port-80", "port-443", "dotted.custom.bucket",
	},
	"dual-stack fips":                          {"examplebucket", "media.example.com"},
	"base endpoint from the AWS configuration": {"examplebucket", "media.example.com"},
}

// keyParts are the pieces awkward keys are made of.
var keyParts = []string{
	"a", "Z", "0", "report", "2026", "/", "/", "//", " ", "  ", "+", "=", "&", "%", "%20", "#", "?", "'", `"`,
	"(", ")", "[", "]", "{", "}", "!", "*", "~", "$", ",", ";", ":", "@", "^", "`", "|", "\\", "<", ">",
	"é", "e\u0301", "Å", "A\u030a", "ß", "ﬁ", "日本語", "中文", "한국어", "😀", "👩‍💻", "🇩🇪",
	".", "..", "./", "../", "-", "_", "\u00a0", "\u200b", "\x7f", "\xff", "\xc3(",
}

type diffGen struct {
	r     *rand.Rand
	token int
}

func (g *diffGen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g *diffGen) key() string {
	if g.r.IntN(40) == 0 {
		// Long keys, up to S3's 1024 bytes.
		var b strings.Builder
		for b.Len() < 1024 {
			b.WriteString(g.pick(keyParts))
			b.WriteString("/segment-")
		}
		return b.String()[:900+g.r.IntN(124)]
	}
	var b strings.Builder
	for n := 1 + g.r.IntN(12); n > 0; n-- {
		b.WriteString(g.pick(keyParts))
	}
	return b.String()
}

// text returns a value for a query parameter or a header: printable ASCII with runs
// of spaces, or, when exotic, anything.
func (g *diffGen) text(exotic bool) string {
	parts := []string{"a", "text/plain", "no-cache", " ", "  ", "\"", ";", "=", "&", "+", "%", "/", "attachment", "filename=\"x y.txt\"", "v1", "3HL4kqtJ+lcp/Xro="}
	if exotic {
		parts = append(parts, "é", "\t", "日本", "😀", "\x00", "\n")
	}
	var b strings.Builder
	for n := g.r.IntN(6); n > 0; n-- {
		b.WriteString(g.pick(parts))
	}
	return b.String()
}

func (g *diffGen) credentials() signer.Credentials {
	switch g.r.IntN(4) {
	case 0:
		return exampleCredentials()
	case 1:
		return signer.Credentials{AccessKeyID: "AKIAOTHEREXAMPLE", SecretAccessKey: "other/secret+key=="}
	default:
		g.token++
		return signer.Credentials{
			AccessKeyID: fmt.Sprintf("ASIATEMPEXAMPLE%d", g.r.IntN(3)), SecretAccessKey: "temp/Secret+Key" + fmt.Sprint(g.r.IntN(3)),
			SessionToken: fmt.Sprintf("IQoJb3JpZ2luX2VjE%d/+=%s==", g.token, strings.Repeat("A", g.r.IntN(400))),
			CanExpire:    true, Expires: signingTime.Add(time.Hour),
		}
	}
}

// request returns a random request and whether the fast path must cover it.
func (g *diffGen) request(bucket string) (signer.Request, bool, bool) {
	exotic := g.r.IntN(10) == 0
	req := signer.Request{
		Bucket: bucket, Key: g.key(),
		Method:        []string{http.MethodGet, http.MethodHead, http.MethodDelete, http.MethodPut}[g.r.IntN(4)],
		Expires:       time.Duration(1+g.r.Int64N(604800))*time.Second + time.Duration(g.r.IntN(3))*300*time.Millisecond,
		Credentials:   g.credentials(),
		ContentLength: -1,
	}
	maybe := func() string {
		if g.r.IntN(2) == 0 {
			return ""
		}
		return g.text(exotic)
	}
	// Every field is set now and then whatever the method: fields a method does not
	// take must be ignored alike.
	req.VersionID = maybe()
	req.ResponseContentDisposition = maybe()
	req.ResponseContentType = maybe()
	req.ResponseCacheControl = maybe()
	req.ContentType = maybe()
	if g.r.IntN(2) == 0 {
		req.ChecksumSHA256 = exampleChecksum
	}
	switch g.r.IntN(4) {
	case 0:
		req.ContentLength = 0
	case 1:
		req.ContentLength = g.r.Int64N(5 << 40)
	}
	covered := true
	if g.r.IntN(2) == 0 {
		req.Metadata = map[string]string{}
		names := []string{"owner", "source-system", "a", "z_9.x", "x-y-z", "0", "tok!#$%&'*+.^_`|~"}
		for n := g.r.IntN(5); n > 0; n-- {
			name := g.pick(names)
			if g.r.IntN(15) == 0 {
				// Names the fast path leaves to the SDK.
				name = g.pick([]string{"Owner", "", "with space", "é"})
				if req.Method == http.MethodPut {
					covered = false
				}
			}
			if sameHeaderName(req.Metadata, name) {
				continue // Presign refuses names that differ only in case
			}
			req.Metadata[name] = g.text(exotic)
		}
	}
	return req, covered, !exotic
}

func sameHeaderName(md map[string]string, name string) bool {
	for other := range md {
		if other != name && strings.EqualFold(other, name) {
			return true
		}
	}
	return false
}

// TestFastPathMatchesPresignClient signs thousands of generated requests with the fast
// path and with s3.PresignClient at the same time, and wants the same URL and headers
// byte for byte; it also checks every signature the way S3 does.
func TestFastPathMatchesPresignClient(t *testing.T) {
	const casesPerConfig = 2000
	ctx := context.Background()
	g := &diffGen{r: rand.New(rand.NewPCG(20261122, 7))}
	times := []time.Time{
		signingTime,
		time.Date(2026, 11, 22, 23, 59, 59, 0, time.UTC),
		time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 12, 34, 56, 0, time.UTC),
	}
	total, fast := 0, 0
	for name, cfg := range differentialConfigs() {
		clk := &clock{t: signingTime}
		cfg.Now = clk.Now
		fastSigner := newSigner(t, cfg)
		sdkSigner := newSigner(t, cfg)
		s3signer.ForceSDK(sdkSigner)
		buckets := differentialBuckets[name]
		n := casesPerConfig
		if len(buckets) < 5 {
			n = casesPerConfig / 4
		}
		for i := range n {
			bucket := buckets[g.r.IntN(len(buckets))]
			req, mustCover, verifiable := g.request(bucket)
			clk.Set(times[g.r.IntN(len(times))].Add(time.Duration(g.r.IntN(5000)) * time.Millisecond))
			desc := fmt.Sprintf("%s #%d: %s s3://%s/%q", name, i, req.Method, req.Bucket, req.Key)

			want, err := sdkSigner.Presign(ctx, req)
			if err != nil {
				t.Fatalf("%s: PresignClient: %v", desc, err)
			}
			got, covered := s3signer.PresignFast(ctx, fastSigner, req)
			if mustCover && !covered {
				t.Fatalf("%s: the fast path did not cover it", desc)
			}
			if covered {
				fast++
				assertSamePresigned(t, fmt.Sprintf("%s req=%+v", desc, req), got, want)
			}
			viaPresign, err := fastSigner.Presign(ctx, req)
			if err != nil {
				t.Fatalf("%s: Presign: %v", desc, err)
			}
			assertSamePresigned(t, desc+" (Presign)", viaPresign, want)
			if verifiable {
				verifySignature(t, want.Method, want.URL, want.Headers, req.Credentials.SecretAccessKey)
			}
			total++
		}
	}
	if fast < total*9/10 {
		t.Errorf("the fast path covered %d of %d requests, want at least 90%%", fast, total)
	}
	t.Logf("%d requests, %d signed by the fast path, all identical to PresignClient", total, fast)
}

func assertSamePresigned(t *testing.T, desc string, got, want signer.Presigned) {
	t.Helper()
	if got.URL != want.URL {
		t.Fatalf("%s: URL\n got %s\nwant %s", desc, got.URL, want.URL)
	}
	if !maps.Equal(got.Headers, want.Headers) || got.Headers == nil {
		t.Fatalf("%s: Headers = %q, want %q", desc, got.Headers, want.Headers)
	}
	if got.Method != want.Method || !got.SignedAt.Equal(want.SignedAt) || got.Expires != want.Expires {
		t.Fatalf("%s: (%s, %s, %s), want (%s, %s, %s)", desc, got.Method, got.SignedAt, got.Expires, want.Method, want.SignedAt, want.Expires)
	}
}

// TestPresignConcurrent signs from many goroutines at once, each request against its
// PresignClient answer, with the fast path and with the SDK alone; run with -race it
// checks the caches and the clients shared between calls.
func TestPresignConcurrent(t *testing.T) {
	ctx := context.Background()
	cfg := differentialConfigs()["regional"]
	sdkSigner := newSigner(t, cfg)
	s3signer.ForceSDK(sdkSigner)
	g := &diffGen{r: rand.New(rand.NewPCG(7, 20261122))}
	buckets := differentialBuckets["regional"]
	type tc struct {
		req  signer.Request
		want signer.Presigned
	}
	var cases []tc
	for range 400 {
		req, _, _ := g.request(buckets[g.r.IntN(len(buckets))])
		want, err := sdkSigner.Presign(ctx, req)
		if err != nil {
			t.Fatalf("PresignClient: %v", err)
		}
		cases = append(cases, tc{req, want})
	}
	for _, sdkOnly := range []bool{false, true} {
		s := newSigner(t, cfg)
		if sdkOnly {
			s3signer.ForceSDK(s)
		}
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := range cases {
					c := cases[(i+w*53)%len(cases)]
					got, err := s.Presign(ctx, c.req)
					if err != nil {
						t.Errorf("Presign: %v", err)
						return
					}
					if got.URL != c.want.URL || !maps.Equal(got.Headers, c.want.Headers) {
						t.Errorf("SDK only %t: %s s3://%s/%q: differs from PresignClient", sdkOnly, c.req.Method, c.req.Bucket, c.req.Key)
						return
					}
				}
			})
		}
		wg.Wait()
	}
}
