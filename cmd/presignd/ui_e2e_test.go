package main

// The share page (/ui/) in a real headless Chromium: a person pastes a token, sees
// their grants, makes a link to an object in versitygw and the link downloads it; a
// refused key is explained in words; under serve --dev the page works without a token.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/presignd/presignd/internal/testenv"
	"github.com/presignd/presignd/internal/testenv/s3server"
)

const (
	shareToken  = "share-page-token-9c1e5a7f3b2d"
	bucketShare = "share"
	// shareKey has a space and non-ASCII letters, which must reach S3 as they are.
	shareKey      = "reports/2026/Q3 Übersicht – März.txt"
	shareFilename = "Quartalsbericht Q3 (März) – Übersicht.txt"
)

// pageZone is the time zone the browser runs in: the page must show the expiry in
// the browser's local time, and +05:30 cannot be mistaken for UTC or a whole hour.
var pageZone = time.FixedZone("IST", 5*3600+30*60)

// shareResult is what the page's result region shows.
type shareResult struct {
	State    string `json:"state"`
	Link     string `json:"link"`
	Expiry   string `json:"expiry"`
	DateTime string `json:"datetime"`
	Capped   string `json:"capped"`
	CappedBy string `json:"cappedBy"`
	Problem  string `json:"problem"`
}

const resultWhenSettled = `(() => {
	const r = document.getElementById("result");
	if (r.dataset.state !== "link" && r.dataset.state !== "problem") return null;
	const time = document.querySelector("#expiry time");
	const capped = document.getElementById("capped");
	return {state: r.dataset.state, link: document.getElementById("link").value,
		expiry: document.getElementById("expiry").textContent, datetime: time ? time.dateTime : "",
		capped: capped.hidden ? "" : capped.textContent, cappedBy: capped.dataset.cappedBy || "",
		problem: document.getElementById("problem").hidden ? "" : document.getElementById("problem").textContent};
})()`

// identitySettled is the identity status once the page knows who the caller is or
// that it does not.
const identitySettled = `(() => {
	const s = document.getElementById("identity-status");
	return ["ready", "unauthenticated", "error"].includes(s.dataset.state) ? {state: s.dataset.state, text: s.textContent} : null;
})()`

type identityStatus struct {
	State string `json:"state"`
	Text  string `json:"text"`
}

