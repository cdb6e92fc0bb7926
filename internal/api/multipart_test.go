package api_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/presignd/presignd/internal/api"
	"github.com/presignd/presignd/internal/testenv"
)

const mib = 1 << 20

// multipartFixture is a test server whose own S3 calls are answered in memory.
func multipartFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixture(t, fixtureOptions{wrap: func(p api.Presigner) api.Presigner { return &fakeS3{Presigner: p} }})
}

type createResult struct {
	UploadID  string `json:"upload_id"`
	PartSize  *int64 `json:"part_size"`
	PartCount *int32 `json:"part_count"`
}

type partsResult struct {
	Parts []struct {
		PartNumber int32             `json:"part_number"`
		URL        string            `json:"url"`
		Size       *int64            `json:"size"`
		Headers    map[string]string `json:"headers"`
	} `json:"parts"`
}

func decodeOK[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if r.status != 200 {
		t.Fatalf("got %d %s, want 200", r.status, testenv.Clip(r.body))
	}
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
	return v
}

func wantProblem(t *testing.T, r result, status int, code, detailHas string) {
	t.Helper()
	if r.status != status || r.problem.Code != code || !strings.Contains(r.problem.Detail, detailHas) {
		t.Fatalf("got %d %q %q, want %d %q with a detail naming %q", r.status, r.problem.Code, r.problem.Detail, status, code, detailHas)
	}
}

func TestMultipartCreatePlansParts(t *testing.T) {
	f := multipartFixture(t)
	tests := []struct {
		name          string
		body          string
		wantPartSize  int64
		wantPartCount int32
	}{
		{"the smallest upload", `{"bucket":"media","key":"big/a.mp4","content_type":"video/mp4","content_length":5242880}`, 5 * mib, 1},
		{"a short last part", `{"bucket":"media","key":"big/a.mp4","content_type":"video/mp4","content_length":6291777}`, 5 * mib, 2},
		{"10000 parts of 5 MiB", `{"bucket":"media","key":"big/a.mp4","content_type":"video/mp4","content_length":52428800000}`, 5 * mib, 10000},
		{"parts grow beyond 10000 of 5 MiB", `{"bucket":"media","key":"big/a.mp4","content_type":"video/mp4","content_length":52428800001}`, 6 * mib, 8334},
		{"the grant's limit", `{"bucket":"media","key":"big/a.mp4","content_type":"video/mp4","content_length":107374182400}`, 11 * mib, 9310},
		{"a part size asked for", `{"bucket":"media","key":"big/a.mp4","content_type":"video/mp4","content_length":104857600,"part_size":8388608}`, 8 * mib, 13},
		{"a declared size under a grant without a limit", `{"bucket":"media","key":"drop/a.bin","content_length":12582913}`, 5 * mib, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeOK[createResult](t, f.postTo(t, "/v1/multipart/create", reportsToken, tt.body))
			if got.PartSize == nil || got.PartCount == nil || *got.PartSize != tt.wantPartSize || *got.PartCount != tt.wantPartCount {
				t.Errorf("got part_size %v, part_count %v; want %d, %d", got.PartSize, got.PartCount, tt.wantPartSize, tt.wantPartCount)
			}
		})
	}

	t.Run("no declared size under a grant without a limit", func(t *testing.T) {
		r := f.postTo(t, "/v1/multipart/create", reportsToken, `{"bucket":"media","key":"drop/a.bin"}`)
		got := decodeOK[createResult](t, r)
		if got.UploadID == "" || got.PartSize != nil || got.PartCount != nil {
			t.Errorf("got %s; want an upload_id and no part_size or part_count", r.body)
		}
	})
}

