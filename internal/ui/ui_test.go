package ui_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/presignd/presignd/internal/ui"
)

const wantCSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

func get(t *testing.T, h http.Handler, method, path string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

// checkPageHeaders: every answer of the page carries its security headers.
func checkPageHeaders(t *testing.T, res *http.Response, cacheControl string) {
	t.Helper()
	for name, want := range map[string]string{
		"Content-Security-Policy": wantCSP,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           cacheControl,
	} {
		if got := res.Header.Get(name); got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
}

func TestFiles(t *testing.T) {
	h := ui.Handler(ui.Options{})
	for _, tc := range []struct {
		path, file, contentType string
	}{
		{"/ui/", "index.html", "text/html; charset=utf-8"},
		{"/ui/index.html", "index.html", "text/html; charset=utf-8"},
		{"/ui/app.js", "app.js", "text/javascript; charset=utf-8"},
		{"/ui/style.css", "style.css", "text/css; charset=utf-8"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			want, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			res, body := get(t, h, http.MethodGet, tc.path, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status: got %d, want 200", res.StatusCode)
			}
			checkPageHeaders(t, res, "no-cache")
			if got := res.Header.Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type: got %q, want %q", got, tc.contentType)
			}
			if !bytes.Equal(body, want) {
				t.Errorf("body: got %d bytes, want the %d bytes of %s", len(body), len(want), tc.file)
			}

			// Revalidation: the same ETag answers 304 without a body.
			etag := res.Header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			res, body = get(t, h, http.MethodGet, tc.path, http.Header{"If-None-Match": {etag}})
			if res.StatusCode != http.StatusNotModified || len(body) != 0 {
				t.Errorf("If-None-Match %s: got %d with %d bytes, want 304 and none", etag, res.StatusCode, len(body))
			}

			res, body = get(t, h, http.MethodHead, tc.path, nil)
			if res.StatusCode != http.StatusOK || len(body) != 0 || res.Header.Get("Content-Length") != strconv.Itoa(len(want)) {
				t.Errorf("HEAD: got %d, %d bytes, Content-Length %q; want 200, no body, %d", res.StatusCode, len(body), res.Header.Get("Content-Length"), len(want))
			}
		})
	}
}

func TestRedirect(t *testing.T) {
	res, _ := get(t, ui.Handler(ui.Options{}), http.MethodGet, "/ui", nil)
	if res.StatusCode != http.StatusMovedPermanently {
		t.Fatalf("status: got %d, want 301", res.StatusCode)
	}
	// Relative: behind a proxy that serves presignd at /tools/presignd/, /tools/presignd/ui
	// must lead to /tools/presignd/ui/.
	if got := res.Header.Get("Location"); got != "ui/" {
		t.Errorf("Location: got %q, want %q", got, "ui/")
	}
	checkPageHeaders(t, res, "no-cache")
}

func TestNotFound(t *testing.T) {
	h := ui.Handler(ui.Options{})
	for _, path := range []string{
		"/ui/dev.json", // only in dev mode
		"/ui/nope.html",
		"/ui/ui.go",
		"/ui/ui_test.go",
		"/ui/app.js/",
		"/ui/sub/app.js",
		"/ui/..%2fui.go",
		"/ui/.",
		"/uiapp.js",
		"/app.js",
		"/ui/APP.JS",
	} {
		t.Run(path, func(t *testing.T) {
			res, body := get(t, h, http.MethodGet, path, nil)
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("status: got %d, want 404 (body %q)", res.StatusCode, clip(body))
			}
			checkPageHeaders(t, res, "no-cache")
		})
	}
}

func TestMethods(t *testing.T) {
	h := ui.Handler(ui.Options{DevToken: "dev-token"})
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions} {
		for _, path := range []string{"/ui/", "/ui/app.js", "/ui/dev.json"} {
			res, body := get(t, h, m, path, nil)
			if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: got %d, Allow %q; want 405, GET, HEAD", m, path, res.StatusCode, res.Header.Get("Allow"))
			}
			if bytes.Contains(body, []byte("dev-token")) {
				t.Errorf("%s %s: the answer holds the dev token", m, path)
			}
		}
	}
}

