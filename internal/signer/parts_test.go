package signer_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/signer"
)

// TestPresignPartsConcurrent signs part URLs from many goroutines at once (run with
// -race) and checks each signature the way S3 does, for a key that needs escaping.
func TestPresignPartsConcurrent(t *testing.T) {
	s := newSigner(t, signer.Config{Default: signer.Target{Region: "us-east-1"}})
	req := signer.PartRequest{
		Bucket: exampleBucket, Key: "uploads/q3 summary (final)+ä.csv", UploadID: "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA",
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
			verifySignature(t, "PUT", p.URL, nil, exampleSecretAccessKey)
		}
	}
}