func TestMultipartCreateRefuses(t *testing.T) {
	f := multipartFixture(t)
	tests := []struct {
		name   string
		body   string
		status int
		code   string
		// detail lists what the problem's detail must mention.
		detail []string
	}{
		{name: "a declared size below 5 MiB", body: `{"bucket":"media","key":"big/a.mp4","content_type":"video/mp4","content_length":5242879}`,
			status: 400, code: "invalid_request", detail: []string{"content_length", "5 MiB", "POST /v1/presign ", "POST /v1/presign/post"}},
		{name: "a small declared size under a small grant", body: `{"bucket":"media","key":"uploads/a.png","content_type":"image/png","content_length":1000}`,
			status: 400, code: "invalid_request", detail: []string{"content_length", "POST /v1/presign/post"}},
		{name: "a declared size of 0", body: `{"bucket":"media","key":"drop/a.bin","content_length":0}`,
			status: 400, code: "invalid_request", detail: []string{"content_length"}},
		{name: "a part size below 5 MiB", body: `{"bucket":"media","key":"big/a.mp4","content_type":"video/mp4","content_length":104857600,"part_size":5242879}`,
			status: 400, code: "invalid_request", detail: []string{"part_size", "5 MiB"}},
		{name: "a part size above 5 GiB", body: `{"bucket":"media","key":"big/a.mp4","content_type":"video/mp4","content_length":104857600,"part_size":5368709121}`,
			status: 400, code: "invalid_request", detail: []string{"part_size", "5 GiB"}},
		{name: "a part size of 0", body: `{"bucket":"media","key":"big/a.mp4","content_type":"video/mp4","content_length":104857600,"part_size":0}`,
			status: 400, code: "invalid_request", detail: []string{"part_size"}},
		{name: "a part size that needs more than 10000 parts", body: `{"bucket":"media","key":"big/a.mp4","content_type":"video/mp4","content_length":107374182400,"part_size":5242880}`,
			status: 400, code: "invalid_request", detail: []string{"part_size", "20480 parts", "10000"}},
		{name: "a part size without a declared size", body: `{"bucket":"media","key":"drop/a.bin","part_size":5242880}`,
			status: 400, code: "invalid_request", detail: []string{"part_size", "content_length"}},
		// The grant is checked before the size: a denial says what the grant refuses.
		{name: "a small size outside the grant", body: `{"bucket":"media","key":"big/a.mp4","content_type":"image/png","content_length":1000}`,
			status: 403, code: "forbidden", detail: []string{""}},
		{name: "a size above the grant", body: `{"bucket":"media","key":"big/a.mp4","content_type":"video/mp4","content_length":107374182401}`,
			status: 403, code: "forbidden", detail: []string{""}},
		{name: "no size under a grant with a limit", body: `{"bucket":"media","key":"big/a.mp4","content_type":"video/mp4"}`,
			status: 403, code: "forbidden", detail: []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.postTo(t, "/v1/multipart/create", reportsToken, tt.body)
			for _, d := range tt.detail {
				wantProblem(t, r, tt.status, tt.code, d)
			}
		})
	}
}

func TestMultipartPartsSignTheirSize(t *testing.T) {
	f := multipartFixture(t)
	const where = `"bucket":"media","key":"big/a.mp4"`
	// 12 MiB and 1 byte: parts of 5 MiB, 5 MiB and 2 MiB + 1.
	created := decodeOK[createResult](t, f.postTo(t, "/v1/multipart/create", reportsToken, `{`+where+`,"content_type":"video/mp4","content_length":12582913}`))
	if *created.PartSize != 5*mib || *created.PartCount != 3 {
		t.Fatalf("create: got part_size %d, part_count %d; want %d, 3", *created.PartSize, *created.PartCount, 5*mib)
	}
	id := created.UploadID

	got := decodeOK[partsResult](t, f.postTo(t, "/v1/multipart/parts", reportsToken, `{`+where+`,"upload_id":"`+id+`","part_numbers":[3,1,2]}`))
	want := map[int32]int64{1: 5 * mib, 2: 5 * mib, 3: 2*mib + 1}
	if len(got.Parts) != 3 {
		t.Fatalf("got %d parts, want 3", len(got.Parts))
	}
	for i, p := range got.Parts {
		if wantN := []int32{3, 1, 2}[i]; p.PartNumber != wantN {
			t.Errorf("parts[%d]: part %d, want %d", i, p.PartNumber, wantN)
		}
		size := strconv.FormatInt(want[p.PartNumber], 10)
		if p.Size == nil || *p.Size != want[p.PartNumber] || len(p.Headers) != 1 || p.Headers["Content-Length"] != size {
			t.Errorf("part %d: size %v, headers %v; want size %s and headers {Content-Length: %s}", p.PartNumber, p.Size, p.Headers, size, size)
		}
		u, err := url.Parse(p.URL)
		if err != nil {
			t.Fatal(err)
		}
		if sh := u.Query().Get("X-Amz-SignedHeaders"); sh != "content-length;host" {
			t.Errorf("part %d: X-Amz-SignedHeaders %q, want content-length;host", p.PartNumber, sh)
		}
	}

	for _, numbers := range []string{`[4]`, `[1,2,3,4]`, `[10000]`} {
		wantProblem(t, f.postTo(t, "/v1/multipart/parts", reportsToken, `{`+where+`,"upload_id":"`+id+`","part_numbers":`+numbers+`}`),
			400, "invalid_request", "part_numbers")
	}
	r := f.postTo(t, "/v1/multipart/parts", reportsToken, `{`+where+`,"upload_id":"`+id+`","part_numbers":[4]}`)
	wantProblem(t, r, 400, "invalid_request", "3 parts")

	t.Run("no declared size: parts bind no size", func(t *testing.T) {
		created := decodeOK[createResult](t, f.postTo(t, "/v1/multipart/create", reportsToken, `{"bucket":"media","key":"drop/a.bin"}`))
		got := decodeOK[partsResult](t, f.postTo(t, "/v1/multipart/parts", reportsToken,
			`{"bucket":"media","key":"drop/a.bin","upload_id":"`+created.UploadID+`","part_numbers":[1,10000]}`))
		for _, p := range got.Parts {
			u, _ := url.Parse(p.URL)
			if p.Size != nil || p.Headers == nil || len(p.Headers) != 0 || u.Query().Get("X-Amz-SignedHeaders") != "host" {
				t.Errorf("part %d: size %v, headers %v, signed headers %q; want no size, {} and host", p.PartNumber, p.Size, p.Headers, u.Query().Get("X-Amz-SignedHeaders"))
			}
		}
	})
}

