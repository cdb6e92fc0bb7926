package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeAPI is a presignd that issues a URL to the token "good-token" and refuses any other;
// it records the Authorization headers it got.
type fakeAPI struct {
	*httptest.Server
	mu    sync.Mutex
	auths []string
	body  map[string]any
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &body)
		f.mu.Lock()
		f.auths = append(f.auths, r.Header.Get("Authorization"))
		f.body = body
		f.mu.Unlock()
		if r.URL.Path != "/v1/presign" || r.Header.Get("Authorization") != "Bearer good-token" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"type":"urn:presignd:problem:unauthenticated","title":"Unauthenticated","status":401,"detail":"missing, malformed or unknown bearer token","code":"unauthenticated"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"url":"https://b.s3.amazonaws.com/k?X-Amz-Signature=x","method":"GET","expires_at":"2026-11-22T21:00:00Z","expires_in":300,"headers":{}}`)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.auths...)
}

func TestPresignToken(t *testing.T) {
	dir := t.TempDir()
	goodFile := filepath.Join(dir, "good")
	writeFile(t, goodFile, "good-token\n")
	emptyFile := filepath.Join(dir, "empty")
	writeFile(t, emptyFile, "\n")
	badFile := filepath.Join(dir, "bad")
	writeFile(t, badFile, "secret-but-wrong\n")
	missingFile := filepath.Join(dir, "missing")

	for _, tc := range []struct {
		name     string
		env      map[string]string
		wantAuth string   // the Authorization header sent; "" when nothing may be sent
		wantErr  []string // in stderr, when the command must fail
	}{
		{name: "token", env: map[string]string{"PRESIGND_TOKEN": "good-token"}, wantAuth: "Bearer good-token"},
		{name: "token file", env: map[string]string{"PRESIGND_TOKEN_FILE": goodFile}, wantAuth: "Bearer good-token"},
		{name: "both", env: map[string]string{"PRESIGND_TOKEN": "good-token", "PRESIGND_TOKEN_FILE": goodFile},
			wantErr: []string{"PRESIGND_TOKEN and PRESIGND_TOKEN_FILE", "pick one"}},
		{name: "neither", env: map[string]string{}, wantErr: []string{"PRESIGND_TOKEN", "PRESIGND_TOKEN_FILE"}},
		{name: "missing file", env: map[string]string{"PRESIGND_TOKEN_FILE": missingFile},
			wantErr: []string{"PRESIGND_TOKEN_FILE", missingFile, "no such file"}},
		{name: "empty file", env: map[string]string{"PRESIGND_TOKEN_FILE": emptyFile}, wantErr: []string{emptyFile, "is empty"}},
		{name: "directory", env: map[string]string{"PRESIGND_TOKEN_FILE": dir}, wantErr: []string{dir}},
		{name: "unknown token from a file", env: map[string]string{"PRESIGND_TOKEN_FILE": badFile},
			wantAuth: "Bearer secret-but-wrong", wantErr: []string{"unauthenticated"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(t)
			code, out, errOut := runCommand(t, tc.env, "", "presign", "s3://b/k", "--expires-in", "300", "--server", api.URL)
			got := api.requests()
			switch {
			case tc.wantAuth == "" && len(got) != 0:
				t.Errorf("sent %d requests, want none", len(got))
			case tc.wantAuth != "" && (len(got) != 1 || got[0] != tc.wantAuth):
				t.Errorf("Authorization headers: got %q, want one %q", got, tc.wantAuth)
			}
			if len(tc.wantErr) == 0 {
				if code != 0 || errOut != "" || out != "https://b.s3.amazonaws.com/k?X-Amz-Signature=x\n" {
					t.Fatalf("got %d, stdout %q, stderr %q, want 0 and only the URL", code, out, errOut)
				}
				return
			}
			if code != 1 || out != "" {
				t.Errorf("got %d, stdout %q, want 1 and nothing on stdout", code, out)
			}
			checkSentence(t, errOut)
			for _, want := range tc.wantErr {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr %q does not mention %q", errOut, want)
				}
			}
			for _, secret := range []string{"good-token", "secret-but-wrong"} {
				if strings.Contains(errOut, secret) {
					t.Errorf("stderr %q holds a token", errOut)
				}
			}
		})
	}
}

func TestPresignRequest(t *testing.T) {
	api := newFakeAPI(t)
	env := map[string]string{"PRESIGND_TOKEN": "good-token", "PRESIGND_SERVER": api.URL}
	code, _, errOut := runCommand(t, env, "", "presign", "--http-method", "delete", "--version-id", "v1", "s3://b/dir/some file.txt", "--expires-in", "60")
	if code != 0 {
		t.Fatalf("got %d, stderr %q", code, errOut)
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	want := map[string]any{"bucket": "b", "key": "dir/some file.txt", "method": "DELETE", "expires_in": float64(60), "version_id": "v1"}
	if len(api.body) != len(want) {
		t.Errorf("request body: got %v, want %v", api.body, want)
	}
	for k, v := range want {
		if api.body[k] != v {
			t.Errorf("request body %s: got %v, want %v", k, api.body[k], v)
		}
	}
}

// TestPresignTokenFileUnreadable: a token file that cannot be read (here a directory,
// which no one can read as a file, root included) is named, and the command fails
// before asking presignd.
func TestPresignTokenFileUnreadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	api := newFakeAPI(t)
	code, _, errOut := runCommand(t, map[string]string{"PRESIGND_TOKEN_FILE": path}, "", "presign", "s3://b/k", "--server", api.URL)
	if code != 1 || !strings.Contains(errOut, path) || !strings.Contains(errOut, "PRESIGND_TOKEN_FILE") {
		t.Errorf("got %d %q, want 1 naming PRESIGND_TOKEN_FILE and %s", code, errOut, path)
	}
	if n := len(api.requests()); n != 0 {
		t.Errorf("sent %d requests, want none", n)
	}
}
