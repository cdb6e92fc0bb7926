package s3signer

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/signer"
	"github.com/presignd/presignd/internal/testenv"
)

// TestDeriveSigningKeyKnownAnswer checks the key derivation against the example of
// the AWS SigV4 documentation ("Examples of how to derive a signing key").
func TestDeriveSigningKeyKnownAnswer(t *testing.T) {
	at := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	got := deriveSigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", at, "us-east-1", "iam").key
	const want = "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
	if hex.EncodeToString(got[:]) != want {
		t.Fatalf("signing key = %x, want %s", got, want)
	}
}

func TestParseRoute(t *testing.T) {
	const q = "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDPROBE%2F20200229%2Feu-west-1%2Fs3%2Faws4_request" +
		"&X-Amz-Date=20200229T235959Z&X-Amz-Expires=1&X-Amz-SignedHeaders=host&x-id=GetObject&X-Amz-Signature=00"
	tests := []struct {
		url  string
		want *route // nil: not reproduced by the fast path
	}{
		{"https://b.s3.eu-west-1.amazonaws.com/k" + q, &route{base: "https://b.s3.eu-west-1.amazonaws.com/", pathAt: 36, host: "b.s3.eu-west-1.amazonaws.com", region: "eu-west-1", service: "s3"}},
		{"http://127.0.0.1:7070/b/k" + q, &route{base: "http://127.0.0.1:7070/b/", pathAt: 21, host: "127.0.0.1:7070", region: "eu-west-1", service: "s3"}},
		{"http://127.0.0.1:80/b/k" + q, &route{base: "http://127.0.0.1:80/b/", pathAt: 19, host: "127.0.0.1", region: "eu-west-1", service: "s3"}},
		{"https://s3.example.net:443/base/b/k" + q, &route{base: "https://s3.example.net:443/base/b/", pathAt: 26, host: "s3.example.net", region: "eu-west-1", service: "s3"}},
		{"https://s3.example.net:80/b/k" + q, &route{base: "https://s3.example.net:80/b/", pathAt: 25, host: "s3.example.net:80", region: "eu-west-1", service: "s3"}},
		{"https://b.s3.amazonaws.com/other" + q, nil},                         // not the probe key
		{"ftp://b.s3.amazonaws.com/k" + q, nil},                               // scheme
		{"https://[::1]:9000/b/k" + q, nil},                                   // IPv6 host
		{"https://user@host/b/k" + q, nil},                                    // user info
		{"https://host/pre%20fix/b/k" + q, nil},                               // escaped path prefix
		{"https://host/b/k" + q + "&x-amz-sdk-checksum-algorithm=CRC32", nil}, // extra parameter
		{"https://host/b/k" + q[:len(q)-len("&X-Amz-Signature=00")], nil},     // missing parameter
		{"https://host/b/k" + replace(q, "SignedHeaders=host", "SignedHeaders=host%3Bx-amz-trailer"), nil},
		{"https://host/b/k" + replace(q, "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"), nil},
		{"https://host/b/k" + replace(q, "x-id=GetObject", "x-id=Other"), nil},
		{"https://host/b/k" + replace(q, "AKIDPROBE", "OTHER"), nil},
		{"https://host/b/k" + replace(q, "eu-west-1", "EU_WEST_1"), nil},
		{"https://host/b/k" + replace(q, "%2Fs3%2F", "%2Fs3%2Fx%2F"), nil},
	}
	for _, tt := range tests {
		got := parseRoute(tt.url)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("parseRoute(%s)\n = %+v\nwant %+v", tt.url, got, tt.want)
		}
	}
}

func replace(s, old, new string) string {
	for i := 0; i+len(old) <= len(s); i++ {
		if s[i:i+len(old)] == old {
			return s[:i] + new + s[i+len(old):]
		}
	}
	panic("no " + old + " in " + s)
}

