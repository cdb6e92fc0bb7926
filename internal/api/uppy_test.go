package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/presignd/presignd/internal/api"
	"github.com/presignd/presignd/internal/signer"
)

// The reports client's upload location in testdata/config.yaml, expanded.
const uppyPrefix = "big/reports/widget/"

type uppySigned struct {
	URL     string            `json:"url"`
	Key     string            `json:"key"`
	Headers map[string]string `json:"headers"`
	Fields  map[string]string `json:"fields"`
}

// uppyProblem is an error of an Uppy route: a problem document with a message.
func wantUppyProblem(t *testing.T, r result, status int, code, reason string) {
	t.Helper()
	var p struct {
		Code, Reason, Detail, Message string
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
	if r.status != status || p.Code != code || p.Reason != reason {
		t.Fatalf("got %d %q %q (%s), want %d %q %q", r.status, p.Code, p.Reason, p.Detail, status, code, reason)
	}
	if p.Message == "" || p.Message != p.Detail {
		t.Errorf("message: got %q, want the detail %q, which Uppy shows", p.Message, p.Detail)
	}
}

// policyOf decodes a POST policy's conditions.
func policyOf(t *testing.T, fields map[string]string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(fields["policy"])
	if err != nil {
		t.Fatalf("policy is not base64: %v", err)
	}
	return string(b)
}

func TestUppySignPutObject(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	tests := []struct {
		name, key, wantKey string
	}{
		{"uppy's default key", "0d6c1e5e-1c2b-4b43-9a55-3a7a2c7a1f00-clip.mp4", uppyPrefix + "0d6c1e5e-1c2b-4b43-9a55-3a7a2c7a1f00-clip.mp4"},
		{"dot dot cannot leave the prefix", "../../../reports/secret.mp4", uppyPrefix + "reports/secret.mp4"},
		{"a leading slash", "/big/other/x.mp4", uppyPrefix + "big/other/x.mp4"},
		{"control characters", "a\u0000b.mp4", uppyPrefix + "a_b.mp4"},
		{"awkward but legal", "Grüße (1) + =.mp4", uppyPrefix + "Grüße (1) + =.mp4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"method": "PUT", "key": tt.key, "contentType": "video/mp4", "expiresIn": 600})
			r := f.postTo(t, "/v1/uppy/sign", reportsToken, string(body))
			got := decodeOK[uppySigned](t, r)
			if got.Key != tt.wantKey || got.Fields["key"] != tt.wantKey {
				t.Errorf("key: got %q (fields.key %q), want %q", got.Key, got.Fields["key"], tt.wantKey)
			}
			if got.Fields["Content-Type"] != "video/mp4" {
				t.Errorf("fields Content-Type: got %q, want video/mp4", got.Fields["Content-Type"])
			}
			pol := policyOf(t, got.Fields)
			// The grant's 100 GiB, capped at the 5 GiB a POST upload may carry.
			if !strings.Contains(pol, `["content-length-range",0,5368709120]`) || !strings.Contains(pol, `{"Content-Type":"video/mp4"}`) {
				t.Errorf("policy %s does not hold the upload to 5 GiB and video/mp4", pol)
			}
			if len(r.audit) != 1 || r.audit[0].str("operation") != "uppy_sign" || r.audit[0].str("key") != tt.wantKey || r.audit[0].str("outcome") != "issued" {
				t.Errorf("audit: got %v, want one issued uppy_sign line for the placed key", r.audit)
			}
		})
	}
}