func TestSharePage(t *testing.T) {
	t.Parallel()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("this test drives Debian's chromium, which is not installed (apt-get install chromium, or scripts/install-test-deps.sh): %v", err)
	}
	s := s3server.Start(t)
	s.CreateBucket(t, bucketShare)
	content := []byte("Umsatz Q3: 1.234.567 €\nStand: März 2026\n")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := s.Client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucketShare), Key: aws.String(shareKey),
		Body: bytes.NewReader(content), ContentType: aws.String("text/plain; charset=utf-8")}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	clients := clientYAML("people", shareToken, `[{bucket: `+bucketShare+`, prefixes: ["reports/"], methods: [GET, HEAD], max_ttl: 1d},`+
		` {bucket: `+bucketShare+`, prefixes: ["inbox/"], methods: [PUT], max_ttl: 1h}]`)
	p := startPresignd(t, testConfig(clients, configOptions{S3: s}))
	// The same grants, signing with temporary credentials that expire in 10 minutes.
	short := startPresignd(t, testConfig(clients, configOptions{S3: s, Profile: profileShort}))
	dev := devPresignd(t, map[string]string{"AWS_ENDPOINT_URL_S3": s.Endpoint, "PRESIGND_DEV_BUCKET": bucketShare})

	b := startBrowser(t, chromium)
	pageCtx := b.ctx
	if _, err := chromedp.Call(pageCtx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Kolkata"}); err != nil {
		t.Fatalf("emulating a time zone: %v", err)
	}
	if _, err := chromedp.Call(pageCtx, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: "en_GB"}); err != nil {
		t.Fatalf("emulating a locale: %v", err)
	}
	if _, err := chromedp.CallBrowser(pageCtx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
		Permission: &cdpbrowser.PermissionDescriptor{Name: "clipboard-write", AllowWithoutSanitization: true},
		Setting:    cdpbrowser.PermissionSettingGranted, Origin: p.URL}); err != nil {
		t.Fatalf("granting clipboard-write: %v", err)
	}
	if _, err := chromedp.CallBrowser(pageCtx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
		Permission: &cdpbrowser.PermissionDescriptor{Name: "clipboard-read"},
		Setting:    cdpbrowser.PermissionSettingGranted, Origin: p.URL}); err != nil {
		t.Fatalf("granting clipboard-read: %v", err)
	}

	t.Run("a pasted token", func(t *testing.T) {
		start := time.Now()
		pg := b.open(t, p.URL+"/ui")
		// No token and no proxy: the page asks for one, with the focus in its field.
		id := pg.identity(t)
		if id.State != "unauthenticated" || !strings.Contains(id.Text, "Paste a token") {
			t.Fatalf("identity: got %+v, want the page to ask for a token", id)
		}
		if got := pg.eval(t, `document.activeElement.id + " " + document.getElementById("token-box").open`); got != "token true" {
			t.Errorf("focus and token box: got %q, want %q", got, "token true")
		}
		// Typed and submitted with the keyboard.
		pg.submitToken(t, shareToken)
		if id := pg.identity(t); id.State != "ready" {
			t.Fatalf("identity after pasting the token: got %+v, want ready", id)
		}
		if got := pg.eval(t, `document.getElementById("client").textContent`); got != "people" {
			t.Errorf("client: got %q, want people", got)
		}
		grants := pg.grants(t)
		wantGrants := [][]string{{bucketShare, "reports/", "GET, HEAD", "1 day"}, {bucketShare, "inbox/", "PUT", "1 hour"}}
		if !slices.EqualFunc(grants, wantGrants, slices.Equal) {
			t.Errorf("grants table: got %q, want %q", grants, wantGrants)
		}
		// The token is in this tab's session storage only, and never in the URL.
		if got := pg.eval(t, `String(localStorage.length) + " " + (sessionStorage.getItem("presignd.token") === `+strconv.Quote(shareToken)+`) + " " + location.href.includes(`+strconv.Quote(shareToken)+`)`); got != "0 true false" {
			t.Errorf("localStorage items, token in sessionStorage, token in URL: got %q, want %q", got, "0 true false")
		}

		// An s3:// URI is split into bucket and key verbatim: S3 keys are not URL paths.
		const undecoded = "reports/a%2Fb+c%20d//e?f#g"
		pg.do(t, chromedp.SendKeys(chromedp.ID("uri"), "s3://"+bucketShare+"/"+undecoded))
		if got := pg.eval(t, `document.getElementById("bucket").value + "|" + document.getElementById("key").value`); got != bucketShare+"|"+undecoded {
			t.Errorf("bucket|key: got %q, want %q", got, bucketShare+"|"+undecoded)
		}
		pg.fill(t, "uri", "s3://"+bucketShare+"/"+shareKey)
		if got := pg.eval(t, `document.getElementById("bucket").value + "|" + document.getElementById("key").value`); got != bucketShare+"|"+shareKey {
			t.Errorf("bucket|key: got %q, want %q", got, bucketShare+"|"+shareKey)
		}
		// Lifetimes up to the grant's max_ttl (1 day), below max_expires_in (7 days).
		if got := pg.expiryOptions(t); !slices.Equal(got, []int{300, 900, 3600, 21600, 86400}) {
			t.Errorf("expiry choices: got %v, want up to 1 day", got)
		}
		if got := pg.eval(t, `document.getElementById("expires-help").textContent`); got != "At most 1 day here." {
			t.Errorf("expiry help: got %q, want %q", got, "At most 1 day here.")
		}
		pg.do(t, chromedp.SetValue(chromedp.ID("expires"), "86400"))
		pg.do(t, chromedp.SendKeys(chromedp.ID("filename"), shareFilename+kb.Enter))
		res := pg.result(t)
		if res.State != "link" {
			t.Fatalf("result: got %s %q, want a link", res.State, res.Problem)
		}
		b.saveScreenshot(t, "share-page")

		// The link downloads the object, under the file name asked for.
		fetched := fetchLink(t, res.Link)
		if !bytes.Equal(fetched.body, content) {
			t.Errorf("downloaded %d bytes, want the %d bytes put (equal: false)", len(fetched.body), len(content))
		}
		disp, params, err := mime.ParseMediaType(fetched.header.Get("Content-Disposition"))
		if err != nil || disp != "attachment" || params["filename"] != shareFilename {
			t.Errorf("Content-Disposition %q: got %q %q (%v), want attachment with filename %q",
				fetched.header.Get("Content-Disposition"), disp, params["filename"], err, shareFilename)
		}

		// The expiry: one day after the URL's X-Amz-Date, in the browser's time zone.
		u, err := url.Parse(res.Link)
		if err != nil {
			t.Fatalf("the link does not parse: %v", err)
		}
		q := u.Query()
		signed, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
		if err != nil || q.Get("X-Amz-Expires") != "86400" {
			t.Fatalf("X-Amz-Date %q (%v), X-Amz-Expires %q; want a date and 86400", q.Get("X-Amz-Date"), err, q.Get("X-Amz-Expires"))
		}
		expires := signed.Add(24 * time.Hour)
		if got, err := time.Parse(time.RFC3339, res.DateTime); err != nil || !got.Equal(expires) {
			t.Errorf("<time datetime>: got %q, want %s", res.DateTime, expires.Format(time.RFC3339))
		}
		local := expires.In(pageZone)
		for _, want := range []string{local.Format("15:04:05"), local.Format("2 January 2006"), "in 1 day"} {
			if !strings.Contains(res.Expiry, want) {
				t.Errorf("expiry text %q does not mention %q", res.Expiry, want)
			}
		}
		if res.Capped != "" {
			t.Errorf("capped note: got %q, want none", res.Capped)
		}
		if got := pg.eval(t, `document.activeElement.id`); got != "link" {
			t.Errorf("focus after the link appeared: got %q, want link", got)
		}

		// Copy puts the link on the clipboard.
		pg.do(t, chromedp.Click(chromedp.ID("copy")))
		status := pg.poll(t, `(() => { const s = document.getElementById("copy-status").textContent; return s === "" ? null : s; })()`)
		clip, err := chromedp.Run(pg.ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
		if err != nil || clip != res.Link || status != "Copied to the clipboard." {
			t.Errorf("after Copy: status %q, the clipboard holds the link: %v (%v); want %q and true", status, clip == res.Link, err, "Copied to the clipboard.")
		}

		// A key outside the grants is refused, and the page says why in words.
		pg.fill(t, "uri", "s3://"+bucketShare+"/elsewhere/notes.txt")
		if got := pg.eval(t, `document.getElementById("expires-help").textContent`); got != "None of your grants lets you share this key." {
			t.Errorf("expiry help for a key no grant covers: got %q", got)
		}
		pg.create(t)
		res = pg.result(t)
		wantProblem := `Not allowed: no grant on bucket "share" covers this key.You asked for s3://share/elsewhere/notes.txt.`
		if res.State != "problem" || res.Problem != wantProblem || res.Link != "" {
			t.Errorf("refused key: got %s %q (link shown: %v), want problem %q", res.State, res.Problem, res.Link != "", wantProblem)
		}
		// A method the grant lacks is refused too.
		pg.fill(t, "uri", "s3://"+bucketShare+"/inbox/new.txt")
		pg.create(t)
		if res := pg.result(t); !strings.HasPrefix(res.Problem, "Not allowed: method GET is not allowed for this key.") {
			t.Errorf("refused method: got %s %q, want Not allowed: method GET …", res.State, res.Problem)
		}
		// Something that is not an s3:// URI never reaches presignd.
		pg.fill(t, "uri", bucketShare+"/"+shareKey)
		pg.create(t)
		res = pg.result(t)
		if !strings.HasPrefix(res.Problem, "An S3 URI starts with s3://") || pg.eval(t, `document.getElementById("uri").getAttribute("aria-invalid") + " " + document.activeElement.id`) != "true uri" {
			t.Errorf("not an S3 URI: got %s %q, want the page to say so and focus the field", res.State, res.Problem)
		}

		// Forgetting the token asks for one again.
		pg.markIdentityStale(t)
		pg.do(t, chromedp.Click(chromedp.ID("forget-token")))
		if id := pg.identity(t); id.State != "unauthenticated" || pg.eval(t, `String(sessionStorage.length)`) != "0" {
			t.Errorf("after Forget token: got %+v, want the page to ask for a token with nothing stored", id)
		}
		pg.checkNoCSPViolations(t)
		t.Logf("the pasted-token flow took %s", time.Since(start).Round(time.Millisecond))
	})

	t.Run("shortened lifetime explained", func(t *testing.T) {
		pg := b.open(t, short.URL+"/ui/")
		if id := pg.identity(t); id.State != "unauthenticated" {
			t.Fatalf("identity without a token: got %+v, want unauthenticated", id)
		}
		pg.submitToken(t, shareToken)
		if id := pg.identity(t); id.State != "ready" {
			t.Fatalf("identity: got %+v, want ready", id)
		}
		pg.fill(t, "uri", "s3://"+bucketShare+"/"+shareKey)
		// The credentials expire in 10 minutes: no choice reaches past them.
		opts := pg.expiryOptions(t)
		if len(opts) == 0 || opts[len(opts)-1] > int(shortCredentialsLifetime/time.Second) {
			t.Errorf("expiry choices under 10-minute credentials: got %v, want none longer than 600 s", opts)
		}
		// A page loaded a while ago may still offer an hour; presignd shortens it and the
		// page says why.
		pg.eval(t, `(() => { const s = document.getElementById("expires"); s.add(new Option("1 hour", "3600")); s.value = "3600"; return ""; })()`)
		pg.create(t)
		res := pg.result(t)
		if res.State != "link" || res.CappedBy != "credentials" ||
			!strings.Contains(res.Capped, "you asked for 1 hour") || !strings.Contains(res.Capped, "signing credentials expire") {
			t.Errorf("capped link: got %s, capped_by %q, note %q; want a link with the credentials explained", res.State, res.CappedBy, res.Capped)
		}
		// (versitygw knows no session tokens, so this link is not fetched.)
		u, err := url.Parse(res.Link)
		if err != nil {
			t.Fatalf("the link does not parse: %v", err)
		}
		if n, err := strconv.Atoi(u.Query().Get("X-Amz-Expires")); err != nil || n > int(shortCredentialsLifetime/time.Second) {
			t.Errorf("X-Amz-Expires: got %q, want at most the credentials' 600 s", u.Query().Get("X-Amz-Expires"))
		}
	})

	t.Run("serve --dev needs no token", func(t *testing.T) {
		pg := b.open(t, dev.URL+"/ui/")
		id := pg.identity(t)
		if id.State != "ready" || !strings.Contains(id.Text, "Development mode") {
			t.Fatalf("identity under --dev: got %+v, want ready in development mode", id)
		}
		if got := pg.eval(t, `document.getElementById("client").textContent + " " + String(sessionStorage.length) + " " + String(localStorage.length)`); got != "dev 0 0" {
			t.Errorf("client, stored items: got %q, want %q", got, "dev 0 0")
		}
		if got := pg.expiryOptions(t); len(got) == 0 || got[len(got)-1] != 604800 {
			t.Errorf("expiry choices under --dev: got %v, want up to 7 days", got)
		}
		pg.fill(t, "bucket", bucketShare)
		pg.fill(t, "key", shareKey)
		if got := pg.eval(t, `document.getElementById("uri").value`); got != "s3://"+bucketShare+"/"+shareKey {
			t.Errorf("the URI field follows bucket and key: got %q", got)
		}
		pg.create(t)
		res := pg.result(t)
		if res.State != "link" {
			t.Fatalf("result: got %s %q, want a link", res.State, res.Problem)
		}
		if fetched := fetchLink(t, res.Link); !bytes.Equal(fetched.body, content) {
			t.Errorf("downloaded %d bytes through the dev link, want %d", len(fetched.body), len(content))
		}
		if q, _ := url.ParseQuery(res.Link[strings.IndexByte(res.Link, '?')+1:]); q.Get("X-Amz-Expires") != "3600" {
			t.Errorf("X-Amz-Expires: got %q, want the default choice, 3600", q.Get("X-Amz-Expires"))
		}
	})

	t.Run("behind a sign-on proxy", func(t *testing.T) {
		// An auth proxy in front of presignd names the signed-in user and groups in its
		// headers; the page calls the API through it with no token.
		proxied := startPresignd(t, testConfig(`  - name: ops
    match:
      - {proxy_group: ops}
    grants: [{bucket: `+bucketShare+`, prefixes: ["reports/"], methods: [GET], max_ttl: 7d}]
`, configOptions{S3: s, Extra: "identity:\n  trusted_proxies:\n    from: [\"127.0.0.1/32\"]\n"}))
		target, err := url.Parse(proxied.URL)
		if err != nil {
			t.Fatal(err)
		}
		sso := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Header.Set("X-Auth-Request-Email", "alice@example.com")
			r.Out.Header.Set("X-Auth-Request-Groups", "ops,eng")
		}})
		t.Cleanup(sso.Close)

		pg := b.open(t, sso.URL+"/ui/")
		id := pg.identity(t)
		if id.State != "ready" || id.Text != "Signed in as alice@example.com." {
			t.Fatalf("identity behind the proxy: got %+v, want ready as alice@example.com", id)
		}
		if got := pg.eval(t, `document.getElementById("subject").textContent`); got != "alice@example.com, through the sign-on proxy (groups: ops, eng)" {
			t.Errorf("identified as: got %q", got)
		}
		if got := pg.expiryOptions(t); !slices.Equal(got, []int{300, 900, 3600, 21600, 86400, 259200, 604800}) {
			t.Errorf("expiry choices under a 7-day grant: got %v, want every preset up to 7 days", got)
		}
		pg.do(t, chromedp.Click(chromedp.CSS(`#grants button.linkish`)))
		if got := pg.eval(t, `document.getElementById("uri").value + " " + document.activeElement.id`); got != "s3://"+bucketShare+"/reports/ key" {
			t.Errorf("choosing the prefix: got %q, want the URI filled and the focus in the key", got)
		}
		pg.do(t, chromedp.SendKeys(chromedp.ID("key"), strings.TrimPrefix(shareKey, "reports/")))
		pg.create(t)
		res := pg.result(t)
		if res.State != "link" {
			t.Fatalf("result: got %s %q, want a link", res.State, res.Problem)
		}
		if fetched := fetchLink(t, res.Link); !bytes.Equal(fetched.body, content) {
			t.Errorf("downloaded %d bytes through the proxy's link, want %d", len(fetched.body), len(content))
		}
		// The audit log names the person who clicked.
		found := false
		for _, l := range proxied.LogLines(t) {
			if l["msg"] == "presign" && l["principal"] == "proxy" && l["subject"] == "alice@example.com" && l["outcome"] == "issued" {
				found = true
			}
		}
		if !found {
			t.Errorf("no audit line of an issued presign for the proxy's user alice@example.com")
		}
	})

	t.Run("only serve --dev hands out a token", func(t *testing.T) {
		for _, tc := range []struct {
			name, base string
			status     int
		}{{"--config", p.URL, http.StatusNotFound}, {"--dev", dev.URL, http.StatusOK}} {
			res, err := httpClient.Get(tc.base + "/ui/dev.json")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			var got struct{ Token string }
			_ = json.Unmarshal(body, &got)
			if res.StatusCode != tc.status || (tc.status == http.StatusOK) != (got.Token == "dev-token") {
				t.Errorf("%s: GET /ui/dev.json: got %d with token %v, want %d", tc.name, res.StatusCode, got.Token != "", tc.status)
			}
		}
	})
}

