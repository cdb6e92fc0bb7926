package main

// Uppy e2e: a real headless Chromium loads examples/uppy (Uppy's Dashboard and
// @uppy/aws-s3 6.3.1 from npm, bundled by the example's `npm run build`) and uploads
// to versitygw through presignd, in signRequest mode with a JWT from a local OIDC
// issuer and in companionEndpoint mode on the page's own origin behind a sign-on proxy.

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/chromedp/chromedp"

	"github.com/presignd/presignd/internal/testenv"
	"github.com/presignd/presignd/internal/testenv/s3server"
)

const (
	bucketUppy = "uppy"
	// uppyMax is the grants' max_content_length.
	uppyMax = 16 << 20
	// uppyProxyUser is who the sign-on proxy says the companion-mode user is.
	uppyProxyUser = "alice@example.com"
)

// uppyConfig: JWT users upload under users/{subject}/, the sign-on proxy's users under
// people/{subject}/; both with a size limit and a list of types, and an upload location
// inside the grant. JWT users with the claim plan: free upload under free/{subject}/,
// a grant without limits.
func uppyConfig(s *s3server.Server, iss *testenv.OIDCIssuer, origin string) string {
	grant := func(prefix string) string {
		return fmt.Sprintf(`[{bucket: %s, prefixes: [%q], methods: [PUT, GET], max_ttl: 1h, max_content_length: %d,
        content_types: ["text/plain", "application/octet-stream", "image/*"]}]`, bucketUppy, prefix, uppyMax)
	}
	return testConfig(`  - name: web-free
    match:
      - {issuer: web, claims: {plan: free}}
    grants: [{bucket: `+bucketUppy+`, prefixes: ["free/"], methods: [PUT], max_ttl: 1h}]
    uploads: {bucket: `+bucketUppy+`, prefix: "free/{subject}/"}
  - name: web-users
    match:
      - {issuer: web}
    grants: `+grant("users/{subject}/")+`
    uploads: {bucket: `+bucketUppy+`, prefix: "users/{subject}/uppy/"}
  - name: people
    match:
      - {proxy_user: `+uppyProxyUser+`}
    grants: `+grant("people/{subject}/")+`
    uploads: {bucket: `+bucketUppy+`, prefix: "people/{subject}/uppy/"}
`, configOptions{S3: s, Extra: fmt.Sprintf(`cors: {allowed_origins: [%q]}
identity:
  issuers:
    - name: web
      issuer: %s
      audiences: [%s]
      algorithms: [RS256]
  trusted_proxies:
    from: ["127.0.0.1/32"]
`, origin, iss.URL(), testenv.OIDCAudience)})
}

// uppyExample is examples/uppy, with its npm packages and bundle in place.
func uppyExample(t *testing.T) string {
	t.Helper()
	root, err := s3server.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "examples", "uppy")
	for _, f := range []string{"dist/uppy.js", "node_modules/@uppy/dashboard/dist/style.min.css", "node_modules/@uppy/aws-s3/package.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("examples/uppy is not built (%v): run make test-deps, or npm ci && npm run build in examples/uppy", err)
		}
	}
	return dir
}