// sealed splits an upload_id into its version, decoded payload and MAC.
func sealed(t *testing.T, id string) (version string, payload map[string]any, mac string) {
	t.Helper()
	parts := strings.Split(id, ".")
	if len(parts) != 3 {
		t.Fatalf("upload_id %q is not version.payload.mac", id)
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &payload); err != nil {
		t.Fatal(err)
	}
	return parts[0], payload, parts[2]
}

// seal builds an upload_id as presignd does, with version and the test servers' key.
func seal(t testing.TB, version string, payload map[string]any) string {
	t.Helper()
	body, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	p := base64.RawURLEncoding.EncodeToString(body)
	m := hmac.New(sha256.New, testUploadKey)
	m.Write([]byte(version + "." + p))
	return version + "." + p + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestMultipartUploadIDSealsThePartSize(t *testing.T) {
	f := multipartFixture(t)
	const where = `"bucket":"media","key":"big/a.mp4"`
	created := decodeOK[createResult](t, f.postTo(t, "/v1/multipart/create", reportsToken, `{`+where+`,"content_type":"video/mp4","content_length":12582913}`))
	version, payload, mac := sealed(t, created.UploadID)
	if version != "v2" || payload["p"] != float64(5*mib) || payload["n"] != float64(12582913) {
		t.Fatalf("upload_id holds version %q and %v; want v2 with part size p=%d and size n=12582913", version, payload, 5*mib)
	}
	parts := func(id string) result {
		return f.postTo(t, "/v1/multipart/parts", reportsToken, `{`+where+`,"upload_id":"`+id+`","part_numbers":[1]}`)
	}
	// The test's own sealing is presignd's, so that the cases below differ from a
	// genuine id only in what they change.
	if r := parts(seal(t, "v2", payload)); r.status != 200 {
		t.Fatalf("the payload resealed by the test: got %d %s, want 200", r.status, testenv.Clip(r.body))
	}

	t.Run("a changed part size", func(t *testing.T) {
		changed := map[string]any{}
		for k, v := range payload {
			changed[k] = v
		}
		changed["p"] = 64 * mib
		body, _ := json.Marshal(changed)
		forged := "v2." + base64.RawURLEncoding.EncodeToString(body) + "." + mac
		wantProblem(t, parts(forged), 400, "invalid_request", "upload_id")
	})

	t.Run("an id of the previous version", func(t *testing.T) {
		// What presignd issued before part sizes were sealed: no "p", version v1.
		old := map[string]any{}
		for k, v := range payload {
			if k != "p" {
				old[k] = v
			}
		}
		r := parts(seal(t, "v1", old))
		wantProblem(t, r, 400, "invalid_request", "upload_id")
		if !strings.Contains(r.problem.Detail, "/v1/multipart/create") {
			t.Errorf("detail %q: want it to say to start again with /v1/multipart/create", r.problem.Detail)
		}
		for _, path := range []string{"/v1/multipart/complete", "/v1/multipart/abort"} {
			body := `{` + where + `,"upload_id":"` + seal(t, "v1", old) + `","parts":[{"part_number":1,"etag":"e"}]}`
			if path == "/v1/multipart/abort" {
				body = `{` + where + `,"upload_id":"` + seal(t, "v1", old) + `"}`
			}
			wantProblem(t, f.postTo(t, path, reportsToken, body), 400, "invalid_request", "upload_id")
		}
	})

	t.Run("a declared size without a part size", func(t *testing.T) {
		noPart := map[string]any{}
		for k, v := range payload {
			if k != "p" {
				noPart[k] = v
			}
		}
		wantProblem(t, parts(seal(t, "v2", noPart)), 400, "invalid_request", "upload_id")
	})
}