// TestSharePageServed: presignd serves the page without credentials, with its
// security headers, and nothing else under /ui/.
func TestSharePageServed(t *testing.T) {
	t.Parallel()
	p := startPresignd(t, testConfig(clientYAML("people", shareToken, `[{bucket: share, prefixes: [""], methods: [GET], max_ttl: 1h}]`), configOptions{}))
	for _, tc := range []struct {
		path, contentType string
		status            int
	}{
		{"/ui/", "text/html; charset=utf-8", http.StatusOK},
		{"/ui/app.js", "text/javascript; charset=utf-8", http.StatusOK},
		{"/ui/style.css", "text/css; charset=utf-8", http.StatusOK},
		{"/ui/dev.json", "", http.StatusNotFound},
		{"/ui/nothing.js", "", http.StatusNotFound},
		{"/ui/a/app.js", "", http.StatusNotFound},
	} {
		res, err := httpClient.Get(p.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.status {
			t.Errorf("GET %s: got %d, want %d", tc.path, res.StatusCode, tc.status)
			continue
		}
		if tc.status != http.StatusOK {
			continue
		}
		if got := res.Header.Get("Content-Type"); got != tc.contentType {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, got, tc.contentType)
		}
		if got := res.Header.Get("Content-Security-Policy"); !strings.HasPrefix(got, "default-src 'self';") || !strings.Contains(got, "frame-ancestors 'none'") {
			t.Errorf("GET %s: Content-Security-Policy %q", tc.path, got)
		}
	}
	// /ui redirects to the page, relative to where it was asked for.
	noFollow := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Get(p.URL + "/ui")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "ui/" {
		t.Errorf("GET /ui: got %d to %q, want 301 to ui/", res.StatusCode, res.Header.Get("Location"))
	}
}

