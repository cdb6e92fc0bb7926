package main

// Single sign-on end to end: a person clicks a dashboard's link to an object, logs in
// at the company's IdP through oauth2-proxy, and lands on the object's bytes, served
// by versitygw from a URL that presignd signed for them. All of it is real except the
// IdP: a real presignd process, the pinned oauth2-proxy binary in reverse-proxy mode,
// headless Chromium, and versitygw; the IdP is mockoidc, in this process.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/presignd/presignd/internal/testenv"
	"github.com/presignd/presignd/internal/testenv/oauth2proxy"
	"github.com/presignd/presignd/internal/testenv/s3server"
	"github.com/presignd/presignd/internal/testenv/syncbuf"
)

const bucketSSO = "sso-reports"

// ssoConfig is presignd behind oauth2-proxy: it reads the headers oauth2-proxy sets
// on what it forwards upstream in reverse-proxy mode (--pass-user-headers), from
// 127.0.0.1 only. The ops group may read reports/.
func ssoConfig(s *s3server.Server) string {
	clients := `  - name: ops
    match:
      - {proxy_group: ops}
    grants: [{bucket: ` + bucketSSO + `, prefixes: ["reports/"], methods: [GET, HEAD], max_ttl: 1h}]
`
	return testConfig(clients, configOptions{S3: s, Extra: `identity:
  trusted_proxies:
    from: ["127.0.0.1/32"]
    user_header: X-Forwarded-Email
    groups_header: X-Forwarded-Groups
`})
}

