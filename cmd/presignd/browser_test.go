package main

// Browser test: a real headless Chromium loads examples/upload from a loopback
// origin and uploads files to versitygw through presignd by PUT, by POST form and by
// multipart, with CORS on both presignd and the bucket.

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
	"github.com/chromedp/chromedp"

	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/testenv"
	"github.com/presignd/presignd/internal/testenv/s3server"
	"github.com/presignd/presignd/internal/testenv/syncbuf"
)

const (
	browserToken  = "browser-web-token-4f2a7c9e1d3b"
	bucketBrowser = "browser"
	bucketNoCORS  = "browser-no-cors"
	// browserMax is the web client's max_content_length.
	browserMax = 8 << 20
)

// pageStatus is what the example page shows in #status.
type pageStatus struct {
	State  string `json:"state"`
	Flow   string `json:"flow"`
	Source string `json:"source"`
	Text   string `json:"text"`
	// Progress and ProgressMax are the progress bar's value and maximum.
	Progress    float64 `json:"progress"`
	ProgressMax float64 `json:"progressMax"`
}

// statusWhenSettled is true-ish once the page reports done or error.
const statusWhenSettled = `(() => {
	const s = document.getElementById("status");
	if (s.dataset.state !== "done" && s.dataset.state !== "error") return null;
	const bar = document.getElementById("progress");
	return {state: s.dataset.state, flow: s.dataset.flow || "", source: s.dataset.source || "", text: s.textContent,
		progress: bar.value, progressMax: bar.max};
})()`

