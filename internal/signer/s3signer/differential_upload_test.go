package s3signer_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/presignd/presignd/internal/signer"
	"github.com/presignd/presignd/internal/signer/s3signer"
)

// jsonAwkward are pieces of values that JSON escapes, or that encoding/json rewrites.
var jsonAwkward = []string{"<", ">", "&", `"`, `\`, "\u2028", "\u2029", "\x00", "\x1f", "\b", "\f", "\n", "\r", "\t", "\x7f", "\xff", "\xc3(", "é", "😀", " ", "  "}

// postRequest returns a random POST policy request.
func (g *diffGen) postRequest(bucket string) signer.PostRequest {
	req := signer.PostRequest{
		Bucket: bucket, Key: g.key(), Credentials: g.credentials(),
		Expires: time.Duration(1+g.r.Int64N(604800))*time.Second + time.Duration(g.r.IntN(3))*300*time.Millisecond,
	}
	if g.r.IntN(10) == 0 {
		req.Key += g.pick(jsonAwkward) + g.key()
	}
	switch g.r.IntN(4) {
	case 0:
	case 1:
		req.ContentType = g.pick([]string{"image/png", "text/csv", "application/octet-stream", "text/plain; charset=utf-8"})
	case 2:
		req.ContentType = g.text(g.r.IntN(3) == 0)
	default:
		req.ContentType = g.pick(jsonAwkward) + g.text(true) + g.pick(jsonAwkward)
	}
	switch g.r.IntN(3) {
	case 0:
		req.MaxContentLength = g.r.Int64N(signer.MaxPostObjectSize + 1)
	case 1:
		req.MinContentLength = g.r.Int64N(1 << 20)
		req.MaxContentLength = req.MinContentLength + g.r.Int64N(signer.MaxPostObjectSize)
	default:
		req.MaxContentLength = signer.MaxPostObjectSize
	}
	return req
}

// TestFastPostMatchesPresignPostObject signs generated POST policies with the fast path
// and with PresignPostObject at the same time, and wants the same URL and fields byte
// for byte, policy and signature included; it also checks each policy and signature
// as S3 would, independently of both.
func TestFastPostMatchesPresignPostObject(t *testing.T) {
	const casesPerConfig = 1500
	ctx := context.Background()
	g := &diffGen{r: rand.New(rand.NewPCG(20261128, 11))}
	total := 0
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
			req := g.postRequest(buckets[g.r.IntN(len(buckets))])
			clk.Set(signingTime.Add(time.Duration(g.r.Int64N(3*86400e3)) * time.Millisecond))
			desc := fmt.Sprintf("%s #%d: POST s3://%s/%q", name, i, req.Bucket, req.Key)

			want, err := sdkSigner.PresignPost(ctx, req)
			if err != nil {
				t.Fatalf("%s: PresignPostObject: %v", desc, err)
			}
			got, covered := s3signer.PresignPostFast(ctx, fastSigner, req)
			if !covered {
				t.Fatalf("%s: the fast path did not cover it", desc)
			}
			assertSamePostPolicy(t, desc, got, want)
			viaPresign, err := fastSigner.PresignPost(ctx, req)
			if err != nil {
				t.Fatalf("%s: PresignPost: %v", desc, err)
			}
			assertSamePostPolicy(t, desc+" (PresignPost)", viaPresign, want)
			verifyPostPolicy(t, desc, want, req)
			total++
		}
	}
	t.Logf("%d POST policies, all signed by the fast path and identical to PresignPostObject", total)
}

// TestFastPostMatchesPresignPostObjectOwnClock compares the fast path with
// PresignPostObject left to read its own clock, at the time it read: pinning the SDK's
// time for the differential test must change nothing else.
func TestFastPostMatchesPresignPostObjectOwnClock(t *testing.T) {
	ctx := context.Background()
	g := &diffGen{r: rand.New(rand.NewPCG(28, 11))}
	cfg := differentialConfigs()["regional"]
	clk := &clock{}
	cfg.Now = clk.Now
	s := newSigner(t, cfg)
	buckets := differentialBuckets["regional"]
	for i := range 200 {
		req := g.postRequest(buckets[g.r.IntN(len(buckets))])
		req.Expires = req.Expires.Truncate(time.Second)
		want, err := s3signer.PresignPostObjectOwnClock(ctx, s, req)
		if err != nil {
			t.Fatalf("PresignPostObject: %v", err)
		}
		clk.Set(want.SignedAt)
		got, covered := s3signer.PresignPostFast(ctx, s, req)
		if !covered {
			t.Fatalf("#%d: the fast path did not cover s3://%s/%q", i, req.Bucket, req.Key)
		}
		assertSamePostPolicy(t, fmt.Sprintf("#%d: POST s3://%s/%q", i, req.Bucket, req.Key), got, want)
	}
}

func assertSamePostPolicy(t *testing.T, desc string, got, want signer.PostPolicy) {
	t.Helper()
	if got.URL != want.URL {
		t.Fatalf("%s: URL = %s, want %s", desc, got.URL, want.URL)
	}
	if !maps.Equal(got.Fields, want.Fields) {
		t.Fatalf("%s: fields differ (-want +got):\n%s", desc, cmp.Diff(want.Fields, got.Fields))
	}
	if !got.SignedAt.Equal(want.SignedAt) || got.Expires != want.Expires {
		t.Fatalf("%s: signed at %s for %s, want %s for %s", desc, got.SignedAt, got.Expires, want.SignedAt, want.Expires)
	}
}

// verifyPostPolicy checks a signed POST form as S3 does (SigV4 POST: the signature is
// the HMAC of the base64 policy under the signing key of the credential's scope), and
// that the policy holds the form to the request: its conditions, in order, and its
// expiration. It is written from the specification, independently of the SDK.
func verifyPostPolicy(t *testing.T, desc string, p signer.PostPolicy, req signer.PostRequest) {
	t.Helper()
	f := p.Fields
	cred := strings.SplitN(f["X-Amz-Credential"], "/", 2)
	if len(cred) != 2 || cred[0] != req.Credentials.AccessKeyID || f["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256" {
		t.Fatalf("%s: not a SigV4 form: algorithm %q, credential %q", desc, f["X-Amz-Algorithm"], f["X-Amz-Credential"])
	}
	key := []byte("AWS4" + req.Credentials.SecretAccessKey)
	for _, part := range strings.Split(cred[1], "/") {
		key = hmacSHA256(key, part)
	}
	if want := hex.EncodeToString(hmacSHA256(key, f["policy"])); f["X-Amz-Signature"] != want {
		t.Fatalf("%s: X-Amz-Signature = %s, want %s", desc, f["X-Amz-Signature"], want)
	}
	doc, err := base64.StdEncoding.DecodeString(f["policy"])
	if err != nil {
		t.Fatalf("%s: policy is not base64: %v", desc, err)
	}
	var policy struct {
		Expiration string `json:"expiration"`
		Conditions []any  `json:"conditions"`
	}
	if err := json.Unmarshal(doc, &policy); err != nil {
		t.Fatalf("%s: policy is not JSON: %v\n%s", desc, err, doc)
	}
	// JSON carries each byte that is not UTF-8 as U+FFFD, as ranging over runes does.
	text := func(s string) string { return string([]rune(s)) }
	want := []any{
		map[string]any{"X-Amz-Algorithm": "AWS4-HMAC-SHA256"},
		map[string]any{"bucket": text(req.Bucket)},
		map[string]any{"X-Amz-Credential": f["X-Amz-Credential"]},
		map[string]any{"X-Amz-Date": p.SignedAt.UTC().Format("20060102T150405Z")},
	}
	if tok := req.Credentials.SessionToken; tok != "" {
		want = append(want, map[string]any{"X-Amz-Security-Token": text(tok)})
	}
	want = append(want, []any{"content-length-range", float64(req.MinContentLength), float64(req.MaxContentLength)},
		map[string]any{"key": text(req.Key)})
	if req.ContentType != "" {
		want = append(want, map[string]any{"Content-Type": text(req.ContentType)})
	}
	if diff := cmp.Diff(want, policy.Conditions); diff != "" {
		t.Fatalf("%s: policy conditions differ (-want +got):\n%s", desc, diff)
	}
	if got, want := policy.Expiration, p.ExpiresAt().UTC().Format(time.RFC3339); got != want {
		t.Fatalf("%s: policy expires %s, want %s", desc, got, want)
	}
	if f["X-Amz-Date"] != p.SignedAt.UTC().Format("20060102T150405Z") || f["key"] != req.Key || f["X-Amz-Security-Token"] != req.Credentials.SessionToken {
		t.Fatalf("%s: fields %q do not match the request", desc, f)
	}
}

// partRequest returns a random request for part URLs whose part numbers are in its plan.
func (g *diffGen) partRequest(bucket string) signer.PartRequest {
	req := signer.PartRequest{
		Bucket: bucket, Key: g.key(), Credentials: g.credentials(),
		UploadID: g.pick([]string{exampleUploadID, "2~iCw_lDY8VoP6zCn7dSzaJ5XY-9QxtCz", "u"}),
		Expires:  time.Duration(1+g.r.Int64N(604800))*time.Second + time.Duration(g.r.IntN(3))*300*time.Millisecond,
	}
	if g.r.IntN(5) == 0 {
		req.UploadID = g.text(true) + g.pick(jsonAwkward) + "/+=%"
	}
	count := int32(signer.MaxParts)
	if g.r.IntN(3) > 0 {
		size := signer.MinPartSize + g.r.Int64N(signer.MaxObjectSize-signer.MinPartSize)
		if g.r.IntN(2) == 0 {
			size = signer.MinPartSize + g.r.Int64N(1<<30)
		}
		var partSize int64
		if g.r.IntN(2) == 0 {
			partSize = signer.MinPartSize + g.r.Int64N(signer.MaxPartSize-signer.MinPartSize)
		}
		plan, err := signer.PlanParts(size, partSize)
		if err == nil {
			req.Plan = plan
			count = plan.Count()
		}
	}
	for n := 1 + g.r.IntN(12); n > 0; n-- {
		req.PartNumbers = append(req.PartNumbers, 1+g.r.Int32N(count))
	}
	if g.r.IntN(4) == 0 {
		req.PartNumbers = append(req.PartNumbers, 1, count)
	}
	return req
}

// TestFastPartsMatchPresignUploadPart signs generated part requests with the fast path
// and with PresignUploadPart at the same time, and wants the same URLs, sizes and
// headers byte for byte; it also checks every signature the way S3 does.
func TestFastPartsMatchPresignUploadPart(t *testing.T) {
	const casesPerConfig = 600
	ctx := context.Background()
	g := &diffGen{r: rand.New(rand.NewPCG(20261128, 13))}
	total, urls := 0, 0
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
			req := g.partRequest(buckets[g.r.IntN(len(buckets))])
			clk.Set(signingTime.Add(time.Duration(g.r.Int64N(3*86400e3)) * time.Millisecond))
			desc := fmt.Sprintf("%s #%d: parts %v of s3://%s/%q upload %q", name, i, req.PartNumbers, req.Bucket, req.Key, req.UploadID)

			want, wantAt, err := sdkSigner.PresignParts(ctx, req)
			if err != nil {
				t.Fatalf("%s: PresignUploadPart: %v", desc, err)
			}
			got, covered := s3signer.PresignPartsFast(ctx, fastSigner, req)
			if !covered {
				t.Fatalf("%s: the fast path did not cover it", desc)
			}
			assertSameParts(t, desc, got, want)
			viaPresign, gotAt, err := fastSigner.PresignParts(ctx, req)
			if err != nil || !gotAt.Equal(wantAt) {
				t.Fatalf("%s: PresignParts: expires at %s, error %v; want %s", desc, gotAt, err, wantAt)
			}
			assertSameParts(t, desc+" (PresignParts)", viaPresign, want)
			for _, p := range want {
				verifySignature(t, "PUT", p.URL, p.Headers, req.Credentials.SecretAccessKey)
			}
			total++
			urls += len(want)
		}
	}
	t.Logf("%d part requests, %d URLs, all signed by the fast path and identical to PresignUploadPart", total, urls)
}

func assertSameParts(t *testing.T, desc string, got, want []signer.PartURL) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("%s: part URLs differ (-want +got):\n%s", desc, diff)
	}
}

// TestPresignPostConcurrent signs POST policies from many goroutines at once, each
// against its PresignPostObject answer; run with -race it checks the caches shared
// between calls.
func TestPresignPostConcurrent(t *testing.T) {
	ctx := context.Background()
	cfg := differentialConfigs()["regional"]
	sdkSigner := newSigner(t, cfg)
	s3signer.ForceSDK(sdkSigner)
	g := &diffGen{r: rand.New(rand.NewPCG(11, 20261128))}
	buckets := differentialBuckets["regional"]
	reqs := make([]signer.PostRequest, 200)
	wants := make([]signer.PostPolicy, len(reqs))
	for i := range reqs {
		reqs[i] = g.postRequest(buckets[g.r.IntN(len(buckets))])
		var err error
		if wants[i], err = sdkSigner.PresignPost(ctx, reqs[i]); err != nil {
			t.Fatalf("PresignPostObject: %v", err)
		}
	}
	s := newSigner(t, cfg)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range reqs {
				j := (i + w*37) % len(reqs)
				got, err := s.PresignPost(ctx, reqs[j])
				if err != nil || got.URL != wants[j].URL || !maps.Equal(got.Fields, wants[j].Fields) {
					t.Errorf("POST s3://%s/%q: differs from PresignPostObject (error %v)", reqs[j].Bucket, reqs[j].Key, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
