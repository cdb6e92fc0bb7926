package s3signer_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/signer"
	"github.com/presignd/presignd/internal/signer/s3signer"
)

// benchRequests are typical requests: a download, a download with overrides under
// temporary credentials, an upload with every option, and a delete.
func benchRequests() []signer.Request {
	get := getRequest()
	getOverrides := getRequest()
	getOverrides.Bucket = "logs-eu"
	getOverrides.VersionID = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"
	getOverrides.ResponseContentDisposition = `attachment; filename="q3 summary.csv"`
	getOverrides.ResponseContentType = "text/csv"
	getOverrides.Credentials.SessionToken = "IQoJb3JpZ2luX2VjEXAMPLE/session+token=="
	put := getRequest()
	put.Method = http.MethodPut
	put.ContentType = "text/csv"
	put.ContentLength = 1234
	put.ChecksumSHA256 = exampleChecksum
	put.Metadata = map[string]string{"owner": "reports-backend"}
	del := getRequest()
	del.Bucket = "media.example.com"
	del.Method = http.MethodDelete
	return []signer.Request{get, getOverrides, put, del}
}

func benchSigner(b testing.TB, sdkOnly bool) *s3signer.Signer {
	s := newSigner(b, s3signer.Config{
		Default: s3signer.Target{Region: "us-east-1"},
		Buckets: map[string]s3signer.Target{"logs-eu": {Region: "eu-west-1"}},
	})
	if sdkOnly {
		s3signer.ForceSDK(s)
	}
	return s
}

func benchmarkPresign(b *testing.B, s *s3signer.Signer) {
	ctx := context.Background()
	reqs := benchRequests()
	for _, r := range reqs { // warm the caches
		if _, err := s.Presign(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.Presign(ctx, reqs[i%len(reqs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPresignSDK signs with s3.PresignClient, as every URL was signed before the
// fast path.
func BenchmarkPresignSDK(b *testing.B) { benchmarkPresign(b, benchSigner(b, true)) }

// BenchmarkPresignFast signs the same requests with the fast path.
func BenchmarkPresignFast(b *testing.B) { benchmarkPresign(b, benchSigner(b, false)) }

// TestFastPathAllocations holds the fast path to its allocation budget.
func TestFastPathAllocations(t *testing.T) {
	s := newSigner(t, s3signer.Config{
		Default: s3signer.Target{Region: "us-east-1"},
		Buckets: map[string]s3signer.Target{"logs-eu": {Region: "eu-west-1"}},
	})
	ctx := context.Background()
	for _, r := range benchRequests() {
		if _, covered := s3signer.PresignFast(ctx, s, r); !covered {
			t.Fatalf("the fast path does not cover %s s3://%s/%s", r.Method, r.Bucket, r.Key)
		}
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := s.Presign(ctx, r); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 40 {
			t.Errorf("%s s3://%s: %.0f allocations per URL, want at most 40", r.Method, r.Bucket, allocs)
		}
	}
}

// benchPostRequests are typical POST policies: an image of at most 10 MiB, and a file
// of any type under temporary credentials.
func benchPostRequests() []signer.PostRequest {
	image := signer.PostRequest{
		Bucket: "examplebucket", Key: "uploads/u-42/0v3k9q7c2m8h1t5r4b6n/photo 1.png", Expires: 15 * time.Minute,
		Credentials: exampleCredentials(), ContentType: "image/png", MaxContentLength: 10 << 20,
	}
	file := image
	file.Bucket, file.ContentType, file.MaxContentLength = "logs-eu", "", signer.MaxPostObjectSize
	file.Credentials.SessionToken = "IQoJb3JpZ2luX2VjEXAMPLE/session+token=="
	return []signer.PostRequest{image, file}
}

// BenchmarkPresignPost signs POST policies with the fast path and with PresignPostObject.
func BenchmarkPresignPost(b *testing.B) {
	for _, path := range signingPaths {
		b.Run(path.name, func(b *testing.B) {
			s := benchSigner(b, path.sdkOnly)
			ctx := context.Background()
			reqs := benchPostRequests()
			for _, r := range reqs { // warm the caches
				if _, err := s.PresignPost(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := s.PresignPost(ctx, reqs[i%len(reqs)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// TestFastUploadAllocations holds the fast paths of POST policies and part URLs to
// their allocation budgets.
func TestFastUploadAllocations(t *testing.T) {
	s := benchSigner(t, false)
	ctx := context.Background()
	for _, r := range benchPostRequests() {
		if _, covered := s3signer.PresignPostFast(ctx, s, r); !covered {
			t.Fatalf("the fast path does not cover POST s3://%s/%s", r.Bucket, r.Key)
		}
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := s.PresignPost(ctx, r); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 20 {
			t.Errorf("POST s3://%s: %.0f allocations per policy, want at most 20", r.Bucket, allocs)
		}
	}
	plan, err := signer.PlanParts(1<<30, 0)
	if err != nil {
		t.Fatal(err)
	}
	req := signer.PartRequest{
		Bucket: "examplebucket", Key: "uploads/big file.bin", UploadID: "VXBsb2FkIElE", PartNumbers: []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
		Plan: plan, Expires: time.Hour, Credentials: exampleCredentials(),
	}
	if _, covered := s3signer.PresignPartsFast(ctx, s, req); !covered {
		t.Fatal("the fast path does not cover the part URLs")
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, err := s.PresignParts(ctx, req); err != nil {
			t.Fatal(err)
		}
	})
	// About 4 without the race detector, which makes sync.Pool drop buffers at random.
	if perPart := allocs / float64(len(req.PartNumbers)); perPart > 12 {
		t.Errorf("%.1f allocations per part URL, want at most 12", perPart)
	}
}