// page is the share page open in the browser's tab.
type page struct {
	ctx context.Context
	b   *browser
	// consoleFrom is where the page's console messages start in b.console.
	consoleFrom int
}

// checkNoCSPViolations fails the test if the browser refused anything the page did
// under its Content-Security-Policy.
func (pg *page) checkNoCSPViolations(t *testing.T) {
	t.Helper()
	for line := range strings.Lines(pg.b.console.String()[pg.consoleFrom:]) {
		if strings.Contains(line, "Content Security Policy") || strings.Contains(line, "Refused to") {
			t.Errorf("the browser refused something under the page's CSP: %s", testenv.RedactSignatures(line))
		}
	}
}

// open loads pageURL in the browser's tab with a fresh session storage.
func (b *browser) open(t *testing.T, pageURL string) *page {
	t.Helper()
	consoleFrom := len(b.console.String())
	t.Cleanup(func() {
		if t.Failed() {
			b.screenshot(t)
			t.Logf("page console:\n%s", testenv.RedactSignatures(b.console.String()[consoleFrom:]))
		}
	})
	pg := &page{ctx: b.ctx, b: b, consoleFrom: consoleFrom}
	pg.do(t, chromedp.Navigate("about:blank"), chromedp.Navigate(pageURL), chromedp.WaitReady(chromedp.ID("create")))
	return pg
}