func testSigner(t *testing.T) *Signer {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	s, err := New(context.Background(), Config{
		Default:     Target{Region: "us-east-1"},
		Credentials: StaticCredentials(testenv.AccessKeyID, testenv.SecretAccessKey),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFastPathLeavesToTheSDK checks the requests and buckets the fast path declines,
// without asking the SDK about them.
func TestFastPathLeavesToTheSDK(t *testing.T) {
	s := testSigner(t)
	base := signer.Request{Bucket: "examplebucket", Key: "k", Method: http.MethodGet, Expires: time.Hour, ContentLength: -1}
	for name, mutate := range map[string]func(*signer.Request){
		"directory bucket":        func(r *signer.Request) { r.Bucket = "data--usw2-az1--x-s3" },
		"ARN":                     func(r *signer.Request) { r.Bucket = "arn:aws:s3:us-east-1:123456789012:accesspoint/ap" },
		"empty key":               func(r *signer.Request) { r.Key = "" },
		"POST":                    func(r *signer.Request) { r.Method = http.MethodPost },
		"uppercase metadata name": func(r *signer.Request) { r.Method, r.Metadata = http.MethodPut, map[string]string{"Owner": "x"} },
		"metadata name with a space": func(r *signer.Request) {
			r.Method, r.Metadata = http.MethodPut, map[string]string{"my owner": "x"}
		},
	} {
		req := base
		mutate(&req)
		if _, ok := s.presignFast(context.Background(), req, time.Now()); ok {
			t.Errorf("%s: the fast path signed it, want it left to the SDK", name)
		}
	}
	if m := s.fast.routes.Load(); m != nil {
		for bucket, rt := range *m {
			if rt.ok {
				t.Errorf("route of %q is usable, want none", bucket)
			}
		}
	}
}

// TestRouteCacheIsBounded checks that past maxRoutes buckets, new ones go to the SDK
// and are not remembered.
func TestRouteCacheIsBounded(t *testing.T) {
	s := testSigner(t)
	full := make(map[string]*route, maxRoutes)
	for i := range maxRoutes {
		full[fmt.Sprintf("bucket-%d", i)] = &route{}
	}
	s.fast.routes.Store(&full)
	if rt := s.route(context.Background(), "one-more"); rt != nil {
		t.Fatalf("route = %+v past the bound, want nil", rt)
	}
	if got := len(*s.fast.routes.Load()); got != maxRoutes {
		t.Fatalf("%d routes cached, want %d", got, maxRoutes)
	}
	req := signer.Request{Bucket: "one-more", Key: "k", Method: http.MethodGet, Expires: time.Hour, ContentLength: -1}
	if _, err := s.Presign(context.Background(), req); err != nil {
		t.Fatalf("Presign past the bound: %v", err)
	}
}

// TestSigningKeyCache checks that keys are derived per secret, day and region, and
// that the cache stays bounded.
func TestSigningKeyCache(t *testing.T) {
	s := testSigner(t)
	day := time.Date(2026, 11, 22, 23, 59, 59, 0, time.UTC)
	k1 := s.signingKey("secret-1", day, "us-east-1", "s3")
	if k1.key != deriveSigningKey("secret-1", day, "us-east-1", "s3").key {
		t.Fatal("cached key differs from the derived one")
	}
	if s.signingKey("secret-1", day.Add(-time.Hour), "us-east-1", "s3") != k1 {
		t.Error("same day, same secret and region: want the cached key")
	}
	for name, k := range map[string]*signingKey{
		"next day":     s.signingKey("secret-1", day.Add(time.Second), "us-east-1", "s3"),
		"other secret": s.signingKey("secret-2", day, "us-east-1", "s3"),
		"other region": s.signingKey("secret-1", day, "eu-west-1", "s3"),
	} {
		if k.key == k1.key {
			t.Errorf("%s: got the same key", name)
		}
	}
	for i := range 3 * maxSigningKeys {
		s.signingKey(fmt.Sprint("secret-", i), day, "us-east-1", "s3")
		if n := len(*s.fast.keys.Load()); n > maxSigningKeys {
			t.Fatalf("%d keys cached, want at most %d", n, maxSigningKeys)
		}
	}
}

// TestSigningKeyMAC checks the HMAC of the signing, from the pads' saved states,
// against crypto/hmac: messages from empty to several blocks long, under two keys in
// turn, with one scratch, so that each signature starts from its own key's states.
func TestSigningKeyMAC(t *testing.T) {
	keys := [2]*signingKey{}
	for i := range keys {
		keys[i] = newSigningKey(sha256.Sum256([]byte(fmt.Sprint("key ", i))))
	}
	var h hmacScratch
	for n := range 300 {
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(n + i*7)
		}
		k := keys[n%2]
		mac := hmac.New(sha256.New, k.key[:])
		mac.Write(msg)
		want := mac.Sum(nil)
		if got := k.mac(&h, msg); !bytes.Equal(got[:], want) {
			t.Fatalf("message of %d bytes: HMAC = %x, want %x", n, got, want)
		}
	}
}

// BenchmarkSigningKeyMAC compares the HMAC of a string to sign from the pads' saved
// states with crypto/hmac's New, Write and Sum.
func BenchmarkSigningKeyMAC(b *testing.B) {
	key := newSigningKey(sha256.Sum256([]byte("key")))
	msg := bytes.Repeat([]byte("x"), 150) // about a GET's string to sign
	b.Run("states", func(b *testing.B) {
		var h hmacScratch
		for b.Loop() {
			key.mac(&h, msg)
		}
	})
	b.Run("crypto_hmac", func(b *testing.B) {
		var sum [sha256.Size]byte
		for b.Loop() {
			mac := hmac.New(sha256.New, key.key[:])
			mac.Write(msg)
			mac.Sum(sum[:0])
		}
	})
}

// TestFastUploadsLeaveToTheSDK checks the POST policies and part URLs the fast path
// declines.
func TestFastUploadsLeaveToTheSDK(t *testing.T) {
	s := testSigner(t)
	ctx := context.Background()
	post := signer.PostRequest{Bucket: "examplebucket", Key: "k", Expires: time.Hour, MaxContentLength: 1}
	parts := signer.PartRequest{Bucket: "examplebucket", Key: "k", UploadID: "u", PartNumbers: []int32{1}, Expires: time.Hour}
	if _, ok := s.presignPostFast(ctx, post, time.Now()); !ok {
		t.Fatal("the fast path did not sign a plain POST policy")
	}
	if _, ok := s.presignPartsFast(ctx, parts, time.Now()); !ok {
		t.Fatal("the fast path did not sign a plain part URL")
	}
	for name, bucket := range map[string]string{
		"directory bucket": "data--usw2-az1--x-s3",
		"ARN":              "arn:aws:s3:us-east-1:123456789012:accesspoint/ap",
	} {
		p, r := post, parts
		p.Bucket, r.Bucket = bucket, bucket
		if _, ok := s.presignPostFast(ctx, p, time.Now()); ok {
			t.Errorf("%s: the fast path signed a POST policy", name)
		}
		if _, ok := s.presignPartsFast(ctx, r, time.Now()); ok {
			t.Errorf("%s: the fast path signed a part URL", name)
		}
	}
	post.Key, parts.Key = "", ""
	if _, ok := s.presignPostFast(ctx, post, time.Now()); ok {
		t.Error("empty key: the fast path signed a POST policy")
	}
	if _, ok := s.presignPartsFast(ctx, parts, time.Now()); ok {
		t.Error("empty key: the fast path signed a part URL")
	}
	parts.Key, parts.UploadID = "k", ""
	if _, ok := s.presignPartsFast(ctx, parts, time.Now()); ok {
		t.Error("empty upload ID: the fast path signed a part URL")
	}
}

// TestTimeAppenders holds appendDate and appendAmzDate to what AppendFormat writes.
func TestTimeAppenders(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("ist", 5*3600+30*60), time.FixedZone("west", -(9*3600 + 59))}
	times := []time.Time{{}, time.Unix(0, 0), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC), time.Now()}
	r := rand.New(rand.NewPCG(3, 7))
	for range 20000 {
		times = append(times, time.Unix(r.Int64N(400000000000)-62135596800, r.Int64N(1e9)))
	}
	for _, tm := range times {
		for _, z := range zones {
			tm := tm.In(z)
			if got, want := appendDate([]byte("x"), tm), tm.UTC().AppendFormat([]byte("x"), "20060102"); !bytes.Equal(got, want) {
				t.Fatalf("appendDate(%v) = %q, want %q", tm, got, want)
			}
			if got, want := appendAmzDate([]byte("x"), tm), tm.UTC().AppendFormat([]byte("x"), "20060102T150405Z"); !bytes.Equal(got, want) {
				t.Fatalf("appendAmzDate(%v) = %q, want %q", tm, got, want)
			}
		}
	}
}