// TestE2EOAuth2ProxyLink: a Grafana-style link to an object, opened in a browser
// through oauth2-proxy, takes the person to the IdP, back, and to the object's bytes;
// presignd's audit line names them. The same identity headers sent to presignd by
// anyone but the proxy name no one.
func TestE2EOAuth2ProxyLink(t *testing.T) {
	t.Parallel()
	began := time.Now()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("this test drives Debian's chromium, which is not installed (apt-get install chromium, or scripts/install-test-deps.sh): %v", err)
	}

	s := s3server.Start(t)
	s.CreateBucket(t, bucketSSO)
	// A key with what breaks naive links: a space, parentheses, # and ?.
	const key = "reports/2026/Q4 summary (final) #2?.txt"
	content := "Q4 summary: every dashboard link opened by the person who clicked it.\n"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucketSSO), Key: aws.String(key),
		Body: strings.NewReader(content), ContentType: aws.String("text/plain; charset=utf-8")}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}

	p := startProcess(t, ssoConfig(s))

	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatalf("starting the IdP: %v", err)
	}
	t.Cleanup(func() { _ = idp.Shutdown() })
	// Whoever logs in next is alice, in groups dev and ops.
	idp.QueueUser(&mockoidc.MockUser{Subject: "u-4711", Email: "alice@example.com", EmailVerified: true,
		PreferredUsername: "alice", Groups: []string{"dev", "ops"}})

	proxy := oauth2proxy.Start(t, oauth2proxy.Options{
		Upstream: p.URL, Issuer: idp.Issuer(), ClientID: idp.ClientID, ClientSecret: idp.ClientSecret,
	})
	ready := time.Since(began)

	// The link as a Grafana data link builds it with ${__data.fields.key:percentencode}.
	objectPath := "/v1/objects/" + bucketSSO + "/" + percentEncode(key)
	link := proxy.URL + objectPath
	b := startBrowser(t, chromium)
	visited := b.recordNavigations(t)
	bctx, bcancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer bcancel()
	if err := chromedp.Do(bctx, chromedp.Navigate(link), chromedp.WaitReady("body")); err != nil {
		t.Fatalf("opening %s: %v", link, err)
	}
	landed, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	// ArtifactDir is a temporary directory, like TempDir, unless go test runs with
	// -artifacts, which keeps it under -outputdir.
	shot := filepath.Join(t.ArtifactDir(), "landing.png")
	b.screenshotTo(t, shot)
	t.Logf("screenshot of the landing page: %s (kept by go test -artifacts)", shot)
	steps := visited.String()
	t.Logf("the browser went:\n%s", testenv.RedactSignatures(steps))

	if body != content {
		t.Errorf("the page shows %q, want the object's bytes %q", testenv.Clip(body), content)
	}
	// It landed on versitygw, at the object, by a URL presignd signed.
	if !strings.HasPrefix(landed, s.Endpoint+"/"+bucketSSO+"/") || !strings.Contains(landed, "X-Amz-Signature=") {
		t.Errorf("the browser landed on %s, want a pre-signed URL of %s/%s", testenv.RedactSignatures(landed), s.Endpoint, bucketSSO)
	}
	// On the way it logged in at the IdP and came back through the proxy's callback.
	for _, want := range []string{idp.AuthorizationEndpoint(), proxy.URL + "/oauth2/callback"} {
		if !strings.Contains(steps, want) {
			t.Errorf("the browser never went to %s", want)
		}
	}

	// presignd's audit line names the person, the proxy principal and the operation.
	var audit map[string]any
	for _, l := range p.LogLines(t) {
		if l["msg"] == "presign" && l["operation"] == "link" {
			audit = l
		}
	}
	want := map[string]any{"principal": "proxy", "subject": "alice@example.com", "operation": "link",
		"client": "ops", "bucket": bucketSSO, "key": key, "outcome": "issued"}
	for k, v := range want {
		if audit[k] != v {
			t.Errorf("audit line of the link: %s = %v, want %v (line: %v)", k, audit[k], v, audit)
		}
	}

	// The same headers straight to presignd: from 127.0.0.1, the proxy's address, they
	// name alice (the test stands in for the proxy); from 127.0.0.3 they name no one.
	spoof := http.Header{"X-Forwarded-Email": {"alice@example.com"}, "X-Forwarded-Groups": {"ops"}}
	objectURL := p.URL + objectPath
	if status := directGET(t, "127.0.0.1", objectURL, spoof); status != http.StatusTemporaryRedirect {
		t.Errorf("GET %s from 127.0.0.1 with alice's headers: got %d, want 307", objectURL, status)
	}
	if status := directGET(t, "127.0.0.3", objectURL, spoof); status != http.StatusUnauthorized {
		t.Errorf("GET %s from 127.0.0.3 with alice's headers: got %d, want 401", objectURL, status)
	}
	t.Logf("timings: versitygw, presignd, IdP and oauth2-proxy ready after %s; the whole test %s",
		ready.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

// percentEncode is Grafana's percentencode variable format: encodeURIComponent, and
// !'()* escaped too, so that only RFC 3986's unreserved characters stay as they are
// (slashes become %2F, which presignd's links take as part of the key).
func percentEncode(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// directGET sends a GET to rawURL from the local address from (a loopback address
// other than 127.0.0.1 is another peer to presignd), with header, not following
// redirects, and returns the status.
func directGET(t *testing.T, from, rawURL string, header http.Header) int {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	client := &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{DialContext: dialer.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s from %s: %v", rawURL, from, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusUnauthorized {
		var pr problem
		if json.Unmarshal(body, &pr) != nil || pr.Code != "unauthenticated" || pr.Reason != "missing" {
			t.Errorf("GET %s from %s: 401 %s, want problem unauthenticated/missing", rawURL, from, body)
		}
	}
	return resp.StatusCode
}

// recordNavigations lists every document request the tab makes from now on, one
// "METHOD URL" a line, redirects included.
func (b *browser) recordNavigations(t *testing.T) *syncbuf.Buffer {
	t.Helper()
	out := &syncbuf.Buffer{}
	err := chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && e.Type == network.ResourceTypeDocument {
			fmt.Fprintf(out, "%s %s\n", e.Request.Method, e.Request.URL)
		}
	})
	if err != nil {
		t.Fatalf("listening to the tab's requests: %v", err)
	}
	return out
}