func (pg *page) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(pg.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("driving the page: %v", err)
	}
}

// eval evaluates a JavaScript expression that yields a string.
func (pg *page) eval(t *testing.T, expr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(pg.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("evaluating %.60q: %v", expr, err)
	}
	return v
}

// poll waits until expr yields a string that is not null.
func (pg *page) poll(t *testing.T, expr string) string {
	t.Helper()
	return pollPage[string](t, pg, expr)
}

func pollPage[T any](t *testing.T, pg *page, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(pg.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](expr, chromedp.WithPollingInterval(25*time.Millisecond), chromedp.WithPollingTimeout(0)))
	if err != nil {
		t.Fatalf("waiting for the page: %v", err)
	}
	return v
}

func (pg *page) identity(t *testing.T) identityStatus {
	t.Helper()
	return pollPage[identityStatus](t, pg, identitySettled)
}

// result waits for the result of the request just made: the result region was
// marked busy by the click and settles on a link or a problem. Page-side checks
// (not an s3:// URI) settle at once.
func (pg *page) result(t *testing.T) shareResult {
	t.Helper()
	return pollPage[shareResult](t, pg, `document.getElementById("result").getAttribute("aria-busy") ? null : `+resultWhenSettled)
}

// markIdentityStale marks the identity shown so far as stale, so that identity waits
// for the page's next answer.
func (pg *page) markIdentityStale(t *testing.T) {
	t.Helper()
	pg.eval(t, `(() => { document.getElementById("identity-status").dataset.state = "stale"; return ""; })()`)
}

