package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/presignd/presignd/internal/policy"
	"github.com/presignd/presignd/internal/testenv"
)

// lastLine keeps only the last line written, so a long fuzz run does not grow a log.
type lastLine struct {
	mu   sync.Mutex
	line []byte
}

func (l *lastLine) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.line = append(l.line[:0], p...)
	return len(p), nil
}

func (l *lastLine) take() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.line
	l.line = nil
	return b
}

// grantedPrefixes is what the "reports" client of testdata/config.yaml may have, by
// bucket and method.
var grantedPrefixes = map[string]map[string][]string{
	"media": {
		"GET": {"reports/", "shared/reports/"}, "HEAD": {"reports/", "shared/reports/"}, "DELETE": {"reports/", "shared/reports/"},
		"PUT": {"uploads/", "drop/"},
	},
	"archive": {"GET": {""}},
}

// FuzzPresignHandler sends arbitrary bodies through the real handler and real signer
// with a valid token. Whatever the body, the answer is never 5xx, is JSON that matches
// openapi.yaml, and an issued URL is for exactly the key that was sent, which is a valid
// key under a prefix the client is granted for that method.
func FuzzPresignHandler(f *testing.F) {
	for _, seed := range []string{
		`{"bucket":"media","key":"reports/a"}`,
		`{"bucket":"media","key":"reports/2026/q3 summary (final)+1=2&x;y,z.pdf","expires_in":100000}`,
		`{"bucket":"media","key":"uploads/a.png","method":"PUT","content_type":"image/png","content_length":10,"checksum_sha256":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=","metadata":{"Owner":"x"}}`,
		`{"bucket":"media","key":"drop/x","method":"put","expires_in":1}`,
		`{"bucket":"media","key":"reports/a","method":"HEAD","download_filename":"résumé.pdf"}`,
		`{"bucket":"media","key":"reports/a","method":"DELETE","version_id":"v1"}`,
		`{"bucket":"archive","key":"x","expires_in":604800,"strict_ttl":true}`,
		`{"bucket":"media","key":"shared/reports/\ud83d\ude00"}`,
		`{"bucket":"media","key":"reports/../uploads/a"}`,
		`{"bucket":"media","key":"reports/./a"}`,
		`{"bucket":"media","key":"reports//a"}`,
		`{"bucket":"media","key":"/reports/a"}`,
		`{"bucket":"media","key":"reports-evil/a"}`,
		`{"bucket":"media","key":"reports/\ud800"}`,
		`{"bucket":"media","key":"reports/\udc00\ud800"}`,
		`{"bucket":"media","key":"reports/\\ud800"}`,
		"{\"bucket\":\"media\",\"key\":\"reports/\xff\"}",
		"{\"bucket\":\"media\",\"key\":\"reports/\xed\xa0\x80\"}",
		"{\"bucket\":\"media\",\"key\":\"reports/\u0085\"}",
		`{"bucket":"media","key":"reports/a\u0000"}`,
		`{"bucket":"media","key":"reports/a","key":"uploads/b"}`,
		`{"bucket":"media","KEY":"reports/a","Bucket":"media"}`,
		`{"bucket":"media","key":"reports/a","method":"post"}`,
		`{"bucket":"media","key":"reports/a","expires_in":0}`,
		`{"bucket":"media","key":"reports/a","expires_in":-9223372036854775808}`,
		`{"bucket":"media","key":"reports/a","expires_in":9223372036854775807}`,
		`{"bucket":"media","key":"reports/a","expires_in":1e400}`,
		`{"bucket":"media","key":"reports/a","metadata":{}}`,
		`{"bucket":"192.168.0.1","key":"a"}`,
		`{"bucket":"media","key":"` + strings.Repeat("é", 600) + `"}`,
		`{"bucket":"media","key":"reports/a"}{"bucket":"media","key":"reports/a"}`,
		`{"bucket":"media","key":"reports/a",}`,
		`{"bucket":"media","key":"reports/a","acl":"public-read"}`,
		`[]`, `null`, `""`, `{}`, ``, `{`, `{"bucket":null,"key":null}`,
	} {
		f.Add([]byte(seed))
	}

	logs := &lastLine{}
	srv := newServer(f, fixtureOptions{}, logs)
	h := srv.Handler(false)
	spec := specFor(f)

	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/presign", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+reportsToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		out := rec.Body.Bytes()

		if res.StatusCode >= 500 {
			t.Fatalf("got %d for %q: %s", res.StatusCode, body, out)
		}
		spec.check(t, req, res, out)
		if t.Failed() {
			t.FailNow()
		}
		audit := logs.take()

		if res.StatusCode != http.StatusOK {
			var p struct {
				Status int    `json:"status"`
				Code   string `json:"code"`
			}
			if err := json.Unmarshal(out, &p); err != nil || p.Status != res.StatusCode || p.Code == "" {
				t.Fatalf("%d answer is not a problem of that status: %s", res.StatusCode, out)
			}
			return
		}

		// An issued URL: the body was exact text, and the key in it is the one signed.
		if !utf8.Valid(body) {
			t.Fatalf("issued a URL for a body that is not UTF-8: %q", body)
		}
		var sent struct {
			Bucket    string `json:"bucket"`
			Key       string `json:"key"`
			Method    string `json:"method"`
			ExpiresIn *int64 `json:"expires_in"`
		}
		if err := json.Unmarshal(body, &sent); err != nil {
			t.Fatalf("issued a URL for a body encoding/json refuses (%v): %q", err, body)
		}
		var got presigned
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if err := policy.ValidateKey(sent.Key); err != nil {
			t.Fatalf("issued a URL for key %q: %v", sent.Key, err)
		}
		if !underGrantedPrefix(sent.Bucket, got.Method, sent.Key) {
			t.Fatalf("issued %s %s/%q, which no grant covers", got.Method, sent.Bucket, sent.Key)
		}
		wantMethod := strings.ToUpper(sent.Method)
		if wantMethod == "" {
			wantMethod = "GET"
		}
		if got.Method != wantMethod {
			t.Fatalf("method: sent %q, issued %q", sent.Method, got.Method)
		}
		u, err := url.Parse(got.URL)
		if err != nil {
			t.Fatalf("url %q: %v", got.URL, err)
		}
		if want := "/" + sent.Bucket + "/" + sent.Key; u.Path != want {
			t.Fatalf("url path: got %q, want %q byte for byte", u.Path, want)
		}
		if u.Host != "127.0.0.1:7070" {
			t.Fatalf("url host: got %q", u.Host)
		}
		requested := int64(3600)
		if sent.ExpiresIn != nil {
			requested = *sent.ExpiresIn
		}
		if got.ExpiresIn < 1 || got.ExpiresIn > requested || got.ExpiresIn > 604800 {
			t.Fatalf("expires_in %d for a request of %d", got.ExpiresIn, requested)
		}
		if want := testNow.Add(time.Duration(got.ExpiresIn) * time.Second); !got.ExpiresAt.Equal(want) {
			t.Fatalf("expires_at: got %s, want %s", got.ExpiresAt, want)
		}
		var line auditLine
		if err := json.Unmarshal(audit, &line); err != nil || line.str("msg") != "presign" {
			t.Fatalf("no audit line for an issued URL: %s", audit)
		}
		if line.str("key") != sent.Key || line.str("outcome") != "issued" {
			t.Fatalf("audit: key %q outcome %q, want %q issued", line.str("key"), line.str("outcome"), sent.Key)
		}
		if bytes.Contains(audit, []byte(u.Query().Get("X-Amz-Signature"))) || bytes.Contains(audit, []byte(testenv.AccessKeyID)) {
			t.Fatalf("the audit line holds the signature or the credential: %s", audit)
		}
	})
}

func underGrantedPrefix(bucket, method, key string) bool {
	for _, p := range grantedPrefixes[bucket][method] {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}
