package oauth2proxy_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"
	"go.yaml.in/yaml/v3"

	"github.com/presignd/presignd/internal/testenv/gotool"
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

	// A link as Grafana's percentencode format builds it: every byte of the key but
	// the unreserved ones escaped, slashes included. The upstream gets it unchanged,
	// through the login and back.
	const path = "/v1/objects/bucket/reports%2F2026%2FQ4%20summary%20%232%3F.txt"
	got := login(t, p.URL+path)
	if got.Path != path {
		t.Errorf("upstream path: got %q, want %q", got.Path, path)
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

// TestDocumentedConfig: the oauth2-proxy.cfg of docs/oauth2-proxy.md is one the pinned
// oauth2-proxy accepts (it refuses unknown keys), and it forwards the identity as the
// doc says: X-Forwarded-Email and X-Forwarded-Groups, never kept from the browser.
func TestDocumentedConfig(t *testing.T) {
	root, err := gotool.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "oauth2-proxy.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "<!-- oauth2-proxy.cfg:")
	if ok {
		_, rest, ok = strings.Cut(rest, "```toml\n")
	}
	cfg, _, closed := strings.Cut(rest, "\n```")
	if !ok || !closed {
		t.Fatal("docs/oauth2-proxy.md has no ```toml block after its <!-- oauth2-proxy.cfg: --> marker")
	}
	path := filepath.Join(t.TempDir(), "oauth2-proxy.cfg")
	if err := os.WriteFile(path, []byte(cfg+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The alpha configuration is what the legacy file becomes inside oauth2-proxy,
	// printed without starting anything.
	out, err := exec.Command(oauth2proxy.Binary(t), "--config", path, "--convert-config-to-alpha").CombinedOutput()
	if err != nil {
		t.Fatalf("oauth2-proxy --config (the documented file) --convert-config-to-alpha: %v\n%s", err, out)
	}
	var alpha struct {
		InjectRequestHeaders []struct {
			Name                 string `yaml:"name"`
			PreserveRequestValue bool   `yaml:"preserveRequestValue"`
		} `yaml:"injectRequestHeaders"`
		InjectResponseHeaders []struct {
			Name string `yaml:"name"`
		} `yaml:"injectResponseHeaders"`
	}
	if err := yaml.Unmarshal(out, &alpha); err != nil {
		t.Fatalf("decoding the alpha configuration: %v\n%s", err, out)
	}
	upstream := map[string]bool{}
	for _, h := range alpha.InjectRequestHeaders {
		upstream[h.Name] = true
		if h.PreserveRequestValue {
			t.Errorf("%s: the browser's own value is kept (preserveRequestValue); want it deleted", h.Name)
		}
	}
	for _, name := range []string{"X-Forwarded-Email", "X-Forwarded-Groups"} {
		if !upstream[name] {
			t.Errorf("%s is not set on requests to presignd; set: %v", name, upstream)
		}
	}
	if len(alpha.InjectResponseHeaders) != 0 {
		t.Errorf("the answers carry identity headers (--set-xauthrequest), which go to the browser, not to presignd: %v", alpha.InjectResponseHeaders)
	}
}
