package main

// Attacks found from outside against a running presignd and versitygw, reproduced end
// to end: each test does what the attacker did and checks that it no longer gets
// through.

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/presignd/presignd/internal/testenv"
)

// scriptedPage is an HTML page whose script, if a browser runs it, marks the page.
const scriptedPage = `<!doctype html><title>inert</title><script>document.title = "script-ran"</script><p>upload</p>`

// renderedPage is how Chromium took a page.
type renderedPage struct {
	ContentType string `json:"contentType"`
	ScriptRan   bool   `json:"scriptRan"`
}

// rendered opens rawURL in Chromium and reports the document's content type and
// whether the page's script ran.
func (b *browser) rendered(t *testing.T, rawURL string) (contentType string, scriptRan bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	err := chromedp.Do(ctx,
		chromedp.Navigate("about:blank"),
		chromedp.Navigate(rawURL),
	)
	if err != nil {
		t.Fatalf("opening the object in chromium: %v", err)
	}
	// The document's context can change while the object loads: ask until it answers.
	const read = `document.readyState === "complete" ? {contentType: document.contentType, scriptRan: document.title === "script-ran"} : null`
	var state renderedPage
	for {
		state, err = chromedp.Run(ctx, chromedp.Evaluate[renderedPage](read))
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("reading the page in chromium: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	contentType, scriptRan = state.ContentType, state.ScriptRan
	return contentType, scriptRan
}

// TestAttackContentTypeSmuggling: alice's grant allows image/png and text/*. The
// attacker asks for upload URLs whose content type passes a check that cuts the
// value at ';' or after "type/", but that a browser reads as text/html: the object,
// opened with a plain GET URL, would run the attacker's script. presignd must refuse
// every such value, and what it does sign must render as what was checked.
func TestAttackContentTypeSmuggling(t *testing.T) {
	t.Parallel()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("this test drives Debian's chromium, which is not installed (apt-get install chromium, or scripts/install-test-deps.sh): %v", err)
	}
	e := newUploadEnv(t)
	b := startBrowser(t, chromium)
	body := []byte(scriptedPage)

	// open uploads body under key with the given Content-Type headers and opens it.
	open := func(t *testing.T, key string) (string, bool) {
		t.Helper()
		get := e.p.presign(t, aliceToken, map[string]any{"bucket": bucketUploads, "key": key, "expires_in": 300})
		return b.rendered(t, get.URL)
	}

	// The detector works: an allowed text/html upload does run its script.
	t.Run("control: text/html runs", func(t *testing.T) {
		key := "uploads/alice/control.html"
		put := e.p.presign(t, aliceToken, map[string]any{"bucket": bucketUploads, "key": key, "method": "PUT",
			"content_type": "text/html", "content_length": len(body), "expires_in": 300})
		if r := use(t, put.Method, put.URL, put.Headers, body); r.status != http.StatusOK {
			t.Fatalf("PUT: got %d %s", r.status, testenv.Clip(r.body))
		}
		if ct, ran := open(t, key); ct != "text/html" || !ran {
			t.Fatalf("text/html page: content type %q, script ran %v; the detector does not work", ct, ran)
		}
	})

	for i, ct := range []string{
		"image/png;x=,text/html",
		"image/png, text/html",
		"text/x,text/html",
		`image/png; x="a,text/html"`,
	} {
		t.Run("PUT "+ct, func(t *testing.T) {
			key := "uploads/alice/put-" + string(rune('a'+i))
			status, _, answer := e.p.post(t, aliceToken, "/v1/presign", map[string]any{"bucket": bucketUploads, "key": key,
				"method": "PUT", "content_type": ct, "content_length": len(body), "expires_in": 300})
			if status == http.StatusOK {
				var put presignResult
				if err := json.Unmarshal(answer, &put); err != nil {
					t.Fatal(err)
				}
				if r := use(t, put.Method, put.URL, put.Headers, body); r.status != http.StatusOK {
					t.Fatalf("presignd signed %q and S3 refused the PUT: %d %s", ct, r.status, testenv.Clip(r.body))
				}
				got, ran := open(t, key)
				t.Fatalf("presignd signed Content-Type %q under a grant for image/png and text/*; Chromium rendered it as %q, script ran: %v", ct, got, ran)
			}
			wantInvalidContentType(t, status, answer, "content_type")
		})
		t.Run("POST form "+ct, func(t *testing.T) {
			key := "uploads/alice/form-" + string(rune('a'+i))
			status, _, answer := e.p.post(t, aliceToken, "/v1/presign/post", map[string]any{"bucket": bucketUploads, "key": key,
				"content_type": ct, "expires_in": 300})
			if status == http.StatusOK {
				var f postResult
				if err := json.Unmarshal(answer, &f); err != nil {
					t.Fatal(err)
				}
				if r := postForm(t, f, nil, "x.html", body); r.status/100 != 2 {
					t.Fatalf("presignd signed %q and S3 refused the form: %d %s", ct, r.status, testenv.Clip(r.body))
				}
				got, ran := open(t, key)
				t.Fatalf("presignd signed a form for Content-Type %q under a grant for image/png and text/*; Chromium rendered it as %q, script ran: %v", ct, got, ran)
			}
			wantInvalidContentType(t, status, answer, "content_type")
		})
	}

	// What presignd does sign for an image renders as an image, whatever the bytes.
	t.Run("an image upload with HTML inside stays an image", func(t *testing.T) {
		key := "uploads/alice/image.png"
		put := e.p.presign(t, aliceToken, map[string]any{"bucket": bucketUploads, "key": key, "method": "PUT",
			"content_type": "image/png", "content_length": len(body), "expires_in": 300})
		if r := use(t, put.Method, put.URL, put.Headers, body); r.status != http.StatusOK {
			t.Fatalf("PUT: got %d %s", r.status, testenv.Clip(r.body))
		}
		if ct, ran := open(t, key); ct != "image/png" || ran {
			t.Errorf("image/png upload: Chromium rendered it as %q, script ran %v; want image/png, no script", ct, ran)
		}
	})
}

func wantInvalidContentType(t *testing.T, status int, body []byte, field string) {
	t.Helper()
	var pr problem
	_ = json.Unmarshal(body, &pr)
	if status != http.StatusBadRequest || pr.Code != "invalid_request" || !strings.Contains(pr.Detail, field) {
		t.Errorf("got %d %s, want 400 invalid_request naming %s", status, testenv.Clip(body), field)
	}
}

// TestAttackPostKeyEscapesPrefix: a POST policy for alice's prefix; the uploader
// fills the form's key with a "../" path. versitygw's posix backend resolves it, so a
// starts-with policy let the object land under another client's prefix. presignd now
// fixes the whole key, and S3 refuses any other.
func TestAttackPostKeyEscapesPrefix(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	f := e.form(t, aliceToken, map[string]any{"bucket": bucketUploads, "key_prefix": "uploads/alice/", "content_type": "image/png", "expires_in": 300})
	body := randomBytes(t, 512)
	for _, key := range []string{
		"uploads/alice/../bob/planted.png",
		"uploads/alice/./../../planted.png",
		"uploads/alice/%2e%2e/bob/planted.png",
		"uploads/alice/..%2fbob/planted.png",
		"uploads/alice/photos/chosen.png",
	} {
		t.Run(key, func(t *testing.T) {
			r := postForm(t, f, map[string]string{"key": key}, "x.png", body)
			if r.status/100 == 2 {
				t.Errorf("S3 stored the form under the uploader's key %q: %d", key, r.status)
			}
		})
	}
	for _, planted := range []string{"uploads/bob/planted.png", "planted.png", "uploads/planted.png", "uploads/alice/photos/chosen.png"} {
		e.wantNoObject(t, planted)
	}
	// The key presignd chose works, and is under the prefix.
	var key string
	if err := json.Unmarshal([]byte(`"`+f.Fields["key"]+`"`), &key); err != nil || !strings.HasPrefix(key, "uploads/alice/") || strings.Contains(key, "..") {
		t.Fatalf("form key field %q: want a key under uploads/alice/", f.Fields["key"])
	}
	if r := postForm(t, f, nil, "x.png", body); r.status/100 != 2 {
		t.Fatalf("form upload to the key presignd chose: got %d %s", r.status, testenv.Clip(r.body))
	}
	e.wantObject(t, aliceToken, key, body, "image/png")
}

// TestAttackPostFormExtraFields: the uploader adds form fields the policy does not
// name, to change how the object is stored or served (a second Content-Type, an
// inline disposition, a public ACL, metadata, a redirect). S3 refuses every field
// outside the policy, so the policy presignd signs is the whole of what can be set.
func TestAttackPostFormExtraFields(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	key := "uploads/alice/extra.png"
	for _, extra := range []map[string]string{
		{"Content-Type": "text/html"},
		{"Content-Disposition": "inline"},
		{"Cache-Control": "public, max-age=31536000"},
		{"x-amz-meta-owner": "mallory"},
		{"acl": "public-read"},
		{"success_action_redirect": "https://evil.example/"},
	} {
		f := e.form(t, aliceToken, map[string]any{"bucket": bucketUploads, "key": key, "content_type": "image/png", "expires_in": 300})
		r := postForm(t, f, extra, "x.png", []byte("png bytes"))
		if r.status != http.StatusForbidden {
			t.Errorf("form with %v: got %d %s, want 403 from S3", extra, r.status, testenv.Clip(r.body))
		}
	}
	e.wantNoObject(t, key)
}
