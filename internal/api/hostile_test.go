package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/api"
	"github.com/presignd/presignd/internal/testenv"
)

// hostileSeed makes the corpus the same on every run.
const hostileSeed = 16

// hostileBodies is how many bodies each JSON route is sent.
const hostileBodies = 1000

// Body limits of the routes (decode.go).
const (
	smallLimit = 64 << 10
	largeLimit = 1 << 20
)

// jsonKind is the JSON type a request field takes.
type jsonKind int

const (
	kString jsonKind = iota
	kInt
	kBool
	kStringMap
	kObject // any JSON object
	kArray
)

type hostileField struct {
	name string
	kind jsonKind
}

// hostileRoute is a route that takes a JSON body: its fields, a body that is valid for
// it (the base the corpus spoils), and the field whose text the corpus makes hostile.
type hostileRoute struct {
	method, path string
	route        string // the route's pattern, when path is not it
	limit        int
	fields       []hostileField
	base         map[string]string // field name to raw JSON value
	text         string            // a string field whose content is checked; "" for none at top level
}

// TestHostileCorpus sends a deterministic corpus of broken request bodies to every
// route that takes JSON, and broken query strings to the routes that take a query.
// Every answer must be a 4xx problem that matches openapi.yaml; nothing may panic.
func TestHostileCorpus(t *testing.T) {
	start := time.Now()
	s3 := &fakeS3{}
	srv := newServer(t, fixtureOptions{wrap: func(p api.Presigner) api.Presigner { s3.Presigner = p; return s3 }}, io.Discard)
	ts := httptest.NewServer(srv.Handler(true))
	t.Cleanup(ts.Close)
	spec := specFor(t)

	var (
		mu     sync.Mutex
		counts = map[string]int{} // "METHOD route status" → answers
		// validated holds the answers already checked against openapi.yaml, by route,
		// status, header names and body: most broken bodies are refused with the same
		// problem, and the validator is the slowest part of the test. An answer that
		// differs in any byte of its body is validated on its own.
		validated = map[string]bool{}
	)
	send := func(t *testing.T, route string, req *http.Request, sent []byte) {
		t.Helper()
		req.Header.Set("Authorization", "Bearer "+reportsToken)
		res, err := noRedirects.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v\nsent: %q", req.Method, route, err, testenv.Clip(sent))
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		counts[req.Method+" "+route+" "+strconv.Itoa(res.StatusCode)]++
		mu.Unlock()
		if res.StatusCode < 400 || res.StatusCode > 499 {
			t.Fatalf("%s %s answered %d, want a 4xx\nsent: %q\nbody: %s", req.Method, route, res.StatusCode, testenv.Clip(sent), testenv.Clip(body))
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s %s → %d has Content-Type %q, want application/problem+json\nsent: %q", req.Method, route, res.StatusCode, ct, testenv.Clip(sent))
		}
		var p api.Problem
		if err := json.Unmarshal(body, &p); err != nil || p.Status != res.StatusCode || p.Type != "urn:presignd:problem:"+p.Code {
			t.Fatalf("%s %s → %d: the problem does not hold together (%v)\nsent: %q\nbody: %s", req.Method, route, res.StatusCode, err, testenv.Clip(sent), testenv.Clip(body))
		}
		names := make([]string, 0, len(res.Header))
		for name := range res.Header {
			names = append(names, name)
		}
		sort.Strings(names)
		key := fmt.Sprintf("%s %s %d %q %q %s", req.Method, route, res.StatusCode, names, res.Header.Get("Retry-After"), body)
		mu.Lock()
		defer mu.Unlock()
		if validated[key] {
			return
		}
		if spec.check(t, req, res, body); t.Failed() {
			t.Fatalf("%s %s → %d does not match openapi.yaml (above)\nsent: %q", req.Method, route, res.StatusCode, testenv.Clip(sent))
		}
		validated[key] = true
	}

	// An upload of the reports client, for the Uppy routes that name one.
	uploadID, uploadKey := createUppyUpload(t, ts.URL)
	uploadPath := "/v1/uppy/s3/multipart/" + url.PathEscape(uploadID)

	t.Run("routes", func(t *testing.T) {
		for n, rt := range hostileRoutes(uploadPath, uploadKey) {
			if rt.route == "" {
				rt.route = rt.path
			}
			t.Run(rt.method+" "+rt.route, func(t *testing.T) {
				t.Parallel()
				rng := rand.New(rand.NewPCG(hostileSeed, uint64(n)))
				for i := range hostileBodies {
					body := rt.hostileBody(rng, i)
					req, err := http.NewRequest(rt.method, ts.URL+rt.path, bytes.NewReader(body))
					if err != nil {
						t.Fatal(err)
					}
					req.Header.Set("Content-Type", "application/json")
					send(t, rt.route, req, body)
				}
			})
		}
		for n, rt := range hostileQueryRoutes(uploadID, uploadPath, uploadKey) {
			t.Run(rt.method+" "+rt.route, func(t *testing.T) {
				t.Parallel()
				rng := rand.New(rand.NewPCG(hostileSeed, 1000+uint64(n)))
				for i := range hostileQueries {
					path, q := rt.path, rt.query(rng, i)
					if rt.paths != nil {
						path = pick(rng, rt.paths)
					}
					req, err := http.NewRequest(rt.method, ts.URL+path+"?"+q, nil)
					if err != nil {
						t.Fatal(err)
					}
					send(t, rt.route, req, []byte(q))
				}
			})
		}
	})

	if n := metricValue(t, ts.URL, "presignd_panics_recovered_total"); n != 0 {
		t.Errorf("presignd_panics_recovered_total is %v, want 0", n)
	}
	keys := make([]string, 0, len(counts))
	total := 0
	for k, n := range counts {
		keys = append(keys, k)
		total += n
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("%-70s %5d", k, counts[k])
	}
	t.Logf("%d hostile requests in %v, every one a 4xx problem", total, time.Since(start).Round(time.Millisecond))
}

