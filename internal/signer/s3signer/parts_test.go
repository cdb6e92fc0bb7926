package s3signer_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/signer"
	"github.com/presignd/presignd/internal/signer/s3signer"
	"github.com/presignd/presignd/internal/testenv"
)

const exampleUploadID = "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA"

// TestPresignPartsSignedHeaders is the golden record of what a part URL signs: its
// exact Content-Length and host when the upload's size is planned, host alone when it
// is not. An SDK upgrade that drops Content-Length from the signature, or adds a
// checksum, fails here.
const mib = 1 << 20

func TestPresignPartsSignedHeaders(t *testing.T) {
	s := newSigner(t, s3signer.Config{Default: s3signer.Target{Region: "us-east-1"}})
	bounded, err := signer.PlanParts(12*mib+1, 0) // 5 MiB, 5 MiB, 2 MiB + 1
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		plan          signer.PartPlan
		numbers       []int32
		signedHeaders string
		sizes         []int64
		headers       []map[string]string
	}{
		{
			name: "planned size", plan: bounded, numbers: []int32{3, 1},
			signedHeaders: "content-length;host",
			sizes:         []int64{2*mib + 1, 5 * mib},
			headers:       []map[string]string{{"Content-Length": "2097153"}, {"Content-Length": "5242880"}},
		},
		{
			name: "no planned size", numbers: []int32{1, 10000},
			signedHeaders: "host",
			sizes:         []int64{-1, -1},
			headers:       []map[string]string{{}, {}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts, _, err := s.PresignParts(context.Background(), signer.PartRequest{
				Bucket: exampleBucket, Key: exampleKey, UploadID: exampleUploadID, PartNumbers: tt.numbers,
				Plan: tt.plan, Expires: time.Hour, Credentials: exampleCredentials(),
			})
			if err != nil {
				t.Fatalf("PresignParts: %v", err)
			}
			for i, p := range parts {
				q := query(t, p.URL)
				if got := q["X-Amz-SignedHeaders"]; got != tt.signedHeaders {
					t.Errorf("part %d: X-Amz-SignedHeaders = %q, want %q", p.PartNumber, got, tt.signedHeaders)
				}
				if p.Size != tt.sizes[i] || !maps.Equal(p.Headers, tt.headers[i]) {
					t.Errorf("part %d: size %d, headers %q; want %d, %q", p.PartNumber, p.Size, p.Headers, tt.sizes[i], tt.headers[i])
				}
				params := map[string]string{}
				for k, v := range q {
					if !strings.HasPrefix(k, "X-Amz-") {
						params[k] = v
					}
				}
				want := map[string]string{"x-id": "UploadPart", "partNumber": fmt.Sprint(tt.numbers[i]), "uploadId": exampleUploadID}
				if !maps.Equal(params, want) {
					t.Errorf("part %d: query parameters %q, want %q", p.PartNumber, params, want)
				}
				assertNoUnaskedChecksum(t, signer.Presigned{URL: p.URL, Headers: p.Headers}, false)
				verifySignature(t, "PUT", p.URL, p.Headers, testenv.SecretAccessKey)
			}
		})
	}
}

// TestPresignPartsURLGolden pins a complete part URL, byte for byte.
func TestPresignPartsURLGolden(t *testing.T) {
	s := newSigner(t, s3signer.Config{Default: s3signer.Target{Region: "us-east-1"}})
	plan, err := signer.PlanParts(12*mib+1, 0)
	if err != nil {
		t.Fatal(err)
	}
	parts, expiresAt, err := s.PresignParts(context.Background(), signer.PartRequest{
		Bucket: exampleBucket, Key: exampleKey, UploadID: exampleUploadID, PartNumbers: []int32{3},
		Plan: plan, Expires: 900 * time.Second, Credentials: exampleCredentials(),
	})
	if err != nil {
		t.Fatal(err)
	}
	const want = "https://examplebucket.s3.us-east-1.amazonaws.com/reports/2026/q3%20summary.csv" +
		"?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
		"&X-Amz-Credential=" + testenv.AccessKeyID + "%2F20261122%2Fus-east-1%2Fs3%2Faws4_request" +
		"&X-Amz-Date=20261122T190000Z" +
		"&X-Amz-Expires=900" +
		"&X-Amz-SignedHeaders=content-length%3Bhost" +
		"&partNumber=3" +
		"&uploadId=" + exampleUploadID +
		"&x-id=UploadPart" +
		"&X-Amz-Signature=e2fb494344b381bc162f185e463b135803d12788a837cb98de0464ff20cc4498"
	if parts[0].URL != want {
		t.Errorf("URL =\n%s\nwant\n%s", parts[0].URL, want)
	}
	if wantAt := signingTime.Add(900 * time.Second); !expiresAt.Equal(wantAt) {
		t.Errorf("expires at %s, want %s", expiresAt, wantAt)
	}
}

