// Package oauth2proxy runs a real oauth2-proxy for tests, as a reverse proxy that
// logs people in at an OIDC provider and forwards their requests upstream with
// identity headers.
//
// The binary is pinned by the nested module in test/tools/oauth2-proxy and is never
// linked into presignd. Start finds it (env PRESIGND_OAUTH2_PROXY, else the user
// cache), builds it there when it is missing, and runs it on a free loopback port:
//
//	p := oauth2proxy.Start(t, oauth2proxy.Options{Upstream: presigndURL,
//		Issuer: idp.Issuer(), ClientID: idp.ClientID, ClientSecret: idp.ClientSecret})
//	// p.URL is http://127.0.0.1:PORT; a browser there is sent to the IdP to log in.
//
// This package is test support: only tests may import it.
package oauth2proxy

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/testenv"
	"github.com/presignd/presignd/internal/testenv/gotool"
	"github.com/presignd/presignd/internal/testenv/syncbuf"
)

// Version is the oauth2-proxy release test/tools/oauth2-proxy pins.
const Version = "v7.15.6"

// EnvBinary names an oauth2-proxy binary to use instead of the cached build.
const EnvBinary = "PRESIGND_OAUTH2_PROXY"

var program = gotool.Program{
	Name:      "oauth2-proxy-" + Version,
	Env:       EnvBinary,
	ModuleDir: "test/tools/oauth2-proxy",
	Package:   "github.com/oauth2-proxy/oauth2-proxy/v7",
	LDFlags:   "-X github.com/oauth2-proxy/oauth2-proxy/v7/pkg/version.VERSION=" + Version,
}

// Binary returns the path of the pinned oauth2-proxy: $PRESIGND_OAUTH2_PROXY when
// set, else the user cache, where it is built from test/tools/oauth2-proxy when
// missing.
func Binary(t testing.TB) string {
	t.Helper()
	return program.Path(t)
}

// Options say what the proxy logs in with and what it sits in front of.
type Options struct {
	// Upstream is the base URL every authenticated request is forwarded to.
	Upstream string
	// Issuer is the OIDC provider's issuer URL (discovery at Issuer/.well-known/…).
	Issuer string
	// ClientID and ClientSecret are the proxy's OAuth client at the provider.
	ClientID     string
	ClientSecret string
	// Scope is what the proxy asks the provider for; empty: "openid email groups".
	Scope string
}

// Proxy is a running oauth2-proxy.
type Proxy struct {
	// URL is where browsers reach it, http://127.0.0.1:PORT.
	URL string
	// Args are the command-line flags it runs with (no secrets are in them that a
	// test did not make up).
	Args []string

	output *syncbuf.Buffer
}

// Output is what oauth2-proxy has printed so far (its request and auth logs).
func (p *Proxy) Output() string { return p.output.String() }

// Start runs oauth2-proxy in front of o.Upstream, in reverse-proxy mode with the
// OIDC provider at o.Issuer, and stops it when the test ends. The session cookie is
// not Secure (the test speaks plain HTTP on loopback) and its secret is random.
// Any failure to find, build or start it is fatal.
func Start(t testing.TB, o Options) *Proxy {
	t.Helper()
	bin := Binary(t)
	var lastErr error
	// A free port can be taken between choosing and binding it: try a few times.
	for range 3 {
		p, err := start(t, bin, o)
		if err == nil {
			return p
		}
		lastErr = err
	}
	t.Fatalf("oauth2proxy: cannot start oauth2-proxy: %v", lastErr)
	return nil
}

func start(t testing.TB, bin string, o Options) (*Proxy, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	base := "http://" + addr
	scope := o.Scope
	if scope == "" {
		scope = "openid email groups"
	}
	p := &Proxy{
		URL: base,
		Args: []string{
			"--http-address=" + addr,
			"--upstream=" + o.Upstream,
			"--provider=oidc",
			"--oidc-issuer-url=" + o.Issuer,
			"--client-id=" + o.ClientID,
			"--client-secret=" + o.ClientSecret,
			"--scope=" + scope,
			"--code-challenge-method=S256",
			"--redirect-url=" + base + "/oauth2/callback",
			"--email-domain=*",
			"--skip-provider-button=true",
			"--cookie-secret=" + base64.RawURLEncoding.EncodeToString(secret),
			"--cookie-secure=false",
			// Upstream: X-Forwarded-User, -Email, -Groups, -Preferred-Username, set
			// from the session on every request, whatever the browser sent.
			"--pass-user-headers=true",
			"--skip-auth-strip-headers=true",
			"--pass-access-token=false",
			"--pass-authorization-header=false",
			"--set-xauthrequest=false",
		},
		output: &syncbuf.Buffer{},
	}
	// Only what the process needs: no OAUTH2_PROXY_* settings leak in.
	proc, err := testenv.StartProcess(bin, p.Args, p.output)
	if err != nil {
		return nil, err
	}
	exited, stop := proc.Exited(), proc.Stop
	if err := waitReady(exited, base+"/ping"); err != nil {
		stop()
		return nil, fmt.Errorf("%w; oauth2-proxy said: %s", err, testenv.ClipTail(p.output.String()))
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("oauth2-proxy output:\n%s", testenv.ClipTail(p.output.String()))
		}
	})
	return p, nil
}

// waitReady polls the ping endpoint until it answers 200.
func waitReady(exited <-chan struct{}, ping string) error {
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := hc.Get(ping)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s answered %s", ping, resp.Status)
		}
		select {
		case <-exited:
			return errors.New("oauth2-proxy exited before it was ready")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("oauth2-proxy was not ready within 30s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