// ssoProxy plays the sign-on proxy in front of presignd: it serves the page and passes
// /v1/ on to presignd with the user it vouches for, as oauth2-proxy would after a login.
func ssoProxy(t *testing.T, pageDir, presigndURL, user string) *httptest.Server {
	t.Helper()
	target, err := url.Parse(presigndURL)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Header.Del("Authorization")
		r.Out.Header.Set("X-Auth-Request-Email", user)
	}}
	mux := http.NewServeMux()
	mux.Handle("/v1/", rp)
	mux.Handle("/", http.FileServer(http.Dir(pageDir)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// uppyOutcome is what the page and the Dashboard say about one file.
type uppyOutcome struct {
	Name string `json:"name"`
	Key  string `json:"key"`
	// Error is the upload's error as the page's upload-error handler saw it.
	Error string `json:"error"`
	// Shown is the error the Dashboard shows on the file (its error button's label).
	Shown string `json:"shown"`
}

const uppySettled = `(() => {
	const u = window.uploads;
	if (!u || !u.done) return null;
	const shown = {};
	for (const el of document.querySelectorAll(".uppy-Dashboard-Item")) {
		const name = el.querySelector(".uppy-Dashboard-Item-name");
		const err = el.querySelector(".uppy-Dashboard-Item-errorDetails");
		if (name) shown[name.textContent.trim()] = err ? err.getAttribute("aria-label") : "";
	}
	const out = [];
	for (const s of u.successful) out.push({name: s.name, key: s.key, error: "", shown: shown[s.name] || ""});
	for (const f of u.failed) out.push({name: f.name, key: "", error: f.error, shown: shown[f.name] || ""});
	return out;
})()`

// uppyUpload opens the page, adds the files to the Dashboard, presses its upload
// button and returns each file's outcome once Uppy reports completion.
func (b *browser) uppyUpload(t *testing.T, pageURL string, files []string) map[string]uppyOutcome {
	t.Helper()
	consoleFrom := len(b.console.String())
	t.Cleanup(func() {
		if t.Failed() {
			b.screenshot(t)
			t.Logf("page console:\n%s", testenv.RedactSignatures(b.console.String()[consoleFrom:]))
		}
	})
	ctx, cancel := context.WithTimeout(b.ctx, 120*time.Second)
	defer cancel()
	err := chromedp.Do(ctx,
		chromedp.Navigate("about:blank"),
		chromedp.Navigate(pageURL),
		chromedp.WaitReady(`.uppy-Dashboard-input[name="files[]"]:not([webkitdirectory])`),
		chromedp.SetUploadFiles(`.uppy-Dashboard-input[name="files[]"]:not([webkitdirectory])`, files),
		chromedp.WaitVisible(`.uppy-StatusBar-actionBtn--upload`),
		chromedp.Click(`.uppy-StatusBar-actionBtn--upload`),
	)
	if err != nil {
		t.Fatalf("driving the page: %v", err)
	}
	got, err := chromedp.Run(ctx, chromedp.Poll[[]uppyOutcome](uppySettled,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(0)))
	if err != nil {
		t.Fatalf("Uppy did not complete: %v", err)
	}
	out := map[string]uppyOutcome{}
	for _, o := range got {
		out[o.Name] = o
	}
	return out
}

func TestUppy(t *testing.T) {
	t.Parallel()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("this test drives Debian's chromium, which is not installed (apt-get install chromium, or scripts/install-test-deps.sh): %v", err)
	}
	dir := uppyExample(t)

	// The page's origin for signRequest mode: presignd and the bucket both allow it.
	site := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(site.Close)

	s := s3server.Start(t)
	s.CreateBucket(t, bucketUppy)
	iss := testenv.NewOIDCIssuer(t)
	p := startPresignd(t, uppyConfig(s, iss, site.URL))
	// companionEndpoint mode: the page and presignd on one origin, behind the proxy.
	sso := ssoProxy(t, dir, p.URL, uppyProxyUser)
	s.PutBucketCORS(t, bucketUppy, []string{site.URL, sso.URL})

	tmp := t.TempDir()
	file := func(name string, data []byte) string {
		path := filepath.Join(tmp, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	small := bytes.Repeat([]byte("presignd signs for Uppy.\n"), 200)
	big := randomBytes(t, 12*mib+5) // three parts of the plugin's 5 MiB
	huge := randomBytes(t, uppyMax+1)
	page := []byte("<!doctype html><title>not allowed</title>")
	files := []string{
		file("small.txt", small),
		file("big.bin", big),
		file("page.html", page),
		file("huge.bin", huge),
	}

	b := startBrowser(t, chromium)
	type stored struct {
		data  []byte
		parts int // of a multipart upload; 0 for one POST
	}
	for _, tc := range []struct {
		name, pageURL, prefix string
		// keyed says the plugin's key is "<uuid>-<name>" (signRequest mode), not the name.
		keyed bool
		want  map[string]stored
		// refused maps a file to what the Dashboard must show for it.
		refused map[string][]string
	}{
		{
			name: "signRequest mode with a JWT",
			pageURL: site.URL + "/index.html#" + url.Values{"mode": {"sign"}, "server": {p.URL},
				"token": {iss.Token("alice")}}.Encode(),
			prefix: "users/alice/uppy/", keyed: true,
			// Every file in one POST: signRequest mode signs no multipart upload.
			want: map[string]stored{"small.txt": {small, 0}, "big.bin": {big, 0}},
			refused: map[string][]string{
				"page.html": {`content type "text/html" is not allowed`},
				"huge.bin":  {"EntityTooLarge"}, // S3 holds the POST to the policy's content-length-range
			},
		},
		{
			name: "signRequest mode with multipart, under a grant without limits",
			pageURL: site.URL + "/index.html#" + url.Values{"mode": {"sign"}, "server": {p.URL},
				"token": {iss.Token("bob", testenv.TokenClaim("plan", "free"))}, "multipartAbove": {fmt.Sprint(5 * mib)}}.Encode(),
			prefix: "free/bob/", keyed: true,
			want: map[string]stored{"small.txt": {small, 0}, "big.bin": {big, 3}, "page.html": {page, 0}, "huge.bin": {huge, 4}},
		},
		{
			name: "companionEndpoint mode behind the sign-on proxy",
			pageURL: sso.URL + "/index.html#" + url.Values{"mode": {"companion"},
				"multipartAbove": {fmt.Sprint(5 * mib)}}.Encode(),
			prefix: "people/" + uppyProxyUser + "/uppy/",
			want:   map[string]stored{"small.txt": {small, 0}, "big.bin": {big, 3}},
			// Companion's client shows only the status text of presignd's refusals.
			refused: map[string][]string{
				"page.html": {"Companion request failed", "Forbidden"},
				"huge.bin":  {"Companion request failed", "Forbidden"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := b.uppyUpload(t, tc.pageURL, files)
			for name, w := range tc.want {
				o := got[name]
				if o.Error != "" || o.Key == "" {
					t.Errorf("%s: got error %q (shown %q), want it uploaded", name, o.Error, o.Shown)
					continue
				}
				if !strings.HasPrefix(o.Key, tc.prefix) || (tc.keyed && !strings.HasSuffix(o.Key, "-"+name)) || (!tc.keyed && o.Key != tc.prefix+name) {
					t.Errorf("%s: key %q, want it placed under %q", name, o.Key, tc.prefix)
				}
				checkStored(t, s, o.Key, w.data, w.parts)
			}
			for name, says := range tc.refused {
				o := got[name]
				if o.Error == "" {
					t.Errorf("%s: uploaded as %q, want it refused", name, o.Key)
					continue
				}
				for _, want := range says {
					if !strings.Contains(o.Shown, want) {
						t.Errorf("%s: the Dashboard shows %q, want it to say %q (the error was %q)", name, o.Shown, want, o.Error)
					}
				}
			}
			// The bucket holds the uploads that succeeded and nothing else.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			list, err := s.Client().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucketUppy), Prefix: aws.String(tc.prefix)})
			if err != nil {
				t.Fatalf("listing %s: %v", tc.prefix, err)
			}
			var keys, wantKeys []string
			for _, o := range list.Contents {
				keys = append(keys, aws.ToString(o.Key))
			}
			for name := range tc.want {
				wantKeys = append(wantKeys, got[name].Key)
			}
			slices.Sort(keys)
			slices.Sort(wantKeys)
			if !slices.Equal(keys, wantKeys) {
				t.Errorf("objects under %s: got %q, want %q", tc.prefix, keys, wantKeys)
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if all, err := s.Client().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucketUppy)}); err != nil || len(all.Contents) != 8 {
		t.Errorf("the bucket holds %d objects (error %v), want the 8 uploads", len(all.Contents), err)
	}
	if listed, err := s.Client().ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucketUppy)}); err != nil || len(listed.Uploads) != 0 {
		t.Errorf("S3 holds %d multipart uploads (error %v), want none", len(listed.Uploads), err)
	}
	// Every decision was audited under its Uppy operation.
	ops := map[string]int{}
	for _, line := range p.LogLines(t) {
		if line["msg"] == "presign" {
			op, _ := line["operation"].(string)
			ops[op]++
		}
	}
	for _, op := range []string{"uppy_sign", "uppy_params", "uppy_multipart_create", "uppy_multipart_part", "uppy_multipart_complete"} {
		if ops[op] == 0 {
			t.Errorf("no audit line for %s (audited: %v)", op, ops)
		}
	}
}

// checkStored reads key back from S3 and compares it byte for byte; parts is the
// number of parts of a multipart upload (its ETag ends in -parts), 0 for one request.
func checkStored(t *testing.T, s *s3server.Server, key string, want []byte, parts int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	obj, err := s.Client().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucketUppy), Key: aws.String(key)})
	if err != nil {
		t.Errorf("GetObject %s: %v", key, err)
		return
	}
	defer obj.Body.Close()
	data, err := io.ReadAll(obj.Body)
	if err != nil {
		t.Errorf("reading %s: %v", key, err)
		return
	}
	if !bytes.Equal(data, want) {
		t.Errorf("%s: got %d bytes, want the %d bytes of the file (equal: false)", key, len(data), len(want))
	}
	etag := strings.Trim(aws.ToString(obj.ETag), `"`)
	if multipart := strings.Contains(etag, "-"); (parts > 0) != multipart || parts > 0 && !strings.HasSuffix(etag, fmt.Sprintf("-%d", parts)) {
		t.Errorf("%s: ETag %q, want one of an upload in %d parts (0: one request)", key, etag, parts)
	}
}