// TestPresignPartsRefuses checks that no URL is signed for a part the plan does not have.
func TestPresignPartsRefuses(t *testing.T) {
	s := newSigner(t, s3signer.Config{Default: s3signer.Target{Region: "us-east-1"}})
	plan, err := signer.PlanParts(12*mib+1, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, numbers := range [][]int32{{4}, {1, 2, 3, 4}, {0}, {-1}} {
		parts, _, err := s.PresignParts(context.Background(), signer.PartRequest{
			Bucket: exampleBucket, Key: exampleKey, UploadID: exampleUploadID, PartNumbers: numbers,
			Plan: plan, Expires: time.Hour, Credentials: exampleCredentials(),
		})
		if err == nil || parts != nil {
			t.Errorf("parts %v of a 3-part upload: got %d URLs, error %v; want none and an error", numbers, len(parts), err)
		}
	}
}

// TestPresignPartsConcurrent signs part URLs from many goroutines at once (run with
// -race) and checks each signature the way S3 does, for a key that needs escaping.
func TestPresignPartsConcurrent(t *testing.T) {
	s := newSigner(t, s3signer.Config{Default: s3signer.Target{Region: "us-east-1"}})
	req := signer.PartRequest{
		Bucket: exampleBucket, Key: "uploads/q3 summary (final)+ä.csv", UploadID: exampleUploadID,
		PartNumbers: []int32{1, 2, 10000}, Expires: time.Hour, Credentials: exampleCredentials(),
	}
	results := make([][]signer.PartURL, 8)
	var wg sync.WaitGroup
	for w := range results {
		wg.Go(func() {
			parts, expiresAt, err := s.PresignParts(context.Background(), req)
			if err != nil {
				t.Errorf("PresignParts: %v", err)
				return
			}
			if want := signingTime.Add(time.Hour); !expiresAt.Equal(want) {
				t.Errorf("expires at %s, want %s", expiresAt, want)
			}
			results[w] = parts
		})
	}
	wg.Wait()
	for _, parts := range results {
		if len(parts) != len(req.PartNumbers) {
			t.Fatalf("%d part URLs, want %d", len(parts), len(req.PartNumbers))
		}
		for i, p := range parts {
			q := query(t, p.URL)
			if p.PartNumber != req.PartNumbers[i] || q["partNumber"] != fmt.Sprint(req.PartNumbers[i]) || q["uploadId"] != req.UploadID {
				t.Errorf("part %d: URL has partNumber %q and uploadId %q", p.PartNumber, q["partNumber"], q["uploadId"])
			}
			verifySignature(t, "PUT", p.URL, nil, testenv.SecretAccessKey)
		}
	}
}

// BenchmarkPresignParts signs the URLs of 1, 10 and 100 parts of a planned upload per
// call, as /v1/multipart/parts does, with the fast path and with PresignUploadPart.
func BenchmarkPresignParts(b *testing.B) {
	plan, err := signer.PlanParts(1<<30, 0)
	if err != nil {
		b.Fatal(err)
	}
	for _, path := range signingPaths {
		s := newSignerOn(b, s3signer.Config{Default: s3signer.Target{Region: "us-east-1"}}, path.sdkOnly)
		for _, n := range []int{1, 10, 100} {
			numbers := make([]int32, n)
			for i := range numbers {
				numbers[i] = int32(i + 1)
			}
			req := signer.PartRequest{
				Bucket: exampleBucket, Key: exampleKey, UploadID: exampleUploadID,
				PartNumbers: numbers, Plan: plan, Expires: time.Hour, Credentials: exampleCredentials(),
			}
			b.Run(fmt.Sprintf("%s/%d-parts", path.name, n), func(b *testing.B) {
				ctx := context.Background()
				if _, _, err := s.PresignParts(ctx, req); err != nil { // warm the caches
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, _, err := s.PresignParts(ctx, req); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
