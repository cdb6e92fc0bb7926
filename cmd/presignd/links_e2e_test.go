package main

// End-to-end tests of object links: GET and HEAD /v1/objects/{bucket}/{key...} against
// a real versitygw, used with plain net/http clients as a browser or a dashboard would.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/presignd/presignd/client"
	"github.com/presignd/presignd/internal/testenv"
)

// noFollow is a client that shows a redirect instead of following it.
var noFollow = &http.Client{
	Timeout:       httpClient.Timeout,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// linkPath is the path of a link to bucket/key, each key segment escaped on its own,
// so that the key's slashes stay path separators.
func linkPath(bucket, key string) string {
	segments := strings.Split(key, "/")
	for i, s := range segments {
		segments[i] = url.PathEscape(s)
	}
	return "/v1/objects/" + bucket + "/" + strings.Join(segments, "/")
}

// send sends method to rawURL with the bearer token ("" for none) through client.
func send(t testing.TB, client *http.Client, method, rawURL, token string) response {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		t.Fatalf("building %s %s: %v", method, rawURL, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, rawURL, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// redirect asks presignd for a link without following it, checks the 307 and
// returns the URL it points to.
func (e *e2eEnv) redirect(t testing.TB, method, path, token string) string {
	t.Helper()
	r := send(t, noFollow, method, e.p.URL+path, token)
	if r.status != http.StatusTemporaryRedirect {
		t.Fatalf("%s %s: got %d %s, want 307", method, path, r.status, testenv.Clip(r.body))
	}
	for name, want := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"} {
		if got := r.header.Get(name); got != want {
			t.Errorf("%s %s: %s: got %q, want %q", method, path, name, got, want)
		}
	}
	loc := r.header.Get("Location")
	if !strings.HasPrefix(loc, e.s3.Endpoint+"/") {
		t.Fatalf("%s %s: Location %q is not a URL of the S3 endpoint %s", method, path, loc, e.s3.Endpoint)
	}
	return loc
}

func TestE2ELinks(t *testing.T) {
	t.Parallel()
	e := newE2E(t)

	keys := map[string]string{
		"space":         "links/with space/and  two.txt",
		"plus":          "links/a+b=c&d.txt",
		"percent":       "links/100%25 %41 %.txt",
		"question mark": "links/what?.txt",
		"hash":          "links/#fragment.txt",
		"encoded slash": "links/a%2Fb.txt",
		"backslash":     `links/back\slash.txt`,
		"quotes":        `links/it's "quoted".txt`,
		"non-ASCII":     "links/Bericht März/日本語 😀.txt",
		"NFD":           "links/cafe\u0301.txt",
		"1024 bytes":    longKey(),
	}
	for name, key := range keys {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body := []byte("link content of " + key)
			e.upload(t, bucketMain, key, body)

			// Slashes as they are, and every slash as %2F: the same key.
			for _, path := range []string{linkPath(bucketMain, key), "/v1/objects/" + bucketMain + "/" + url.PathEscape(key)} {
				loc := e.redirect(t, http.MethodGet, path, appToken)
				got := send(t, httpClient, http.MethodGet, loc, "")
				if got.status != http.StatusOK || !bytes.Equal(got.body, body) {
					t.Errorf("GET on the Location of %s: got %d %q, want 200 %q", path, got.status, testenv.Clip(got.body), body)
				}
			}

			loc := e.redirect(t, http.MethodHead, linkPath(bucketMain, key), appToken)
			head := send(t, httpClient, http.MethodHead, loc, "")
			if head.status != http.StatusOK || head.header.Get("Content-Length") != strconv.Itoa(len(body)) {
				t.Errorf("HEAD on the Location: got %d Content-Length %q, want 200 %d", head.status, head.header.Get("Content-Length"), len(body))
			}
		})
	}

	t.Run("followed by a client", func(t *testing.T) {
		t.Parallel()
		body := []byte("followed")
		key := "links/follow me.txt"
		e.upload(t, bucketMain, key, body)
		// Through localhost, so that presignd and S3 are different hosts as they are in
		// deployments: net/http then drops the Authorization header on the redirect,
		// as browsers drop credentials.
		base := strings.Replace(e.p.URL, "127.0.0.1", "localhost", 1)
		get := send(t, http.DefaultClient, http.MethodGet, base+linkPath(bucketMain, key), appToken)
		if get.status != http.StatusOK || !bytes.Equal(get.body, body) {
			t.Errorf("GET following the redirect: got %d %q, want 200 %q", get.status, testenv.Clip(get.body), body)
		}
		head := send(t, http.DefaultClient, http.MethodHead, base+linkPath(bucketMain, key), appToken)
		if head.status != http.StatusOK || head.header.Get("Content-Length") != strconv.Itoa(len(body)) {
			t.Errorf("HEAD following the redirect: got %d Content-Length %q, want 200 %d", head.status, head.header.Get("Content-Length"), len(body))
		}
	})

	t.Run("download_filename, expires_in and version_id", func(t *testing.T) {
		t.Parallel()
		key := "links/report.bin"
		e.upload(t, bucketMain, key, []byte("report"))
		q := url.Values{"download_filename": {"Bericht März 2026.pdf"}, "expires_in": {"60"}}
		loc := e.redirect(t, http.MethodGet, linkPath(bucketMain, key)+"?"+q.Encode(), appToken)
		if got := mustParse(t, loc).Query().Get("X-Amz-Expires"); got != "60" {
			t.Errorf("X-Amz-Expires: got %q, want 60", got)
		}
		got := send(t, httpClient, http.MethodGet, loc, "")
		want := `attachment; filename="Bericht M_rz 2026.pdf"; filename*=UTF-8''Bericht%20M%C3%A4rz%202026.pdf`
		if got.status != http.StatusOK || got.header.Get("Content-Disposition") != want {
			t.Errorf("GET: got %d Content-Disposition %q, want 200 %q", got.status, got.header.Get("Content-Disposition"), want)
		}
		if d := mustParse(t, e.redirect(t, http.MethodGet, linkPath(bucketMain, key), appToken)).Query().Get("X-Amz-Expires"); d != "300" {
			t.Errorf("default X-Amz-Expires: got %q, want 300", d)
		}

		vkey := "links/versioned.txt"
		v1 := e.upload(t, bucketVersioned, vkey, []byte("first"))
		e.upload(t, bucketVersioned, vkey, []byte("second"))
		id1 := v1.header.Get("X-Amz-Version-Id")
		loc = e.redirect(t, http.MethodGet, linkPath(bucketVersioned, vkey)+"?version_id="+url.QueryEscape(id1), appToken)
		if got := send(t, httpClient, http.MethodGet, loc, ""); got.status != http.StatusOK || string(got.body) != "first" {
			t.Errorf("GET version %s: got %d %q, want 200 first", id1, got.status, testenv.Clip(got.body))
		}
	})

	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		e.upload(t, bucketMain, "uploads/uploader/x.txt", []byte("x"))
		for _, c := range []struct {
			name, method, path, token string
			status                    int
			code, reason              string
		}{
			{"bucket without a grant", http.MethodGet, linkPath(bucketOther, "x.txt"), appToken, 403, "forbidden", "bucket_not_allowed"},
			{"GET not granted", http.MethodGet, linkPath(bucketMain, "uploads/uploader/x.txt"), uploaderToken, 403, "forbidden", "method_not_allowed"},
			{"no token", http.MethodGet, linkPath(bucketMain, "links/report.bin"), "", 401, "unauthenticated", "missing"},
			{"host in the query", http.MethodGet, linkPath(bucketMain, "x.txt") + "?redirect=https://evil.example", appToken, 400, "invalid_request", ""},
			{"dot segment", http.MethodGet, "/v1/objects/" + bucketMain + "/links/%2E%2E/x", appToken, 400, "invalid_key", ""},
			{"HEAD not granted", http.MethodHead, linkPath(bucketMain, "uploads/uploader/x.txt"), uploaderToken, 403, "", ""},
		} {
			r := send(t, noFollow, c.method, e.p.URL+c.path, c.token)
			if r.status != c.status || r.header.Get("Location") != "" {
				t.Errorf("%s: got %d with Location %q, want %d and none", c.name, r.status, r.header.Get("Location"), c.status)
				continue
			}
			if c.method == http.MethodHead {
				continue
			}
			var pr problem
			if err := json.Unmarshal(r.body, &pr); err != nil || r.header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: the answer is not a problem: %v %s", c.name, err, r.body)
			}
			if pr.Code != c.code || pr.Reason != c.reason {
				t.Errorf("%s: got %s %s (%s), want %s %s", c.name, pr.Code, pr.Reason, pr.Detail, c.code, c.reason)
			}
		}
	})

	t.Run("whoami", func(t *testing.T) {
		t.Parallel()
		// Through the Go client, as a program would ask.
		w, err := client.New(e.p.URL, client.StaticToken(uploaderToken), client.WithHTTPClient(httpClient)).Whoami(t.Context())
		if err != nil {
			t.Fatalf("Whoami: %v", err)
		}
		if w.Client != "uploader" || w.Principal.Kind != "token" || len(w.Grants) != 1 ||
			w.Grants[0].Prefixes[0] != "uploads/uploader/" || w.MaxExpiresIn != 604800 {
			t.Errorf("whoami: got %+v", w)
		}
	})
}