// createUppyUpload starts an upload in Companion mode (on the fake S3) and returns
// its uploadId and key.
func createUppyUpload(t *testing.T, base string) (string, string) {
	t.Helper()
	status, _, body := postRaw(t, base+"/v1/uppy/s3/multipart", reportsToken, `{"filename":"clip.mp4","type":"video/mp4","metadata":{"size":12582917}}`)
	var got struct{ UploadID, Key string }
	if err := json.Unmarshal(body, &got); status != 200 || err != nil || got.UploadID == "" {
		t.Fatalf("creating an upload: %d %v %s", status, err, body)
	}
	return got.UploadID, got.Key
}

// metricValue reads one unlabelled sample from /metrics.
func metricValue(t *testing.T, base, name string) float64 {
	t.Helper()
	status, _, body := sendRaw(t, http.MethodGet, base+"/metrics", "", "")
	if status != 200 {
		t.Fatalf("/metrics: %d", status)
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", sc.Text(), err)
			}
			return n
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

func hostileRoutes(uploadPath, uploadKey string) []hostileRoute {
	str := func(names ...string) []hostileField {
		f := make([]hostileField, len(names))
		for i, n := range names {
			f[i] = hostileField{n, kString}
		}
		return f
	}
	with := func(f []hostileField, more ...hostileField) []hostileField { return append(f, more...) }
	presignFields := with(str("bucket", "key", "method", "version_id", "content_type", "checksum_sha256",
		"response_content_disposition", "response_content_type", "response_cache_control", "download_filename"),
		hostileField{"expires_in", kInt}, hostileField{"strict_ttl", kBool}, hostileField{"content_length", kInt},
		hostileField{"metadata", kStringMap})
	presignBase := map[string]string{"bucket": `"media"`, "key": `"reports/a.pdf"`, "method": `"GET"`, "expires_in": `300`}
	uploadBase := map[string]string{"bucket": `"media"`, "key": `"big/a.mp4"`, "content_type": `"video/mp4"`, "content_length": `10485760`}
	idBase := map[string]string{"bucket": `"media"`, "key": `"big/a.mp4"`, "upload_id": `"not-an-upload"`}
	return []hostileRoute{
		{method: "POST", path: "/v1/presign", limit: smallLimit, fields: presignFields, base: presignBase, text: "key"},
		{method: "POST", path: "/v1/presign/batch", limit: largeLimit, fields: []hostileField{{"requests", kArray}},
			base: map[string]string{"requests": `[{"bucket":"media","key":"reports/a.pdf"}]`}},
		{method: "POST", path: "/v1/presign/post", limit: smallLimit,
			fields: with(str("bucket", "key", "key_prefix", "filename", "content_type", "content_type_prefix"),
				hostileField{"expires_in", kInt}, hostileField{"strict_ttl", kBool}, hostileField{"max_content_length", kInt}),
			base: map[string]string{"bucket": `"media"`, "key": `"uploads/a.png"`, "content_type": `"image/png"`}, text: "key"},
		{method: "POST", path: "/v1/multipart/create", limit: smallLimit,
			fields: with(str("bucket", "key", "content_type"), hostileField{"content_length", kInt}, hostileField{"part_size", kInt}),
			base:   uploadBase, text: "key"},
		{method: "POST", path: "/v1/multipart/parts", limit: smallLimit,
			fields: with(str("bucket", "key", "upload_id"), hostileField{"part_numbers", kArray}, hostileField{"expires_in", kInt}, hostileField{"strict_ttl", kBool}),
			base:   map[string]string{"bucket": `"media"`, "key": `"big/a.mp4"`, "upload_id": `"not-an-upload"`, "part_numbers": `[1]`}, text: "key"},
		{method: "POST", path: "/v1/multipart/complete", limit: smallLimit,
			fields: with(str("bucket", "key", "upload_id"), hostileField{"parts", kArray}),
			base:   map[string]string{"bucket": `"media"`, "key": `"big/a.mp4"`, "upload_id": `"not-an-upload"`, "parts": `[{"part_number":1,"etag":"\"e\""}]`}, text: "key"},
		{method: "POST", path: "/v1/multipart/abort", limit: smallLimit, fields: str("bucket", "key", "upload_id"), base: idBase, text: "key"},
		{method: "POST", path: "/v1/explain", limit: smallLimit, fields: presignFields, base: presignBase, text: "key"},
		{method: "POST", path: "/v1/uppy/sign", limit: smallLimit,
			fields: with(str("method", "key", "uploadId", "contentType"), hostileField{"partNumber", kInt}, hostileField{"expiresIn", kInt}),
			base:   map[string]string{"method": `"PUT"`, "key": `"a.mp4"`, "contentType": `"video/mp4"`}, text: "key"},
		{method: "POST", path: "/v1/uppy/s3/multipart", limit: smallLimit,
			fields: with(str("filename", "type"), hostileField{"metadata", kObject}),
			base:   map[string]string{"filename": `"a.mp4"`, "type": `"video/mp4"`, "metadata": `{"size":12582917}`}, text: "filename"},
		{method: "POST", path: uploadPath + "/complete?key=" + url.QueryEscape(uploadKey), route: "/v1/uppy/s3/multipart/{uploadId}/complete", limit: largeLimit,
			fields: []hostileField{{"parts", kArray}},
			base:   map[string]string{"parts": `[{"PartNumber":1,"ETag":"\"e\""}]`}},
	}
}

// hostileBody is body i of the route's corpus. Every kind of body is broken in a way
// no route may accept, whatever else it holds.
func (rt hostileRoute) hostileBody(rng *rand.Rand, i int) []byte {
	kinds := []func(*rand.Rand) []byte{
		rt.emptyBody, rt.nonObject, rt.truncated, rt.wrongType, rt.huge, rt.trailing,
		rt.controlBytes, rt.invalidUTF8, rt.loneSurrogate, rt.deepNesting, rt.hugeNumber,
		rt.duplicateKey, rt.unknownKey,
	}
	return kinds[i%len(kinds)](rng)
}

// huge is a body up to just under the limit or over it: half as many of each as of
// the other kinds, since they are the costliest to send and decode.
func (rt hostileRoute) huge(rng *rand.Rand) []byte {
	if rng.IntN(2) == 0 {
		return rt.hugeUnder(rng)
	}
	return rt.hugeOver(rng)
}

// trailing is the route's valid body followed by more than whitespace.
func (rt hostileRoute) trailing(rng *rand.Rand) []byte {
	after := []string{",", "]", "}", " x", "\x00", "//c", "/*c*/", "{}", "null", `"a"`, "\ufeff", ",{}"}
	return append(rt.object(rng, nil), after[rng.IntN(len(after))]...)
}

// object writes the route's base with the overrides (raw JSON values, "" to drop a
// field) in a random order, and extra raw members after them.
func (rt hostileRoute) object(rng *rand.Rand, over map[string]string, extra ...string) []byte {
	var members []string
	for _, f := range rt.fields {
		v, ok := over[f.name]
		if !ok {
			v = rt.base[f.name]
		}
		if v != "" {
			members = append(members, strconv.Quote(f.name)+":"+v)
		}
	}
	members = append(members, extra...)
	rng.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	return []byte("{" + strings.Join(members, ",") + "}")
}

func (rt hostileRoute) field(rng *rand.Rand) hostileField { return rt.fields[rng.IntN(len(rt.fields))] }

func (rt hostileRoute) emptyBody(rng *rand.Rand) []byte {
	return []byte([]string{"", " ", "\n\t\r ", "\ufeff", "\x00"}[rng.IntN(5)])
}

func (rt hostileRoute) nonObject(rng *rand.Rand) []byte {
	tops := []string{`null`, `true`, `false`, `0`, `-1`, `1e400`, `"media"`, `[]`, `[{}]`, `{}[]`, `{} {}`, `[` + string(rt.object(rng, nil)) + `]`,
		strconv.Quote(string(rt.object(rng, nil))), string(rt.object(rng, nil)) + `x`, string(rt.object(rng, nil)) + `{}`}
	return []byte(tops[rng.IntN(len(tops))])
}

// truncated is the route's valid body cut short: a prefix of an object is never one.
func (rt hostileRoute) truncated(rng *rand.Rand) []byte {
	b := rt.object(rng, nil)
	return b[:1+rng.IntN(len(b)-1)]
}

func (rt hostileRoute) wrongType(rng *rand.Rand) []byte {
	f := rt.field(rng)
	var wrong []string
	switch f.kind {
	case kString:
		wrong = []string{`1`, `-0`, `true`, `{}`, `["media"]`, `{"value":"x"}`, `1.5e3`}
	case kInt:
		wrong = []string{`"300"`, `true`, `1.5`, `1e3`, `[]`, `{}`, `"0x10"`, `-1.0E+2`}
	case kBool:
		wrong = []string{`"true"`, `1`, `0`, `[]`, `{}`, `"false"`}
	case kStringMap:
		wrong = []string{`"a=b"`, `[]`, `["a"]`, `{"a":1}`, `{"a":{}}`, `{"a":true}`, `1`}
	case kObject:
		wrong = []string{`"a=b"`, `[]`, `[{}]`, `1`, `true`}
	case kArray:
		wrong = []string{`"1"`, `1`, `{}`, `true`, `{"0":1}`}
	}
	return rt.object(rng, map[string]string{f.name: wrong[rng.IntN(len(wrong))]})
}

// hugeUnder is a body up to just under the route's limit whose bulk is a string where
// it does not belong (an unknown name, or a field of another type). One in eight is
// within 128 bytes of the limit; the others, from 1 KiB to 64 KiB, keep the run short.
func (rt hostileRoute) hugeUnder(rng *rand.Rand) []byte {
	size := rt.limit - len(rt.object(rng, nil)) - 64 - rng.IntN(64)
	if rng.IntN(8) != 0 {
		size = min(size, 1<<10+rng.IntN(63<<10))
	}
	pad := strings.Repeat(string(rune('a'+rng.IntN(26))), size)
	if rng.IntN(2) == 0 {
		return rt.object(rng, nil, `"padding":"`+pad+`"`)
	}
	for _, f := range rt.fields {
		if f.kind != kString {
			return rt.object(rng, map[string]string{f.name: `"` + pad + `"`})
		}
	}
	return []byte(`["` + pad + `"]`)
}

// hugeOver is a body over the limit, by a byte or by much: a string too long for any
// field, or nothing but whitespace after the object.
func (rt hostileRoute) hugeOver(rng *rand.Rand) []byte {
	over := []int{1, 2, 1 << 10, 1 << 10, 64 << 10}[rng.IntN(5)]
	b := rt.object(rng, nil)
	if rng.IntN(2) == 0 {
		return append(b, bytes.Repeat([]byte(" "), rt.limit+over-len(b))...)
	}
	pad := `"` + strings.Repeat("k", rt.limit+over-len(b)) + `"`
	if rt.text == "" {
		return rt.object(rng, nil, `"padding":`+pad)
	}
	return rt.object(rng, map[string]string{rt.text: pad})
}

// controlBytes puts a raw NUL or control byte inside a string or between tokens, which
// JSON forbids.
func (rt hostileRoute) controlBytes(rng *rand.Rand) []byte {
	c := string(rune([]byte{0x00, 0x01, 0x07, 0x08, 0x0a, 0x0d, 0x1b, 0x1f}[rng.IntN(8)]))
	name := rt.text
	if name == "" || rng.IntN(3) == 0 {
		b := rt.object(rng, nil)
		at := 1 + rng.IntN(len(b)-1)
		if c == "\n" || c == "\r" { // whitespace between tokens: put it inside a name instead
			return rt.object(rng, nil, `"pad`+c+`ding":1`)
		}
		return append(append(append([]byte{}, b[:at]...), c...), b[at:]...)
	}
	return rt.object(rng, map[string]string{name: `"a` + c + `b"`})
}

// invalidUTF8 puts bytes that are not UTF-8 in the text field, or in a name.
func (rt hostileRoute) invalidUTF8(rng *rand.Rand) []byte {
	bad := []string{"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\x80"}[rng.IntN(6)]
	if rt.text == "" || rng.IntN(3) == 0 {
		return rt.object(rng, nil, `"`+bad+`":1`)
	}
	v := strings.Trim(rt.base[rt.text], `"`)
	return rt.object(rng, map[string]string{rt.text: `"` + v[:len(v)/2] + bad + v[len(v)/2:] + `"`})
}

// loneSurrogate puts an escape of half a surrogate pair in the text field, or in a name.
func (rt hostileRoute) loneSurrogate(rng *rand.Rand) []byte {
	esc := []string{`\ud800`, `\udfff`, `\udc00\ud800`, `\ud83d`, `\ud83dx`, `\ude00`}[rng.IntN(6)]
	if rt.text == "" || rng.IntN(3) == 0 {
		return rt.object(rng, nil, `"`+esc+`":1`)
	}
	v := strings.Trim(rt.base[rt.text], `"`)
	return rt.object(rng, map[string]string{rt.text: `"` + v + esc + `"`})
}

// deepNesting is brackets or objects nested deep, closed or not, at the top or as a
// field's value. One in five is nested around 10k deep, either side of the decoders'
// limit of 10000; the others up to 1000 deep, which costs less to decode.
func (rt hostileRoute) deepNesting(rng *rand.Rand) []byte {
	n := 1 + rng.IntN(1_000)
	if rng.IntN(5) == 0 {
		n = 9_990 + rng.IntN(1_020)
	}
	f := rt.field(rng)
	open, closeB := strings.Repeat("[", n), strings.Repeat("]", n)
	// An array nested less deep than the decoders' limit would be a valid value of an
	// array of raw items (the batch's requests): there, nest objects.
	if rng.IntN(2) == 0 || f.kind == kArray {
		open, closeB = strings.Repeat(`{"a":`, n), strings.Repeat("}", n)
	}
	switch rng.IntN(3) {
	case 0:
		return []byte(open)
	case 1:
		return []byte(open + closeB)
	}
	return rt.object(rng, map[string]string{f.name: open + `1` + closeB})
}

// hugeNumber is a number no field can hold, in a numeric field or another.
func (rt hostileRoute) hugeNumber(rng *rand.Rand) []byte {
	num := []string{`1e400`, `-1e400`, `99999999999999999999`, `-99999999999999999999`, `9223372036854775808`,
		`1` + strings.Repeat("0", 5000), `0.` + strings.Repeat("1", 5000), `1e-400`}[rng.IntN(8)]
	return rt.object(rng, map[string]string{rt.field(rng).name: num})
}

// duplicateKey gives a field twice, with the same value or another.
func (rt hostileRoute) duplicateKey(rng *rand.Rand) []byte {
	f := rt.fields[rng.IntN(len(rt.fields))]
	v, ok := rt.base[f.name]
	if !ok {
		for _, g := range rt.fields {
			if v, ok = rt.base[g.name]; ok {
				f = g
				break
			}
		}
	}
	return rt.object(rng, map[string]string{f.name: v}, strconv.Quote(f.name)+":"+v)
}

// unknownKey adds a name no route takes: another case of a field, a misspelling, or junk.
func (rt hostileRoute) unknownKey(rng *rand.Rand) []byte {
	f := rt.field(rng).name
	names := []string{strings.ToUpper(f), strings.ToUpper(f[:1]) + f[1:], f + " ", " " + f, f + "\\u0000",
		"__proto__", "", "constructor", "requests_", "bucket_name", "x-amz-acl", "\\u00e9"}
	name := names[rng.IntN(len(names))]
	if name == f {
		name += "_"
	}
	values := []string{`1`, `null`, `"media"`, `{}`, `[]`}
	return rt.object(rng, nil, `"`+name+`":`+values[rng.IntN(len(values))])
}

// hostileQueries is how many query strings each route that takes a query is sent.
const hostileQueries = 200

// hostileQueryRoute is a GET or DELETE route whose request is its path and query.
type hostileQueryRoute struct {
	method, route, path string
	// query is query string i: the route's valid query with at least one part broken.
	query func(rng *rand.Rand, i int) string
	// paths, when set, are broken paths to send instead of path, with a valid query.
	paths []string
}

// hostileQueryValues are values no parameter takes as they are.
var hostileQueryValues = []string{
	"%00", "%ff", "%c0%af", "%ed%a0%80", "%zz", "%", "%0", "a%00b", "%1b%5b31m",
	"1e400", "99999999999999999999", "-1", "0", "1.5", "+5", "%20300", "0x10", "",
	strings.Repeat("k", 5000), strings.Repeat("%ff", 2000), strings.Repeat("%5b", 3000),
}

func pick[T any](rng *rand.Rand, s []T) T { return s[rng.IntN(len(s))] }

func hostileQueryRoutes(uploadID, uploadPath, uploadKey string) []hostileQueryRoute {
	key := url.QueryEscape(uploadKey)
	// broken returns a query with one of: a broken value for a parameter that checks
	// it, a parameter given twice, a parameter the route does not take, or broken
	// percent-encoding, after the valid parameters in random order.
	broken := func(checked []string, valid map[string]string, unknownOK bool) func(*rand.Rand, int) string {
		return func(rng *rand.Rand, i int) string {
			params := map[string]string{}
			for k, v := range valid {
				params[k] = v
			}
			var extra []string
			switch i % 4 {
			case 0:
				name := pick(rng, checked)
				params[name] = pick(rng, hostileQueryValues)
			case 1:
				name := pick(rng, checked)
				extra = append(extra, name+"="+pick(rng, hostileQueryValues))
				if _, ok := params[name]; !ok {
					params[name] = "1"
				}
			case 2:
				if unknownOK {
					params[pick(rng, checked)] = pick(rng, []string{"%00", "%ff", strings.Repeat("k", 5000)})
				} else {
					extra = append(extra, pick(rng, []string{"x=1", "EXPIRES_IN=5", "expires_in%00=5", "%ff=1", "=1", "bucket=archive"}))
				}
			default:
				if unknownOK {
					delete(params, checked[0])
				} else {
					extra = append(extra, pick(rng, []string{"%zz", "a=%", "expires_in=%g0", "%=1"}))
				}
			}
			parts := extra
			for k, v := range params {
				parts = append(parts, k+"="+v)
			}
			sort.Strings(parts)
			rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
			return strings.Join(parts, "&")
		}
	}
	linkQuery := broken([]string{"expires_in"}, map[string]string{"version_id": "v1", "download_filename": "a.pdf"}, false)
	// Companion's routes ignore names they do not take: each query breaks a value
	// they check, or leaves one out.
	partsQuery := func(names ...string) func(*rand.Rand, int) string {
		return func(rng *rand.Rand, i int) string {
			params := map[string]string{"key": key, "partNumbers": "1,2"}
			name := names[i%len(names)]
			switch name {
			case "key":
				params["key"] = pick(rng, []string{"", "%ff", "%ed%a0%80", "big%2Fother%2Fa.mp4", "reports%2Fa", key + "%00",
					strings.Repeat("k", 5000), "..%2F" + key, key + "x"})
				if rng.IntN(4) == 0 {
					delete(params, "key")
				}
			case "partNumbers":
				params["partNumbers"] = pick(rng, []string{"", "0", "-1", "10001", "1e400", "99999999999999999999", "1,,2", "a",
					"1%2C", "%2C1", "1.5", strings.Repeat("1,", 1001) + "1", "2147483648", "%201"})
			}
			var parts []string
			for k, v := range params {
				parts = append(parts, k+"="+v)
			}
			sort.Strings(parts)
			return strings.Join(parts, "&")
		}
	}
	paramsQuery := func(rng *rand.Rand, i int) string {
		// The reports client may upload only video/mp4 there: any other type, or none, is refused.
		filename := pick(rng, []string{"clip.mp4", "%ff", "a%00b", strings.Repeat("k", 5000), "..%2F..%2F"})
		typ := pick(rng, []string{"", "text%2Fhtml", "video%2Fmp4%2Ctext%2Fhtml", "video%2Fmp4%00", "%ff", "video%2Fmp4%0d%0aX%3A1", strings.Repeat("v", 5000)})
		switch i % 3 {
		case 0:
			return "type=" + typ + "&filename=" + filename
		case 1:
			return "type=video%2Fmp4" // no filename
		}
		return "filename=" + filename + "&filename=" + filename + "&type=" + typ
	}
	return []hostileQueryRoute{
		{http.MethodGet, "/v1/objects/{bucket}/{key}", "/v1/objects/media/reports/a.pdf", linkQuery, nil},
		{http.MethodGet, "/v1/uppy/s3/params", "/v1/uppy/s3/params", paramsQuery, nil},
		{http.MethodGet, "/v1/uppy/s3/multipart/{uploadId}", uploadPath, partsQuery("key"), nil},
		{http.MethodDelete, "/v1/uppy/s3/multipart/{uploadId}", uploadPath, partsQuery("key"), nil},
		{http.MethodGet, "/v1/uppy/s3/multipart/{uploadId}/batch", uploadPath + "/batch", partsQuery("key", "partNumbers"), nil},
		{http.MethodGet, "/v1/uppy/s3/multipart/{uploadId}/{partNumber}", uploadPath + "/1", partsQuery("key"), nil},
		{http.MethodGet, "/v1/uppy/s3/multipart/{uploadId}/{partNumber}", "", func(*rand.Rand, int) string { return "key=" + key }, []string{
			uploadPath + "/0", uploadPath + "/-1", uploadPath + "/10001", uploadPath + "/1e400", uploadPath + "/99999999999999999999",
			uploadPath + "/2147483648", uploadPath + "/1.5", uploadPath + "/%2B1", uploadPath + "/%201", uploadPath + "/0x1",
			uploadPath + "/%00", uploadPath + "/%ff", uploadPath + "/" + strings.Repeat("9", 5000),
			"/v1/uppy/s3/multipart/x/1", "/v1/uppy/s3/multipart/%00/1", "/v1/uppy/s3/multipart/" + strings.Repeat("%ff", 3000) + "/1",
			"/v1/uppy/s3/multipart/" + url.PathEscape(uploadID[:len(uploadID)-1]) + "/1",
		}},
	}
}
