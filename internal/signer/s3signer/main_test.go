package s3signer_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/signer"
	"github.com/presignd/presignd/internal/signer/s3signer"
	"github.com/presignd/presignd/internal/testenv"
)

// signingTime is the pinned clock of the known-answer tests.
var signingTime = time.Date(2026, 11, 22, 19, 0, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	// Keep the developer's AWS environment out of the tests: no endpoint, region,
	// profile or FIPS/dual-stack setting may change what is signed, and nothing may
	// reach the instance metadata service.
	testenv.ScrubAWS()
	os.Exit(m.Run())
}

func exampleCredentials() signer.Credentials {
	return signer.Credentials{AccessKeyID: testenv.AccessKeyID, SecretAccessKey: testenv.SecretAccessKey}
}

// newSigner builds a Signer with a pinned clock and the example key pair as its provider.
func newSigner(t testing.TB, cfg s3signer.Config) *s3signer.Signer {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return signingTime }
	}
	if cfg.Credentials == nil {
		cfg.Credentials = s3signer.StaticCredentials(testenv.AccessKeyID, testenv.SecretAccessKey)
	}
	s, err := s3signer.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("s3signer.New: %v", err)
	}
	return s
}

// signingPaths are the two ways Presign signs: the fast path and s3.PresignClient. The
// golden tests run on both, so that a change in either fails them.
var signingPaths = []struct {
	name    string
	sdkOnly bool
}{{"fast", false}, {"sdk", true}}

// newSignerOn builds a signer as newSigner does, signing with the SDK alone when sdkOnly.
func newSignerOn(t testing.TB, cfg s3signer.Config, sdkOnly bool) *s3signer.Signer {
	t.Helper()
	s := newSigner(t, cfg)
	if sdkOnly {
		s3signer.ForceSDK(s)
	}
	return s
}

// presign signs req with s; unless sdkOnly, it also checks that the fast path covered it.
func presign(t testing.TB, s *s3signer.Signer, sdkOnly bool, req signer.Request) (signer.Presigned, error) {
	t.Helper()
	p, err := s.Presign(context.Background(), req)
	if err == nil && !sdkOnly {
		if fast, covered := s3signer.PresignFast(context.Background(), s, req); !covered || fast.URL != p.URL {
			t.Fatalf("the fast path did not sign %s s3://%s/%s (covered: %t)", req.Method, req.Bucket, req.Key, covered)
		}
	}
	return p, err
}

// query returns the decoded query parameters of a URL, each name once.
func query(t testing.TB, rawURL string) map[string]string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parsing the URL: %v", err)
	}
	out := map[string]string{}
	for k, v := range u.Query() {
		if len(v) != 1 {
			t.Fatalf("query parameter %s appears %d times", k, len(v))
		}
		out[k] = v[0]
	}
	return out
}

