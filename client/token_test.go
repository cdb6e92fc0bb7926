package client_test

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presignd/presignd/client"
)

func writeToken(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func wantToken(t *testing.T, src client.TokenSource, want string) {
	t.Helper()
	got, err := src.Token(context.Background())
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if got != want {
		t.Fatalf("Token: got %q, want %q", got, want)
	}
}

func TestTokenFileRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	writeToken(t, path, "first-token\n")
	src := client.TokenFile(path)
	wantToken(t, src, "first-token")
	wantToken(t, src, "first-token")

	// Rewritten in place with another size.
	writeToken(t, path, "second-token-longer")
	wantToken(t, src, "second-token-longer")

	// Rewritten in place with the same size: the modification time tells.
	writeToken(t, path, "third--token-longer")
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	wantToken(t, src, "third--token-longer")

	// Replaced the way the kubelet does it: a new file renamed over the old one, with the
	// same size and modification time.
	tmp := filepath.Join(dir, "token.new")
	writeToken(t, tmp, "fourth-token-longer")
	if err := os.Chtimes(tmp, later, later); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	wantToken(t, src, "fourth-token-longer")
}

// TestTokenFileSymlinkSwap follows a Kubernetes projected volume: the token path is a
// symlink through ..data, which the kubelet points at a new directory.
func TestTokenFileSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []string{"v1", "v2"} {
		if err := os.Mkdir(filepath.Join(dir, v), 0o700); err != nil {
			t.Fatal(err)
		}
		writeToken(t, filepath.Join(dir, v, "token"), "token-"+v)
	}
	if err := os.Symlink("v1", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/token", filepath.Join(dir, "token")); err != nil {
		t.Fatal(err)
	}
	src := client.TokenFile(filepath.Join(dir, "token"))
	wantToken(t, src, "token-v1")

	if err := os.Symlink("v2", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	wantToken(t, src, "token-v2")
}

func TestTokenFileErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	writeToken(t, path, "secret-token")
	src := client.TokenFile(path)
	wantToken(t, src, "secret-token")

	// Gone: an error naming the file, never the token it held.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	_, err := src.Token(context.Background())
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "secret-token") {
		t.Errorf("missing file: got %v, want a not-exist error naming %s and not the token", err, path)
	}
	if strings.Count(err.Error(), path) != 1 {
		t.Errorf("missing file: %q names the file more than once", err)
	}

	writeToken(t, path, " \n")
	if _, err := src.Token(context.Background()); err == nil || !strings.Contains(err.Error(), path+" is empty") {
		t.Errorf("empty file: got %v, want an error saying %s is empty", err, path)
	}

	writeToken(t, path, strings.Repeat("x", 1<<20))
	if _, err := src.Token(context.Background()); err == nil || strings.Contains(err.Error(), "xxx") {
		t.Errorf("huge file: got %v, want an error without the content", err)
	}
}

func TestTokenFileConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	writeToken(t, path, "token-0")
	src := client.TokenFile(path)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				tok, err := src.Token(context.Background())
				if err != nil || !strings.HasPrefix(tok, "token-") {
					t.Errorf("Token: got %q, %v", tok, err)
					return
				}
			}
		})
	}
	for i := range 50 {
		tmp := path + ".new"
		writeToken(t, tmp, "token-"+strings.Repeat("1", i%5+1))
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}

// TestClientFollowsTokenFile: each request carries the token in the file at that moment.
func TestClientFollowsTokenFile(t *testing.T) {
	var (
		mu    sync.Mutex
		auths []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Write([]byte(okBody))
	}))
	defer srv.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	writeToken(t, path, "jwt-one")
	c := client.New(srv.URL, client.TokenFile(path))
	for _, tok := range []string{"jwt-one", "jwt-two", "jwt-three"} {
		tmp := filepath.Join(dir, "tmp")
		writeToken(t, tmp, tok+"\n")
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Presign(context.Background(), client.Request{Bucket: "b", Key: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"Bearer jwt-one", "Bearer jwt-two", "Bearer jwt-three"}
	if strings.Join(auths, ",") != strings.Join(want, ",") {
		t.Errorf("Authorization headers: got %q, want %q", auths, want)
	}
}

// failingSource is a caller's own token source.
type failingSource struct{ calls int }

func (f *failingSource) Token(context.Context) (string, error) {
	f.calls++
	return "", errors.New("vault is sealed")
}

func TestTokenSourceErrors(t *testing.T) {
	srv, got := recorder(t, http.StatusOK, nil, okBody)
	src := &failingSource{}
	_, err := client.New(srv.URL, src).Presign(context.Background(), client.Request{Bucket: "b", Key: "k"})
	if err == nil || !strings.Contains(err.Error(), "vault is sealed") {
		t.Errorf("got %v, want the source's error", err)
	}
	if src.calls != 1 || len(got()) != 0 {
		t.Errorf("got %d token calls and %d requests, want 1 and none", src.calls, len(got()))
	}

	for _, bad := range []string{"", "two words", "line\nbreak"} {
		_, err := client.New(srv.URL, client.StaticToken(bad)).Presign(context.Background(), client.Request{Bucket: "b", Key: "k"})
		if err == nil || (bad != "" && strings.Contains(err.Error(), bad)) {
			t.Errorf("token %q: got %v, want an error that does not hold the token", bad, err)
		}
	}
	if n := len(got()); n != 0 {
		t.Errorf("got %d requests with unusable tokens, want none", n)
	}
}
