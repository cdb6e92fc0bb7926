package api_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/presignd/presignd/internal/api"
	"github.com/presignd/presignd/internal/signer"
	"github.com/presignd/presignd/internal/testenv"
)

// smuggledTypes are content types that a browser can read as another type than the
// one a grant checks, or that are not one media type at all. The reports client's
// upload grant allows image/png and text/*.
var smuggledTypes = []string{
	"image/png;x=,text/html",
	"image/png, text/html",
	"text/x,text/html",
	"text/plain,text/html",
	`image/png; x="a,text/html"`,
	`image/png; x="a\"b"`,
	"image/png;",
	"image/png; x",
	"image/png text/html",
	"image/png/x",
	" image/png",
	"text/*",
	"*/*",
	"unknown/unknown",
}

// TestContentTypeSmugglingOnEveryRoute: every route that takes a content type parses
// it as one media type and refuses anything else as invalid_request naming the field,
// before any grant is consulted.
func TestContentTypeSmugglingOnEveryRoute(t *testing.T) {
	s3 := &fakeS3{}
	f := newFixture(t, fixtureOptions{wrap: func(p api.Presigner) api.Presigner { s3.Presigner = p; return s3 }})
	routes := []struct {
		name, path, field string
		body              func(ct string) string
	}{
		{"presign PUT", "/v1/presign", "content_type", func(ct string) string {
			return `{"bucket":"media","key":"uploads/a.png","method":"PUT","content_length":10,"content_type":` + quote(ct) + `}`
		}},
		{"presign GET response type", "/v1/presign", "response_content_type", func(ct string) string {
			return `{"bucket":"media","key":"reports/a","response_content_type":` + quote(ct) + `}`
		}},
		{"POST policy", "/v1/presign/post", "content_type", func(ct string) string {
			return `{"bucket":"media","key":"uploads/a.png","content_type":` + quote(ct) + `}`
		}},
		{"multipart create", "/v1/multipart/create", "content_type", func(ct string) string {
			return `{"bucket":"media","key":"uploads/a.png","content_length":10,"content_type":` + quote(ct) + `}`
		}},
		{"explain", "/v1/explain", "content_type", func(ct string) string {
			return `{"bucket":"media","key":"uploads/a.png","method":"PUT","content_length":10,"content_type":` + quote(ct) + `}`
		}},
	}
	for _, rt := range routes {
		for _, ct := range smuggledTypes {
			t.Run(rt.name+" "+ct, func(t *testing.T) {
				r := f.postTo(t, rt.path, reportsToken, rt.body(ct))
				if r.status != 400 || r.problem.Code != "invalid_request" || !strings.Contains(r.problem.Detail, rt.field) {
					t.Fatalf("got %d %q %q, want 400 invalid_request naming %s", r.status, r.problem.Code, r.problem.Detail, rt.field)
				}
			})
		}
	}

	t.Run("batch items", func(t *testing.T) {
		items := make([]string, len(smuggledTypes))
		for i, ct := range smuggledTypes {
			items[i] = routes[0].body(ct)
		}
		r := f.postTo(t, "/v1/presign/batch", reportsToken, `{"requests":[`+strings.Join(items, ",")+`]}`)
		var got answer
		if err := json.Unmarshal(r.body, &got); err != nil || len(got.Results) != len(smuggledTypes) {
			t.Fatalf("got %d %s", r.status, testenv.Clip(r.body))
		}
		for i, raw := range got.Results {
			if !strings.Contains(string(raw), `"code":"invalid_request"`) {
				t.Errorf("item %d (%q): got %s, want invalid_request", i, smuggledTypes[i], raw)
			}
		}
	})

	t.Run("what was checked is what is signed", func(t *testing.T) {
		r := f.post(t, reportsToken, `{"bucket":"media","key":"uploads/a.txt","method":"PUT","content_length":10,"content_type":"TEXT/Plain; charset=\"utf-8\""}`)
		if r.status != 200 || r.presigned.Headers["Content-Type"] != `TEXT/Plain; charset="utf-8"` {
			t.Fatalf("got %d %s, want the type signed as given", r.status, testenv.Clip(r.body))
		}
		if r := f.post(t, reportsToken, `{"bucket":"media","key":"uploads/a.svg","method":"PUT","content_length":10,"content_type":"image/svg+xml"}`); r.problem.Reason != "content_type_not_allowed" {
			t.Errorf("image/svg+xml under image/png and text/*: got %d %s, want content_type_not_allowed", r.status, testenv.Clip(r.body))
		}
	})

	t.Run("content_type_prefix is refused", func(t *testing.T) {
		for _, body := range []string{
			`{"bucket":"media","key":"uploads/a.png","content_type_prefix":"image/"}`,
			`{"bucket":"media","key":"drop/a","content_type_prefix":"text/"}`,
			`{"bucket":"media","key":"drop/a","content_type_prefix":""}`,
		} {
			r := f.postTo(t, "/v1/presign/post", reportsToken, body)
			if r.status != 400 || r.problem.Code != "invalid_request" || !strings.Contains(r.problem.Detail, "content_type_prefix") {
				t.Errorf("%s: got %d %s, want 400 invalid_request naming content_type_prefix", body, r.status, testenv.Clip(r.body))
			}
		}
	})
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestPostPolicyFixesTheKey: a POST policy never lets the uploader choose the key.
// With key_prefix, presignd names the object under the prefix and returns the name;
// the policy holds the form's key to it exactly.
func TestPostPolicyFixesTheKey(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	type postAnswer struct {
		Key    string            `json:"key"`
		Fields map[string]string `json:"fields"`
	}
	post := func(t *testing.T, body string) (postAnswer, result) {
		t.Helper()
		r := f.postTo(t, "/v1/presign/post", reportsToken, body)
		var got postAnswer
		if r.status == 200 {
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
		}
		return got, r
	}
	conditions := func(t *testing.T, policy string) []any {
		t.Helper()
		raw, err := base64.StdEncoding.DecodeString(policy)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ Conditions []any }
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		return doc.Conditions
	}

	seen := map[string]bool{}
	for _, tc := range []struct{ name, body, wantSuffix string }{
		{"prefix only", `{"bucket":"media","key_prefix":"drop/u-1/"}`, ""},
		{"prefix and filename", `{"bucket":"media","key_prefix":"drop/u-1/","filename":"Quarterly report (final).pdf"}`, "/Quarterly report (final).pdf"},
		{"prefix without a slash", `{"bucket":"media","key_prefix":"drop/u-1-"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, r := post(t, tc.body)
			if r.status != 200 {
				t.Fatalf("got %d %s", r.status, testenv.Clip(r.body))
			}
			var prefix string
			_ = json.Unmarshal([]byte(strings.Replace(tc.body, `"key_prefix"`, `"p"`, 1)), &struct {
				P *string `json:"p"`
			}{&prefix})
			name := strings.TrimSuffix(strings.TrimPrefix(got.Key, prefix), tc.wantSuffix)
			if !strings.HasPrefix(got.Key, prefix) || !strings.HasSuffix(got.Key, tc.wantSuffix) || len(name) != 26 || strings.ContainsAny(name, "/.") {
				t.Fatalf("key %q: want %q + 26 random characters + %q", got.Key, prefix, tc.wantSuffix)
			}
			if seen[name] {
				t.Errorf("name %q handed out twice", name)
			}
			seen[name] = true
			if got.Fields["key"] != got.Key {
				t.Errorf("form key field %q, want the returned key %q", got.Fields["key"], got.Key)
			}
			var exact bool
			for _, c := range conditions(t, got.Fields["policy"]) {
				s := fmt.Sprint(c)
				if strings.Contains(s, "starts-with") {
					t.Errorf("the policy has a starts-with condition %s", s)
				}
				if m, ok := c.(map[string]any); ok && m["key"] == got.Key {
					exact = true
				}
			}
			if !exact {
				t.Errorf("the policy does not hold the key to %q", got.Key)
			}
			if len(r.audit) != 1 || r.audit[0].str("key") != got.Key {
				t.Errorf("audit: got %v, want the key that was signed", r.audit)
			}
		})
	}

	for _, tc := range []struct{ name, body, code, field string }{
		{"filename with a slash", `{"bucket":"media","key_prefix":"drop/","filename":"../other/x"}`, "invalid_request", "filename"},
		{"filename ..", `{"bucket":"media","key_prefix":"drop/","filename":".."}`, "invalid_request", "filename"},
		{"filename .", `{"bucket":"media","key_prefix":"drop/","filename":"."}`, "invalid_request", "filename"},
		{"empty filename", `{"bucket":"media","key_prefix":"drop/","filename":""}`, "invalid_request", "filename"},
		{"filename with a control character", `{"bucket":"media","key_prefix":"drop/","filename":"a\u0007b"}`, "invalid_key", ""},
		{"filename without key_prefix", `{"bucket":"media","key":"drop/a","filename":"b"}`, "invalid_request", "filename"},
		{"prefix with a dot segment", `{"bucket":"media","key_prefix":"drop/../"}`, "invalid_key", ""},
		{"prefix outside the grants", `{"bucket":"media","key_prefix":"secret/"}`, "forbidden", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, r := post(t, tc.body)
			if r.problem.Code != tc.code || !strings.Contains(r.problem.Detail, tc.field) {
				t.Errorf("got %d %s, want %s naming %q", r.status, testenv.Clip(r.body), tc.code, tc.field)
			}
		})
	}
}

// TestRealRoutesCountTheirNotFound: a 404 answered by a real route (an upload S3 no
// longer holds) is counted under that route's pattern; only unknown paths are
// "unmatched". Operations that sign no URL log no lifetime.
func TestRealRoutesCountTheirNotFound(t *testing.T) {
	s3 := &fakeS3{}
	f := newFixture(t, fixtureOptions{wrap: func(p api.Presigner) api.Presigner { s3.Presigner = p; return s3 }})
	r := f.postTo(t, "/v1/multipart/create", reportsToken, `{"bucket":"media","key":"drop/big.bin"}`)
	var got answer
	if err := json.Unmarshal(r.body, &got); err != nil || r.status != 200 {
		t.Fatalf("create: got %d %s", r.status, testenv.Clip(r.body))
	}
	if len(r.audit) != 1 || r.audit[0].num("expires_in") != 0 || r.audit[0].num("requested_ttl") != 0 {
		t.Errorf("create audit: got %v, want expires_in and requested_ttl 0 (nothing is signed)", r.audit)
	}
	s3.set(nil, &signer.S3Error{Op: "AbortMultipartUpload", Code: "NoSuchUpload", Message: "gone", Status: 404})
	r = f.postTo(t, "/v1/multipart/abort", reportsToken, `{"bucket":"media","key":"drop/big.bin","upload_id":`+quote(got.UploadID)+`}`)
	if r.status != 404 || r.problem.Code != "upload_not_found" {
		t.Fatalf("abort: got %d %s, want 404 upload_not_found", r.status, testenv.Clip(r.body))
	}
	if r := f.postTo(t, "/v1/no/such/route", reportsToken, `{}`); r.status != 404 {
		t.Fatalf("unknown route: got %d", r.status)
	}
	metrics := string(f.get(t, "/metrics").body)
	for _, want := range []string{
		`presignd_http_requests_total{code="404",route="/v1/multipart/abort"} 1`,
		`presignd_http_requests_total{code="404",route="unmatched"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