// TestUppySignedMultipartCalls makes each multipart call of signRequest mode with the
// URL presignd signs, the way the plugin does, against versitygw: create, upload a
// part, list the parts, complete; and create, abort.
func TestUppySignedMultipartCalls(t *testing.T) {
	t.Parallel()
	s := s3server.Start(t)
	s.CreateBucket(t, bucketUppy)
	iss := testenv.NewOIDCIssuer(t)
	p := startPresignd(t, uppyConfig(s, iss, "http://127.0.0.1:1"))
	token := iss.Token("carol", testenv.TokenClaim("plan", "free"))

	// call asks presignd to sign req and makes the call with body, as the plugin would.
	call := func(req map[string]any, contentType string, body []byte) (signed uppySignedURL, status int, answer []byte) {
		t.Helper()
		st, _, b := p.post(t, token, "/v1/uppy/sign", req)
		if st != http.StatusOK {
			t.Fatalf("signing %v: got %d %s", req, st, b)
		}
		if err := json.Unmarshal(b, &signed); err != nil {
			t.Fatal(err)
		}
		r, err := http.NewRequest(req["method"].(string), signed.URL, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		resp, err := httpClient.Do(r)
		if err != nil {
			t.Fatalf("%s: %v", req["method"], err)
		}
		defer resp.Body.Close()
		answer, _ = io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%v with the signed URL: S3 answered %d %s", req, resp.StatusCode, answer)
		}
		if etag := resp.Header.Get("ETag"); etag != "" {
			signed.ETag = etag
		}
		return signed, resp.StatusCode, answer
	}
	var initiated struct {
		UploadID string `xml:"UploadId"`
	}
	created, _, body := call(map[string]any{"method": "POST", "key": "../calls.bin"}, "application/octet-stream", nil)
	if err := xml.Unmarshal(body, &initiated); err != nil || initiated.UploadID == "" || created.Key != "free/carol/calls.bin" {
		t.Fatalf("create: key %q, answer %s (%v)", created.Key, body, err)
	}
	data := randomBytes(t, 5*mib+17)
	part, _, _ := call(map[string]any{"method": "PUT", "key": created.Key, "uploadId": initiated.UploadID, "partNumber": 1}, "", data)
	_, _, body = call(map[string]any{"method": "GET", "key": created.Key, "uploadId": initiated.UploadID}, "", nil)
	var listed struct {
		Parts []struct {
			PartNumber int
			ETag       string
			Size       int64
		} `xml:"Part"`
	}
	if err := xml.Unmarshal(body, &listed); err != nil || len(listed.Parts) != 1 || listed.Parts[0].Size != int64(len(data)) || listed.Parts[0].ETag != part.ETag {
		t.Fatalf("list parts: got %+v (%v) from %s, want part 1 of %d bytes, ETag %s", listed, err, body, len(data), part.ETag)
	}
	complete := fmt.Sprintf("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>", part.ETag)
	call(map[string]any{"method": "POST", "key": created.Key, "uploadId": initiated.UploadID}, "application/xml", []byte(complete))
	checkStored(t, s, created.Key, data, 1)

	_, _, body = call(map[string]any{"method": "POST", "key": "dropped.bin"}, "", nil)
	if err := xml.Unmarshal(body, &initiated); err != nil {
		t.Fatal(err)
	}
	_, status, _ := call(map[string]any{"method": "DELETE", "key": "free/carol/dropped.bin", "uploadId": initiated.UploadID}, "", nil)
	if status != http.StatusNoContent {
		t.Errorf("abort: got %d, want 204", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if listed, err := s.Client().ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucketUppy)}); err != nil || len(listed.Uploads) != 0 {
		t.Errorf("S3 holds %d multipart uploads (error %v), want none", len(listed.Uploads), err)
	}
}

type uppySignedURL struct {
	URL  string `json:"url"`
	Key  string `json:"key"`
	ETag string `json:"-"`
}
