package oauth2proxy_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/presignd/presignd/internal/testenv/oauth2proxy"
)

// TestProxy: a client that follows redirects and keeps cookies logs in at the IdP
// through the proxy, and the upstream sees the user's e-mail and groups in the
// X-Forwarded-* headers, set by the proxy over whatever the client sent.
func TestProxy(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"path":   r.URL.EscapedPath(),
			"email":  r.Header.Values("X-Forwarded-Email"),
			"user":   r.Header.Values("X-Forwarded-User"),
			"groups": r.Header.Values("X-Forwarded-Groups"),
			"xauth":  r.Header.Values("X-Auth-Request-Email"),
		})
	}))
	t.Cleanup(upstream.Close)
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Shutdown() })
	idp.QueueUser(&mockoidc.MockUser{Subject: "u-1", Email: "alice@example.com", EmailVerified: true, Groups: []string{"dev", "ops"}})
	p := oauth2proxy.Start(t, oauth2proxy.Options{Upstream: upstream.URL, Issuer: idp.Issuer(), ClientID: idp.ClientID, ClientSecret: idp.ClientSecret})

	got := login(t, p.URL+"/some/path%20here")
	if got.Path != "/some/path%20here" {
		t.Errorf("upstream path: got %q, want /some/path%%20here", got.Path)
	}
	if strings.Join(got.Email, "|") != "alice@example.com" {
		t.Errorf("X-Forwarded-Email: got %q, want [alice@example.com]", got.Email)
	}
	if strings.Join(got.Groups, "|") != "dev,ops" {
		t.Errorf("X-Forwarded-Groups: got %q, want one comma-separated value [dev,ops]", got.Groups)
	}
	if strings.Join(got.User, "|") != "u-1" {
		t.Errorf("X-Forwarded-User: got %q, want the subject [u-1]", got.User)
	}
	if len(got.XAuth) != 0 {
		t.Errorf("X-Auth-Request-Email reached the upstream: %q", got.XAuth)
	}

	// A user in no group: the groups the browser claims are dropped, not passed on.
	idp.QueueUser(&mockoidc.MockUser{Subject: "u-2", Email: "bob@example.com", EmailVerified: true})
	got = login(t, p.URL+"/")
	if strings.Join(got.Email, "|") != "bob@example.com" || len(got.Groups) != 0 {
		t.Errorf("bob, in no group: upstream got e-mail %q and groups %q, want [bob@example.com] and none", got.Email, got.Groups)
	}
}

// upstreamSaw is what the test's upstream answers: the identity headers it got.
type upstreamSaw struct {
	Path   string   `json:"path"`
	Email  []string `json:"email"`
	User   []string `json:"user"`
	Groups []string `json:"groups"`
	XAuth  []string `json:"xauth"`
}

// login opens rawURL as a browser with no session would, following the redirects to
// the IdP and back, while claiming to be mallory in group admins, and returns what
// the upstream saw.
func login(t *testing.T, rawURL string) upstreamSaw {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A browser's own identity headers never reach the upstream.
	req.Header.Set("Accept", "text/html")
	req.Header.Set("X-Forwarded-Email", "mallory@example.com")
	req.Header.Set("X-Forwarded-Groups", "admins")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after logging in: got %d %s, want 200 from the upstream", resp.StatusCode, body)
	}
	var got upstreamSaw
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("the upstream's answer %s: %v", body, err)
	}
	return got
}