// submitToken types a token into the token field and presses Enter.
func (pg *page) submitToken(t *testing.T, token string) {
	t.Helper()
	pg.markIdentityStale(t)
	pg.do(t, chromedp.SendKeys(chromedp.ID("token"), token+kb.Enter))
}

// create presses Create link, after marking the result shown so far as stale so that
// result waits for the new one.
func (pg *page) create(t *testing.T) {
	t.Helper()
	pg.eval(t, `(() => { document.getElementById("result").dataset.state = "stale"; return ""; })()`)
	pg.do(t, chromedp.Click(chromedp.ID("create")))
}

// fill replaces the field's value by typing, as a person would.
func (pg *page) fill(t *testing.T, id, value string) {
	t.Helper()
	pg.eval(t, `(() => { const f = document.getElementById(`+strconv.Quote(id)+`); f.value = ""; f.dispatchEvent(new Event("input")); return ""; })()`)
	pg.do(t, chromedp.SendKeys(chromedp.ID(id), value))
}

func (pg *page) grants(t *testing.T) [][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(pg.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](`[...document.querySelectorAll("#grants tbody tr")].map(tr => [...tr.cells].map(td => td.textContent.trim()))`))
	if err != nil {
		t.Fatalf("reading the grants table: %v", err)
	}
	return v
}