func TestUppySignErrors(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	tests := []struct {
		name, token, body string
		status            int
		code, reason      string
	}{
		{"no token", "", `{"method":"PUT","key":"a.mp4"}`, 401, "unauthenticated", "missing"},
		{"type outside the grant", reportsToken, `{"method":"PUT","key":"a.html","contentType":"text/html"}`, 403, "forbidden", "content_type_not_allowed"},
		{"no type under a typed grant", reportsToken, `{"method":"PUT","key":"a.mp4"}`, 403, "forbidden", "content_type_required"},
		{"a client without an upload location", limitedToken, `{"method":"PUT","key":"a.mp4","contentType":"video/mp4"}`, 403, "forbidden", "no_upload_location"},
		{"create multipart", reportsToken, `{"method":"POST","key":"a.mp4"}`, 422, "multipart_not_offered", ""},
		{"upload part", reportsToken, `{"method":"PUT","key":"big/reports/widget/a.mp4","uploadId":"x","partNumber":1}`, 422, "multipart_not_offered", ""},
		{"list parts", reportsToken, `{"method":"GET","key":"big/reports/widget/a.mp4","uploadId":"x"}`, 422, "multipart_not_offered", ""},
		{"complete", reportsToken, `{"method":"POST","key":"big/reports/widget/a.mp4","uploadId":"x"}`, 422, "multipart_not_offered", ""},
		{"abort", reportsToken, `{"method":"DELETE","key":"big/reports/widget/a.mp4","uploadId":"x"}`, 422, "multipart_not_offered", ""},
		{"delete object", reportsToken, `{"method":"DELETE","key":"a.mp4"}`, 400, "invalid_method", ""},
		{"get without uploadId", reportsToken, `{"method":"GET","key":"a.mp4"}`, 400, "invalid_request", ""},
		{"unknown method", reportsToken, `{"method":"PATCH","key":"a.mp4"}`, 400, "invalid_method", ""},
		{"method missing", reportsToken, `{"key":"a.mp4"}`, 400, "invalid_request", ""},
		{"key missing", reportsToken, `{"method":"PUT"}`, 400, "invalid_request", ""},
		{"key with no name", reportsToken, `{"method":"PUT","key":"../..","contentType":"video/mp4"}`, 400, "invalid_key", ""},
		{"key not UTF-8", reportsToken, `{"method":"PUT","key":"a\udc00.mp4","contentType":"video/mp4"}`, 400, "invalid_key", ""},
		{"expiresIn zero", reportsToken, `{"method":"PUT","key":"a.mp4","expiresIn":0}`, 400, "invalid_expires_in", ""},
		{"unknown field", reportsToken, `{"method":"PUT","key":"a.mp4","bucket":"other"}`, 400, "invalid_request", ""},
		{"a content type that is two", reportsToken, `{"method":"PUT","key":"a.mp4","contentType":"video/mp4,text/html"}`, 400, "invalid_request", ""},
		{"body too large", reportsToken, `{"method":"PUT","key":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "payload_too_large", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.postTo(t, "/v1/uppy/sign", tt.token, tt.body)
			wantUppyProblem(t, r, tt.status, tt.code, tt.reason)
		})
	}
	t.Run("multipart_not_offered says what to do", func(t *testing.T) {
		r := f.postTo(t, "/v1/uppy/sign", reportsToken, `{"method":"POST","key":"a.mp4"}`)
		if !strings.Contains(r.problem.Detail, "shouldUseMultipart: false") {
			t.Errorf("detail %q does not name shouldUseMultipart: false", r.problem.Detail)
		}
	})
}

func TestUppyCompanionParams(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	r := f.do(t, f.request(t, http.MethodGet, "/v1/uppy/s3/params?filename="+url.QueryEscape("../x/clip.mp4")+"&type=video%2Fmp4&metadata%5Bname%5D=clip.mp4", reportsToken, nil), nil)
	got := decodeOK[struct {
		Method  string            `json:"method"`
		URL     string            `json:"url"`
		Fields  map[string]string `json:"fields"`
		Headers map[string]string `json:"headers"`
	}](t, r)
	if got.Method != "POST" || got.Fields["key"] != uppyPrefix+"x/clip.mp4" || got.Fields["Content-Type"] != "video/mp4" {
		t.Errorf("got %s key %q type %q, want POST %q video/mp4", got.Method, got.Fields["key"], got.Fields["Content-Type"], uppyPrefix+"x/clip.mp4")
	}
	if !strings.Contains(policyOf(t, got.Fields), "content-length-range") {
		t.Error("the policy has no content-length-range")
	}
	for name, tt := range map[string]struct {
		query, token string
		status       int
		code, reason string
	}{
		"no filename":    {"type=video%2Fmp4", reportsToken, 400, "invalid_request", ""},
		"wrong type":     {"filename=a.html&type=text%2Fhtml", reportsToken, 403, "forbidden", "content_type_not_allowed"},
		"no token":       {"filename=a.mp4&type=video%2Fmp4", "", 401, "unauthenticated", "missing"},
		"no location":    {"filename=a.mp4&type=video%2Fmp4", limitedToken, 403, "forbidden", "no_upload_location"},
		"no name in it":  {"filename=..%2F.&type=video%2Fmp4", reportsToken, 400, "invalid_key", ""},
		"a mangled type": {"filename=a.mp4&type=video%2Fmp4%3B%3B", reportsToken, 400, "invalid_request", ""},
	} {
		t.Run(name, func(t *testing.T) {
			r := f.do(t, f.request(t, http.MethodGet, "/v1/uppy/s3/params?"+tt.query, tt.token, nil), nil)
			wantUppyProblem(t, r, tt.status, tt.code, tt.reason)
		})
	}
}

type uppyCreated struct {
	Key      string `json:"key"`
	UploadID string `json:"uploadId"`
	Bucket   string `json:"bucket"`
}

func TestUppyCompanionMultipart(t *testing.T) {
	s3 := &fakeS3{}
	f := newFixture(t, fixtureOptions{wrap: func(p api.Presigner) api.Presigner { s3.Presigner = p; return s3 }})
	created := decodeOK[uppyCreated](t, f.postTo(t, "/v1/uppy/s3/multipart", reportsToken,
		`{"filename":"../clip.mp4","type":"video/mp4","metadata":{"name":"clip.mp4","type":"video/mp4","relativePath":null,"size":12582917}}`))
	if created.Key != uppyPrefix+"clip.mp4" || created.Bucket != "media" || created.UploadID == "" {
		t.Fatalf("got %+v, want the placed key %q in media", created, uppyPrefix+"clip.mp4")
	}
	base := "/v1/uppy/s3/multipart/" + url.PathEscape(created.UploadID)
	q := "?key=" + url.QueryEscape(created.Key)

	// Uppy cuts 12 MiB + 5 into 5 MiB parts: the URLs sign exactly those sizes.
	part := func(n string) *url.URL {
		got := decodeOK[struct {
			URL     string `json:"url"`
			Expires int64  `json:"expires"`
		}](t, f.do(t, f.request(t, http.MethodGet, base+"/"+n+q, reportsToken, nil), nil))
		u, err := url.Parse(got.URL)
		if err != nil || got.Expires < 1 {
			t.Fatalf("part %s: url %q expires %d", n, got.URL, got.Expires)
		}
		return u
	}
	if u := part("3"); u.Query().Get("partNumber") != "3" || !strings.Contains(u.Query().Get("X-Amz-SignedHeaders"), "content-length") {
		t.Errorf("part 3 URL %s does not sign its Content-Length", u.Redacted())
	}
	batch := decodeOK[struct {
		PresignedURLs map[string]string `json:"presignedUrls"`
	}](t, f.do(t, f.request(t, http.MethodGet, base+"/batch"+q+"&partNumbers=1,2", reportsToken, nil), nil))
	if len(batch.PresignedURLs) != 2 || batch.PresignedURLs["1"] == "" || batch.PresignedURLs["2"] == "" {
		t.Errorf("batch: got %v, want URLs for parts 1 and 2", batch.PresignedURLs)
	}

	s3.set([]signer.Part{{Number: 1, ETag: `"e1"`, Size: 5 * mib}, {Number: 2, ETag: `"e2"`, Size: 5 * mib}, {Number: 3, ETag: `"e3"`, Size: 2*mib + 5}}, nil)
	list := decodeOK[[]struct {
		PartNumber int32
		ETag       string
		Size       int64
	}](t, f.do(t, f.request(t, http.MethodGet, base+q, reportsToken, nil), nil))
	if len(list) != 3 || list[2].PartNumber != 3 || list[2].Size != 2*mib+5 {
		t.Errorf("list: got %+v, want the three parts S3 holds", list)
	}
	done := decodeOK[struct {
		Location, Bucket, Key string
	}](t, f.postTo(t, base+"/complete"+q, reportsToken, `{"parts":[{"PartNumber":1,"ETag":"e1"},{"PartNumber":2,"ETag":"e2"},{"PartNumber":3,"ETag":"e3"}]}`))
	if done.Key != created.Key || done.Location != "/v1/objects/media/big/reports/widget/clip.mp4" {
		t.Errorf("complete: got %+v", done)
	}
	r := f.do(t, f.request(t, http.MethodDelete, base+q, reportsToken, nil), nil)
	if r.status != 200 || strings.TrimSpace(string(r.body)) != "{}" {
		t.Errorf("abort: got %d %s, want 200 {}", r.status, r.body)
	}
}

func TestUppyCompanionMultipartErrors(t *testing.T) {
	s3 := &fakeS3{}
	f := newFixture(t, fixtureOptions{wrap: func(p api.Presigner) api.Presigner { s3.Presigner = p; return s3 }})
	created := decodeOK[uppyCreated](t, f.postTo(t, "/v1/uppy/s3/multipart", reportsToken,
		`{"filename":"clip.mp4","type":"video/mp4","metadata":{"size":"6291456"}}`))
	base := "/v1/uppy/s3/multipart/" + url.PathEscape(created.UploadID)
	q := "?key=" + url.QueryEscape(created.Key)
	get := func(path, token string) result {
		return f.do(t, f.request(t, http.MethodGet, path, token, nil), nil)
	}

	t.Run("create", func(t *testing.T) {
		for name, tt := range map[string]struct {
			body, token  string
			status       int
			code, reason string
		}{
			"no size under a size-limited grant": {`{"filename":"a.mp4","type":"video/mp4","metadata":{}}`, reportsToken, 403, "forbidden", "content_length_required"},
			"over the grant":                     {`{"filename":"a.mp4","type":"video/mp4","metadata":{"size":107374182401}}`, reportsToken, 403, "forbidden", "content_length_too_large"},
			"wrong type":                         {`{"filename":"a.html","type":"text/html","metadata":{"size":6291456}}`, reportsToken, 403, "forbidden", "content_type_not_allowed"},
			"below 5 MiB":                        {`{"filename":"a.mp4","type":"video/mp4","metadata":{"size":1000}}`, reportsToken, 400, "invalid_request", ""},
			"size not a number":                  {`{"filename":"a.mp4","type":"video/mp4","metadata":{"size":"big"}}`, reportsToken, 400, "invalid_request", ""},
			"no filename":                        {`{"type":"video/mp4"}`, reportsToken, 400, "invalid_request", ""},
			"no token":                           {`{"filename":"a.mp4"}`, "", 401, "unauthenticated", "missing"},
		} {
			t.Run(name, func(t *testing.T) {
				wantUppyProblem(t, f.postTo(t, "/v1/uppy/s3/multipart", tt.token, tt.body), tt.status, tt.code, tt.reason)
			})
		}
		r := f.postTo(t, "/v1/uppy/s3/multipart", reportsToken, `{"filename":"a.mp4","type":"video/mp4"}`)
		if !strings.Contains(r.problem.Detail, "setFileMeta") {
			t.Errorf("detail %q does not say how to declare the size", r.problem.Detail)
		}
	})
	t.Run("parts", func(t *testing.T) {
		wantUppyProblem(t, get(base+"/3"+q, reportsToken), 400, "invalid_request", "")                                // 6 MiB is two parts
		wantUppyProblem(t, get(base+"/x"+q, reportsToken), 400, "invalid_request", "")                                // not a number
		wantUppyProblem(t, get(base+"/1", reportsToken), 400, "invalid_request", "")                                  // no key
		wantUppyProblem(t, get(base+"/1?key=big/reports/widget/other.mp4", reportsToken), 400, "invalid_request", "") // another key
		wantUppyProblem(t, get(base+"/1?key=reports/x.mp4", reportsToken), 403, "forbidden", "prefix_not_allowed")    // outside the location
		wantUppyProblem(t, get("/v1/uppy/s3/multipart/forged/1"+q, reportsToken), 400, "invalid_request", "")
		wantUppyProblem(t, get(base+"/batch"+q, reportsToken), 400, "invalid_request", "")
		wantUppyProblem(t, get(base+"/batch"+q+"&partNumbers=1,,2", reportsToken), 400, "invalid_request", "")
		wantUppyProblem(t, get(base+"/1"+q, limitedToken), 403, "forbidden", "no_upload_location")
	})
	t.Run("complete over the declared size aborts", func(t *testing.T) {
		s3.set([]signer.Part{{Number: 1, ETag: `"e1"`, Size: 5 * mib}, {Number: 2, ETag: `"e2"`, Size: 2 * mib}}, nil)
		r := f.postTo(t, base+"/complete"+q, reportsToken, `{"parts":[{"PartNumber":1,"ETag":"e1"},{"PartNumber":2,"ETag":"e2"}]}`)
		wantUppyProblem(t, r, 403, "forbidden", "content_length_too_large")
		if s3.aborted == 0 {
			t.Error("the oversized upload was not aborted")
		}
	})
	t.Run("complete with a part S3 does not hold", func(t *testing.T) {
		s3.set([]signer.Part{{Number: 1, ETag: `"e1"`, Size: 5 * mib}}, nil)
		wantUppyProblem(t, f.postTo(t, base+"/complete"+q, reportsToken, `{"parts":[{"PartNumber":2,"ETag":"e2"}]}`), 400, "invalid_request", "")
		wantUppyProblem(t, f.postTo(t, base+"/complete"+q, reportsToken, `{"parts":[],"extra":1}`), 400, "invalid_request", "")
	})
	t.Run("S3 lost the upload", func(t *testing.T) {
		s3.set(nil, &signer.S3Error{Op: "ListParts", Code: "NoSuchUpload", Status: 404})
		wantUppyProblem(t, get(base+q, reportsToken), 404, "upload_not_found", "")
		r := f.do(t, f.request(t, http.MethodDelete, base+q, reportsToken, nil), nil)
		wantUppyProblem(t, r, 404, "upload_not_found", "")
		s3.set(nil, &signer.S3Error{Op: "ListParts", Code: "InternalError", Status: 500})
		wantUppyProblem(t, get(base+q, reportsToken), 502, "s3_error", "")
	})
}

// Under a grant that limits neither size nor type, signRequest mode signs the
// plugin's own multipart calls.
func TestUppySignMultipart(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	sign := func(body string) (result, uppySigned, *url.URL) {
		t.Helper()
		r := f.postTo(t, "/v1/uppy/sign", widgetToken, body)
		got := decodeOK[uppySigned](t, r)
		u, err := url.Parse(got.URL)
		if err != nil {
			t.Fatal(err)
		}
		if u.Query().Get("X-Amz-Signature") == "" || u.Query().Get("X-Amz-SignedHeaders") != "host" {
			t.Errorf("URL %s: want a signature of Host only", u.Redacted())
		}
		if len(r.audit) != 1 || r.audit[0].str("operation") != "uppy_sign" || r.audit[0].str("outcome") != "issued" {
			t.Errorf("audit: got %v, want one issued uppy_sign line", r.audit)
		}
		return r, got, u
	}
	const key = "drop/widget/0d6c-film.mov"
	_, created, u := sign(`{"method":"POST","key":"../0d6c-film.mov"}`)
	if created.Key != key || u.Path != "/media/"+key || !u.Query().Has("uploads") || u.Query().Get("X-Amz-Expires") != "900" {
		t.Errorf("create: got key %q URL %s, want %q, ?uploads and the grant's 15 minutes", created.Key, u.Redacted(), key)
	}
	_, part, u := sign(`{"method":"PUT","key":"` + key + `","uploadId":"s3-id+/=","partNumber":7}`)
	if u.Query().Get("uploadId") != "s3-id+/=" || u.Query().Get("partNumber") != "7" || part.Key != "" || len(part.Headers) != 0 {
		t.Errorf("part: got %s key %q headers %v", u.Redacted(), part.Key, part.Headers)
	}
	for _, m := range []string{"GET", "POST", "DELETE"} {
		_, got, u := sign(`{"method":"` + m + `","key":"` + key + `","uploadId":"s3-id","expiresIn":60}`)
		if u.Query().Get("uploadId") != "s3-id" || u.Query().Has("uploads") || got.Key != "" || u.Query().Get("X-Amz-Expires") != "60" {
			t.Errorf("%s: got %s key %q", m, u.Redacted(), got.Key)
		}
	}
	for name, tt := range map[string]struct {
		body         string
		status       int
		code, reason string
	}{
		"part outside the location":     {`{"method":"PUT","key":"drop/other/a","uploadId":"x","partNumber":1}`, 403, "forbidden", "prefix_not_allowed"},
		"complete at a dot segment":     {`{"method":"POST","key":"drop/widget/../x","uploadId":"x"}`, 403, "forbidden", "prefix_not_allowed"},
		"the location itself":           {`{"method":"GET","key":"drop/widget/","uploadId":"x"}`, 403, "forbidden", "prefix_not_allowed"},
		"part number zero":              {`{"method":"PUT","key":"drop/widget/a","uploadId":"x","partNumber":0}`, 400, "invalid_request", ""},
		"part number above 10000":       {`{"method":"PUT","key":"drop/widget/a","uploadId":"x","partNumber":10001}`, 400, "invalid_request", ""},
		"part without uploadId":         {`{"method":"PUT","key":"drop/widget/a","partNumber":1}`, 400, "invalid_request", ""},
		"put with uploadId, no part":    {`{"method":"PUT","key":"drop/widget/a","uploadId":"x"}`, 400, "invalid_request", ""},
		"empty uploadId":                {`{"method":"DELETE","key":"drop/widget/a","uploadId":""}`, 400, "invalid_request", ""},
		"uploadId with a line break":    {`{"method":"DELETE","key":"drop/widget/a","uploadId":"a\nb"}`, 400, "invalid_request", ""},
		"part number on a GET":          {`{"method":"GET","key":"drop/widget/a","uploadId":"x","partNumber":1}`, 400, "invalid_request", ""},
		"uploadId not a string":         {`{"method":"GET","key":"drop/widget/a","uploadId":5}`, 400, "invalid_request", ""},
		"create at a name with no name": {`{"method":"POST","key":"./"}`, 400, "invalid_key", ""},
	} {
		t.Run(name, func(t *testing.T) {
			wantUppyProblem(t, f.postTo(t, "/v1/uppy/sign", widgetToken, tt.body), tt.status, tt.code, tt.reason)
		})
	}
}