func TestBrowserUpload(t *testing.T) {
	t.Parallel()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("this test drives Debian's chromium, which is not installed (apt-get install chromium, or scripts/install-test-deps.sh): %v", err)
	}
	root, err := s3server.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}

	// The page's own origin: presignd and the bucket must both allow it.
	site := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(root, "examples", "upload"))))
	t.Cleanup(site.Close)
	origin := site.URL

	s := s3server.Start(t)
	s.CreateBucket(t, bucketBrowser)
	s.PutBucketCORS(t, bucketBrowser, []string{origin})
	s.CreateBucket(t, bucketNoCORS) // no CORS rule: browsers may not upload to it
	clients := clientYAML("web", browserToken,
		`[{bucket: `+bucketBrowser+`, prefixes: ["web/"], methods: [PUT, GET], max_ttl: 1h, max_content_length: `+strconv.Itoa(browserMax)+`},`+
			` {bucket: `+bucketNoCORS+`, prefixes: ["web/"], methods: [PUT], max_ttl: 1h}]`)
	p := startPresignd(t, testConfig(clients, configOptions{S3: s, Extra: fmt.Sprintf("cors: {allowed_origins: [%q]}", origin)}))
	// The same grants behind a presignd that does not list the page's origin.
	elsewhere := startPresignd(t, testConfig(clients, configOptions{S3: s, Extra: `cors: {allowed_origins: ["http://app.example.com"]}`}))
	// presignd serve --dev, as the example's README runs it: loopback origins, token dev-token.
	dev := devPresignd(t, map[string]string{"AWS_ENDPOINT_URL_S3": s.Endpoint, "PRESIGND_DEV_BUCKET": bucketBrowser})

	files := t.TempDir()
	file := func(name string, data []byte) string {
		path := filepath.Join(files, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	text := bytes.Repeat([]byte("presignd uploads from a browser.\n"), 100)
	png := randomBytes(t, 4096)
	big := randomBytes(t, 6*mib+321)
	huge := randomBytes(t, browserMax+1)

	b := startBrowser(t, chromium)

	type stored struct {
		data        []byte
		contentType string
		parts       int // of a multipart upload; 0 for one PUT or POST
	}
	want := map[string]stored{}
	for _, tc := range []struct {
		name     string
		server   string // presignd's URL; p's when empty
		token    string // browserToken when empty
		bucket   string // bucketBrowser when empty
		mode     string
		key      string
		path     string
		data     []byte
		partSize string // MiB, asked of presignd; empty: presignd picks
		// parts is the number of parts of a multipart upload that succeeds; 0: 2.
		parts int
		// The page's Content-Type field; empty: the page takes the file's type.
		typeField string
		wantFlow  string
		// For an upload that succeeds: the Content-Type stored.
		contentType string
		// For a refused upload: who refuses and what the page must say.
		source string
		says   []string
	}{
		{name: "PUT", mode: "put", key: "web/put/hello.txt", path: file("hello.txt", text), data: text,
			wantFlow: "put", contentType: "text/plain"},
		// The browser would send the file's own type (text/plain); the signature holds
		// only if the page sends the headers presignd returned.
		{name: "PUT with a chosen Content-Type", mode: "put", key: "web/put/notes.md", path: file("notes.txt", text), data: text,
			typeField: "text/markdown; charset=utf-8", wantFlow: "put", contentType: "text/markdown; charset=utf-8"},
		{name: "POST form", mode: "post", key: "web/post/photo.png", path: file("photo.png", png), data: png,
			wantFlow: "post", contentType: "image/png"},
		// presignd picks parts of 5 MiB: 6 MiB and 321 bytes are two parts.
		{name: "multipart in two parts", mode: "multipart", key: "web/multipart/big.bin", path: file("big.bin", big), data: big,
			wantFlow: "multipart", contentType: "application/octet-stream"},
		{name: "multipart in parts of a size asked for", mode: "multipart", key: "web/multipart/one-part.bin", path: file("big.bin", big), data: big,
			partSize: "7", parts: 1, wantFlow: "multipart", contentType: "application/octet-stream"},
		{name: "automatic choice of PUT for a small file", mode: "auto", key: "web/auto/small.txt", path: file("small.txt", text), data: text,
			wantFlow: "put", contentType: "text/plain"},
		{name: "automatic choice of multipart for a large file", mode: "auto", key: "web/auto/big.bin", path: file("big.bin", big), data: big,
			wantFlow: "multipart", contentType: "application/octet-stream"},
		{name: "presignd serve --dev, multipart", server: dev.URL, token: config.DevToken, mode: "auto", key: "web/dev/big.bin",
			path: file("big.bin", big), data: big, wantFlow: "multipart", contentType: "application/octet-stream"},
		{name: "PUT over max_content_length is refused by presignd", mode: "put", key: "web/refused/put.bin", path: file("huge.bin", huge),
			wantFlow: "put", source: "presignd", says: []string{"presignd refused", "403", "content_length_too_large"}},
		{name: "multipart over max_content_length is refused by presignd", mode: "multipart", key: "web/refused/multipart.bin", path: file("huge.bin", huge),
			wantFlow: "multipart", source: "presignd", says: []string{"presignd refused", "403", "content_length_too_large"}},
		{name: "multipart of a file below 5 MiB is refused by presignd", mode: "multipart", key: "web/refused/small-multipart.txt", path: file("small.txt", text),
			wantFlow: "multipart", source: "presignd", says: []string{"presignd refused", "400", "invalid_request", "/v1/presign", "/v1/presign/post"}},
		{name: "POST form over max_content_length is refused by S3", mode: "post", key: "web/refused/post.bin", path: file("huge.bin", huge),
			wantFlow: "post", source: "s3", says: []string{"S3 refused", "EntityTooLarge"}},
		{name: "a bucket without a CORS rule for the page", bucket: bucketNoCORS, mode: "put", key: "web/refused/no-cors.txt",
			path: file("small.txt", text), wantFlow: "put", source: "s3", says: []string{"no answer the page may read", "CORS rule", origin}},
		{name: "presignd that does not allow the page's origin", server: elsewhere.URL, mode: "put", key: "web/refused/origin.txt",
			path: file("small.txt", text), wantFlow: "put", source: "presignd", says: []string{"could not be reached", "cors.allowed_origins", origin}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			params := url.Values{"server": {cmp.Or(tc.server, p.URL)}, "token": {cmp.Or(tc.token, browserToken)}, "bucket": {cmp.Or(tc.bucket, bucketBrowser)},
				"key": {tc.key}, "mode": {tc.mode}}
			if tc.partSize != "" {
				params.Set("partSize", tc.partSize)
			}
			if tc.typeField != "" {
				params.Set("contentType", tc.typeField)
			}
			got := b.upload(t, origin+"/index.html#"+params.Encode(), tc.path)
			t.Logf("page (%s): %s", got.State, got.Text)
			if got.Flow != tc.wantFlow {
				t.Errorf("flow: got %q, want %q", got.Flow, tc.wantFlow)
			}
			if tc.source == "" {
				if got.State != "done" {
					t.Fatalf("page: got %s %q, want done", got.State, got.Text)
				}
				if size := float64(len(tc.data)); got.Progress != size || got.ProgressMax != size {
					t.Errorf("progress bar: got %v of %v, want %v of %v", got.Progress, got.ProgressMax, size, size)
				}
				if tc.bucket != "" {
					t.Fatalf("a case that succeeds must upload to %s, where the test looks for it", bucketBrowser)
				}
				parts := 0
				if tc.wantFlow == "multipart" {
					parts = cmp.Or(tc.parts, 2)
				}
				want[tc.key] = stored{tc.data, tc.contentType, parts}
				return
			}
			if got.State != "error" || got.Source != tc.source {
				t.Errorf("page: got %s from %q: %q; want an error from %s", got.State, got.Source, got.Text, tc.source)
			}
			for _, s := range tc.says {
				if !strings.Contains(got.Text, s) {
					t.Errorf("page says %q, want it to mention %q", got.Text, s)
				}
			}
		})
	}

	// The bucket holds exactly the uploads that succeeded, byte for byte.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	list, err := s.Client().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucketBrowser)})
	if err != nil {
		t.Fatalf("listing the bucket: %v", err)
	}
	var keys, wantKeys []string
	for _, o := range list.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	for k := range want {
		wantKeys = append(wantKeys, k)
	}
	slices.Sort(keys)
	slices.Sort(wantKeys)
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("bucket keys: got %q, want %q", keys, wantKeys)
	}
	for key, w := range want {
		obj, err := s.Client().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucketBrowser), Key: aws.String(key)})
		if err != nil {
			t.Errorf("GetObject %s: %v", key, err)
			continue
		}
		data, err := io.ReadAll(obj.Body)
		obj.Body.Close()
		if err != nil {
			t.Errorf("reading %s: %v", key, err)
			continue
		}
		if !bytes.Equal(data, w.data) {
			t.Errorf("%s: got %d bytes, want the %d bytes of the file (equal: false)", key, len(data), len(w.data))
		}
		if ct := aws.ToString(obj.ContentType); ct != w.contentType {
			t.Errorf("%s: Content-Type got %q, want %q", key, ct, w.contentType)
		}
		etag := strings.Trim(aws.ToString(obj.ETag), `"`)
		if isMultipart := strings.Contains(etag, "-"); (w.parts > 0) != isMultipart || (w.parts > 0 && !strings.HasSuffix(etag, "-"+strconv.Itoa(w.parts))) {
			t.Errorf("%s: ETag %q, want one of an upload in %d parts (0: a single PUT or POST)", key, etag, w.parts)
		}
	}
	// Refused multipart uploads were never created or were aborted.
	listed, err := s.Client().ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucketBrowser)})
	if err != nil {
		t.Fatalf("ListMultipartUploads: %v", err)
	}
	if n := len(listed.Uploads); n != 0 {
		t.Errorf("S3 still holds %d multipart uploads, want none", n)
	}
	if list, err := s.Client().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucketNoCORS)}); err != nil || len(list.Contents) != 0 {
		t.Errorf("%s: listing gave error %v; want no error and no objects", bucketNoCORS, err)
	}
}