func TestDevToken(t *testing.T) {
	t.Run("dev mode", func(t *testing.T) {
		res, body := get(t, ui.Handler(ui.Options{DevToken: "dev-token"}), http.MethodGet, "/ui/dev.json", nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status: got %d, want 200", res.StatusCode)
		}
		checkPageHeaders(t, res, "no-store")
		if got := res.Header.Get("Content-Type"); got != "application/json" {
			t.Errorf("Content-Type: got %q, want application/json", got)
		}
		var got map[string]string
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		if len(got) != 1 || got["token"] != "dev-token" {
			t.Errorf("body: got %v, want {token: dev-token}", got)
		}
	})
	t.Run("otherwise", func(t *testing.T) {
		h := ui.Handler(ui.Options{})
		for _, path := range []string{"/ui/dev.json", "/ui/", "/ui/app.js"} {
			res, body := get(t, h, http.MethodGet, path, nil)
			if path == "/ui/dev.json" && res.StatusCode != http.StatusNotFound {
				t.Errorf("%s: got %d, want 404", path, res.StatusCode)
			}
			if bytes.Contains(body, []byte("dev-token")) {
				t.Errorf("%s: the answer holds the dev token", path)
			}
		}
	})
}

// TestPageMarkup holds index.html to what a strict CSP and assistive technology
// need: scripts and styles only from files of its own, no inline script, style or
// event handler, nothing from another origin, a label for every field, and the
// result in a live region.
func TestPageMarkup(t *testing.T) {
	data, err := os.ReadFile("index.html")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]bool{}
	var fields []string
	var live []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attr := map[string]string{}
			for _, a := range n.Attr {
				attr[a.Key] = a.Val
				if strings.HasPrefix(a.Key, "on") {
					t.Errorf("<%s %s=…>: inline event handlers are refused by the CSP", n.Data, a.Key)
				}
				if a.Key == "style" {
					t.Errorf("<%s style=…>: inline styles are refused by the CSP", n.Data)
				}
				if (a.Key == "src" || a.Key == "href") && (strings.Contains(a.Val, "//") || strings.HasPrefix(a.Val, "javascript:")) {
					t.Errorf("<%s %s=%q>: the page loads nothing from elsewhere", n.Data, a.Key, a.Val)
				}
			}
			switch n.Data {
			case "script":
				if attr["src"] == "" || n.FirstChild != nil {
					t.Errorf("<script>: want only src=… and no inline code")
				}
			case "style":
				t.Errorf("<style>: inline styles are refused by the CSP")
			case "label":
				labels[attr["for"]] = true
			case "input", "select", "textarea":
				if attr["type"] != "hidden" {
					fields = append(fields, attr["id"])
				}
			}
			if attr["aria-live"] != "" {
				live = append(live, attr["id"])
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if len(fields) < 6 {
		t.Errorf("got fields %q, want at least uri, bucket, key, expires, filename, token and link", fields)
	}
	for _, id := range fields {
		if id == "" || !labels[id] {
			t.Errorf("field %q has no <label for>", id)
		}
	}
	if len(live) != 1 || live[0] != "result" {
		t.Errorf("live regions: got %q, want [result]", live)
	}
}

// TestScriptKeepsTokensOutOfStorageAndURLs: a pasted token lives in sessionStorage
// at most, and the page loads nothing from elsewhere.
func TestScriptKeepsTokensOutOfStorageAndURLs(t *testing.T) {
	for _, name := range []string{"app.js", "style.css", "index.html"} {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		for _, bad := range []string{"localStorage", "http://", "https://", "@import", "url(", "eval(", "innerHTML", "document.write"} {
			if strings.Contains(text, bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
	}
}

func clip(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}