// verifySignature checks a pre-signed URL the way S3 does (SigV4 query-string
// authentication): it rebuilds the canonical request from the URL as a client sends
// it and the headers the client was told to send, and recomputes the signature with
// the secret key. It is written from the specification, independently of the SDK.
func verifySignature(t testing.TB, method, rawURL string, headers map[string]string, secret string) {
	t.Helper()
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		t.Fatalf("URL has no scheme")
	}
	hostPath, rawQuery, _ := strings.Cut(rest, "?")
	slash := strings.IndexByte(hostPath, '/')
	if slash < 0 {
		hostPath += "/"
		slash = len(hostPath) - 1
	}
	host, rawPath := hostPath[:slash], hostPath[slash:]
	if scheme == "https" {
		host = strings.TrimSuffix(host, ":443")
	} else {
		host = strings.TrimSuffix(host, ":80")
	}

	// The server decodes the path and encodes it again per the specification.
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		t.Fatalf("path %q does not decode: %v", rawPath, err)
	}
	canonicalURI := uriEncode(path, false)

	type pair struct{ k, v string }
	var pairs []pair
	var signature string
	params := map[string]string{}
	for _, kv := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(kv, "=")
		dk, err1 := url.PathUnescape(k)
		dv, err2 := url.PathUnescape(v)
		if err1 != nil || err2 != nil {
			t.Fatalf("query parameter %q does not decode", kv)
		}
		if dk == "X-Amz-Signature" {
			signature = dv
			continue
		}
		params[dk] = dv
		pairs = append(pairs, pair{uriEncode(dk, true), uriEncode(dv, true)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var canonicalQuery []string
	for _, p := range pairs {
		canonicalQuery = append(canonicalQuery, p.k+"="+p.v)
	}

	lower := map[string]string{"host": host}
	for k, v := range headers {
		lower[strings.ToLower(k)] = v
	}
	var names []string
	for k := range lower {
		names = append(names, k)
	}
	sort.Strings(names)
	if got, want := params["X-Amz-SignedHeaders"], strings.Join(names, ";"); got != want {
		t.Fatalf("X-Amz-SignedHeaders = %q, but the headers to send are %q", got, want)
	}
	var canonicalHeaders strings.Builder
	for _, n := range names {
		canonicalHeaders.WriteString(n + ":" + strings.Join(strings.Fields(lower[n]), " ") + "\n")
	}

	canonicalRequest := strings.Join([]string{
		method, canonicalURI, strings.Join(canonicalQuery, "&"),
		canonicalHeaders.String(), params["X-Amz-SignedHeaders"], "UNSIGNED-PAYLOAD",
	}, "\n")
	cred := strings.SplitN(params["X-Amz-Credential"], "/", 2)
	if len(cred) != 2 || params["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256" {
		t.Fatalf("not a SigV4 URL: algorithm %q, credential %q", params["X-Amz-Algorithm"], params["X-Amz-Credential"])
	}
	scope := strings.Split(cred[1], "/")
	if len(scope) != 4 || scope[3] != "aws4_request" {
		t.Fatalf("credential scope %q is malformed", cred[1])
	}
	sum := sha256.Sum256([]byte(canonicalRequest))
	stringToSign := "AWS4-HMAC-SHA256\n" + params["X-Amz-Date"] + "\n" + cred[1] + "\n" + hex.EncodeToString(sum[:])
	key := []byte("AWS4" + secret)
	for _, part := range scope {
		key = hmacSHA256(key, part)
	}
	if want := hex.EncodeToString(hmacSHA256(key, stringToSign)); signature != want {
		t.Fatalf("X-Amz-Signature = %s, want %s; canonical request:\n%s", signature, want, canonicalRequest)
	}
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// uriEncode is the specification's UriEncode: every byte but A-Z a-z 0-9 - _ . ~
// is percent-encoded, and '/' too when encodeSlash.
func uriEncode(s string, encodeSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}

// TestVerifierKnownAnswer checks verifySignature itself against the pre-signed URL
// example of the Amazon S3 documentation ("Authenticating Requests: Using Query
// Parameters"), so that the verifier can be trusted to judge the signer.
func TestVerifierKnownAnswer(t *testing.T) {
	const docURL = "https://examplebucket.s3.amazonaws.com/test.txt" +
		"?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
		"&X-Amz-Credential=" + testenv.AccessKeyID + "%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
		"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
	verifySignature(t, "GET", docURL, nil, testenv.SecretAccessKey)

	// And it must reject a URL whose signature does not hold.
	ft := &fakeT{TB: t}
	func() {
		defer func() { _ = recover() }()
		verifySignature(ft, "GET", strings.Replace(docURL, "86400", "86401", 1), nil, testenv.SecretAccessKey)
	}()
	if !ft.failed {
		t.Fatal("verifySignature accepted a URL whose X-Amz-Expires was changed after signing")
	}
}

// fakeT records a fatal failure instead of ending the test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(string, ...any) {
	f.failed = true
	panic("fatal")
}