// TestE2ELinksAudited: each link is one audit line of operation link with the
// principal, and the log never holds the URL it redirected to.
func TestE2ELinksAudited(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.upload(t, bucketMain, "audited/a.txt", []byte("a"))
	loc := e.redirect(t, http.MethodGet, linkPath(bucketMain, "audited/a.txt"), appToken)
	send(t, noFollow, http.MethodGet, e.p.URL+linkPath(bucketOther, "audited/a.txt"), appToken)

	var links []map[string]any
	for _, l := range e.p.LogLines(t) {
		if l["msg"] == "presign" && l["operation"] == "link" {
			links = append(links, l)
		}
	}
	if len(links) != 2 {
		t.Fatalf("got %d audit lines of operation link, want 2: %v", len(links), links)
	}
	for i, want := range []map[string]any{
		{"client": "app", "principal": "token", "subject": "app", "bucket": bucketMain, "key": "audited/a.txt", "method": "GET", "outcome": "issued", "expires_in": 300.0},
		{"client": "app", "principal": "token", "subject": "app", "bucket": bucketOther, "outcome": "denied", "reason": "bucket_not_allowed"},
	} {
		for k, v := range want {
			if links[i][k] != v {
				t.Errorf("audit line %d: %s: got %v, want %v", i, k, links[i][k], v)
			}
		}
	}
	if strings.Contains(e.p.Logs(), loc) || strings.Contains(e.p.Logs(), mustParse(t, loc).Query().Get("X-Amz-Signature")) {
		t.Error("the log holds the URL a link redirected to")
	}
}
