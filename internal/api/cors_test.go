package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/api"
	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/signer/s3signer"
	"github.com/presignd/presignd/internal/testenv"
)

func newCORSServer(t *testing.T) http.Handler {
	t.Helper()
	cfg, err := config.Parse([]byte(`listen: 127.0.0.1:0
s3: {region: us-east-1}
cors: {allowed_origins: ["https://app.example.com"]}
clients:
  - name: web
    token_sha256: "` + config.HashToken("web-token-0123456789") + `"
    grants: [{bucket: media, prefixes: [""], methods: [PUT], max_ttl: 1h}]
`))
	if err != nil {
		t.Fatal(err)
	}
	sg, err := s3signer.New(t.Context(), s3signer.Config{
		Default:     s3signer.Target{Region: "us-east-1"},
		Credentials: s3signer.StaticCredentials(testenv.AccessKeyID, testenv.SecretAccessKey),
		Now:         func() time.Time { return time.Date(2026, 11, 22, 20, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Options{Runtime: runtimeOf(t, cfg, sg)})
	if err != nil {
		t.Fatal(err)
	}
	return srv.Handler(true)
}

func TestCORS(t *testing.T) {
	h := newCORSServer(t)
	for _, tc := range []struct {
		name, method, origin string
		preflight            bool
		wantStatus           int
		wantAllow            string
		wantExpose           bool
	}{
		{"preflight from an allowed origin", http.MethodOptions, "https://app.example.com", true, http.StatusNoContent, "https://app.example.com", false},
		{"preflight from another origin", http.MethodOptions, "https://evil.example.com", true, http.StatusNoContent, "", false},
		{"request from an allowed origin", http.MethodPost, "https://app.example.com", false, http.StatusOK, "https://app.example.com", true},
		{"request from another origin", http.MethodPost, "https://evil.example.com", false, http.StatusOK, "", false},
		{"request without an origin", http.MethodPost, "", false, http.StatusOK, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.NewReader(`{"bucket":"media","key":"a.png","method":"PUT"}`)
			r := httptest.NewRequest(tc.method, "/v1/presign", body)
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			if tc.preflight {
				r.Header.Set("Access-Control-Request-Method", "POST")
				r.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
			} else {
				r.Header.Set("Authorization", "Bearer web-token-0123456789")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.wantStatus {
				t.Fatalf("status: got %d, want %d (%s)", w.Code, tc.wantStatus, w.Body)
			}
			got := w.Header()
			if a := got.Get("Access-Control-Allow-Origin"); a != tc.wantAllow {
				t.Errorf("Access-Control-Allow-Origin: got %q, want %q", a, tc.wantAllow)
			}
			if tc.wantAllow == "" {
				for k := range got {
					if strings.HasPrefix(k, "Access-Control-") {
						t.Errorf("another origin got CORS header %s", k)
					}
				}
			}
			if tc.preflight && tc.wantAllow != "" {
				allowHeaders := strings.ToLower(got.Get("Access-Control-Allow-Headers"))
				for _, want := range []string{"authorization", "content-type", "traceparent", "tracestate"} {
					if !strings.Contains(allowHeaders, want) {
						t.Errorf("Access-Control-Allow-Headers %q lacks %s", allowHeaders, want)
					}
				}
				if m := got.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "POST") {
					t.Errorf("Access-Control-Allow-Methods %q lacks POST", m)
				}
			}
			if expose := got.Get("Access-Control-Expose-Headers"); tc.wantExpose != strings.Contains(expose, "X-Request-Id") {
				t.Errorf("Access-Control-Expose-Headers = %q, want X-Request-Id exposed: %v", expose, tc.wantExpose)
			}
		})
	}
}

// TestCORSUppy: signRequest mode's cross-origin call is a POST with Authorization and
// Content-Type, which the configured origins may make; Companion's routes, which the
// plugin calls without credentials of the app's, are served same-origin only, so no
// other method is allowed across origins.
func TestCORSUppy(t *testing.T) {
	h := newCORSServer(t)
	preflight := func(origin, method, path string) http.Header {
		r := httptest.NewRequest(http.MethodOptions, path, nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", method)
		r.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusNoContent {
			t.Fatalf("preflight %s %s: got %d, want 204", method, path, w.Code)
		}
		return w.Header()
	}
	got := preflight("https://app.example.com", "POST", "/v1/uppy/sign")
	if got.Get("Access-Control-Allow-Origin") != "https://app.example.com" || got.Get("Access-Control-Allow-Methods") != "POST" ||
		!strings.Contains(strings.ToLower(got.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Errorf("preflight of /v1/uppy/sign from the configured origin: got %v", got)
	}
	if got := preflight("https://evil.example.com", "POST", "/v1/uppy/sign"); got.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("another origin got Access-Control-Allow-Origin %q", got.Get("Access-Control-Allow-Origin"))
	}
	if m := preflight("https://app.example.com", "DELETE", "/v1/uppy/s3/multipart/x").Get("Access-Control-Allow-Methods"); strings.Contains(m, "DELETE") {
		t.Errorf("Access-Control-Allow-Methods %q allows DELETE across origins", m)
	}
}