func (pg *page) expiryOptions(t *testing.T) []int {
	t.Helper()
	ctx, cancel := context.WithTimeout(pg.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[...document.getElementById("expires").options].map(o => Number(o.value))`))
	if err != nil {
		t.Fatalf("reading the expiry choices: %v", err)
	}
	return v
}

// saveScreenshot saves the whole page as name.png in the test's temporary directory,
// and also at $PRESIGND_UI_SCREENSHOT when that is set, and logs where.
func (b *browser) saveScreenshot(t *testing.T, name string) {
	t.Helper()
	paths := []string{filepath.Join(t.TempDir(), name+".png")}
	if extra := os.Getenv("PRESIGND_UI_SCREENSHOT"); extra != "" {
		paths = append(paths, extra)
	}
	b.screenshotTo(t, paths...)
	for _, path := range paths {
		t.Logf("screenshot of the share page: %s", path)
	}
}

// screenshotTo saves the whole page as a PNG at each path.
func (b *browser) screenshotTo(t *testing.T, paths ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	for _, path := range paths {
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatalf("saving the screenshot: %v", err)
		}
	}
}

type fetched struct {
	header http.Header
	body   []byte
}

// fetchLink downloads a pre-signed link with a plain HTTP client, as whoever it was
// shared with would. The link is a secret: errors never show it.
func fetchLink(t *testing.T, link string) fetched {
	t.Helper()
	res, err := httpClient.Get(link)
	if err != nil {
		t.Fatalf("fetching the link: %s", testenv.RedactSignatures(err.Error()))
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading the link's answer: %v", err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("fetching the link: got %d: %s", res.StatusCode, testenv.RedactSignatures(fmt.Sprintf("%.300s", body)))
	}
	return fetched{res.Header, body}
}