// browser is a headless Chromium with one tab.
type browser struct {
	ctx     context.Context
	console *syncbuf.Buffer // the page's console and the browser's log
	output  *syncbuf.Buffer // Chromium's own stdout and stderr
}

// startBrowser runs Chromium headless with a fresh profile and nothing that reaches
// beyond loopback, and stops it when the test ends.
func startBrowser(t *testing.T, path string) *browser {
	t.Helper()
	b := &browser{console: &syncbuf.Buffer{}, output: &syncbuf.Buffer{}}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(1000, 900),
		chromedp.CombinedOutput(b.output),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,CertificateTransparencyComponentUpdater"),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		if t.Failed() {
			t.Logf("chromium output (without D-Bus complaints):\n%s", testenv.ClipTail(withoutDBus(b.output.String())))
		}
	})
	// The first action starts the browser; its context must outlive the test's steps.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("starting chromium: %v\n%s", err, testenv.ClipTail(b.output.String()))
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("chromium did not start within 60s:\n%s", testenv.ClipTail(b.output.String()))
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			fmt.Fprintf(b.console, "%s %s\n", m.Time.Format("15:04:05.000"), m)
		}
	}()
	b.ctx = ctx
	return b
}

// upload opens the page at pageURL (settings in its fragment), chooses the file,
// presses Upload and returns the status once the page reports done or error. On
// failure it saves a screenshot and logs the page's console.
func (b *browser) upload(t *testing.T, pageURL, file string) pageStatus {
	t.Helper()
	consoleFrom := len(b.console.String())
	t.Cleanup(func() {
		if t.Failed() {
			b.screenshot(t)
			t.Logf("page console:\n%s", testenv.RedactSignatures(b.console.String()[consoleFrom:]))
		}
	})
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	// about:blank first: a new fragment on the same page would not reload it.
	err := chromedp.Do(ctx,
		chromedp.Navigate("about:blank"),
		chromedp.Navigate(pageURL),
		chromedp.WaitReady(chromedp.ID("upload")),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{file}),
		chromedp.Click(chromedp.ID("upload")),
	)
	if err != nil {
		t.Fatalf("driving the page: %v", err)
	}
	st, err := chromedp.Run(ctx, chromedp.Poll[pageStatus](statusWhenSettled,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0)))
	if err != nil {
		text, _ := chromedp.Run(context.WithoutCancel(b.ctx), chromedp.Evaluate[string](`document.getElementById("status").textContent`))
		t.Fatalf("the page did not finish: %v; #status says %q", err, text)
	}
	return st
}

// screenshot saves the page as a PNG in a directory that outlives the test and
// logs its path.
func (b *browser) screenshot(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("no screenshot: %v", err)
		return
	}
	dir, err := os.MkdirTemp("", "presignd-browser-")
	if err == nil {
		path := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+".png")
		if err = os.WriteFile(path, png, 0o644); err == nil {
			t.Logf("screenshot of the page: %s", path)
			return
		}
	}
	t.Logf("no screenshot: %v", err)
}

// withoutDBus drops the lines in which Chromium says it found no D-Bus, which it
// does many times on a machine without a desktop session.
func withoutDBus(s string) string {
	var keep []string
	for line := range strings.Lines(s) {
		if !strings.Contains(line, ":ERROR:dbus/") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "")
}
