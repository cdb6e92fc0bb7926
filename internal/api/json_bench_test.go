package api

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/google/go-cmp/cmp"
)

// These benchmarks measure the hand-written request scanner and response encoder of
// POST /v1/presign against library paths, on bodies of the common shape. Each path is
// first checked to give the same result as the hand-written one.
//
//	go test ./internal/api -run '^$' -bench '^BenchmarkJSON' -benchmem -count 5 -benchtime 1s

var jsonBenchRequests = []struct{ name, body string }{
	{"get", `{"bucket":"media","key":"reports/2026/q3.pdf","method":"GET","expires_in":900}`},
	{"put", `{"bucket":"media","key":"uploads/2026/11/cat.jpg","method":"PUT","expires_in":900,"content_type":"image/jpeg","content_length":482113}`},
}

// jsonBenchDecoders are the ways to decode a presign request.
var jsonBenchDecoders = []struct {
	name   string
	decode func(body []byte, req *presignRequest) error
}{
	// What the handler does: the scanner, falling back to decodeBytes.
	{"hand", decodePresignBytes},
	// The handler's fallback: encoding/json with unknown fields refused, then the
	// checks of field names and UTF-8 that encoding/json does not make.
	{"decodeBytes", func(body []byte, req *presignRequest) error { return decodeBytes(body, req) }},
	// encoding/json alone, without those checks.
	{"encoding-json", func(body []byte, req *presignRequest) error { return json.Unmarshal(body, req) }},
	// go-json-experiment/json, which matches names exactly and refuses duplicate
	// names and invalid UTF-8 by default; unknown names refused as the product does.
	{"json-v2", func(body []byte, req *presignRequest) error {
		return jsonv2.Unmarshal(body, req, jsonv2.RejectUnknownMembers(true))
	}},
}

func BenchmarkJSONDecode(b *testing.B) {
	for _, tc := range jsonBenchRequests {
		body := []byte(tc.body)
		var want presignRequest
		if err := decodePresignBytes(body, &want); err != nil {
			b.Fatalf("%s: %v", tc.name, err)
		}
		for _, d := range jsonBenchDecoders {
			var got presignRequest
			if err := d.decode(body, &got); err != nil {
				b.Fatalf("%s/%s: %v", tc.name, d.name, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				b.Fatalf("%s/%s: decoded request differs from the hand-written decode (-want +got):\n%s", tc.name, d.name, diff)
			}
			b.Run(tc.name+"/"+d.name, func(b *testing.B) {
				b.ReportAllocs()
				// Declared once: the handler's request stays on its stack, but one
				// passed through d.decode would move to the heap each time.
				var req presignRequest
				for b.Loop() {
					req = presignRequest{}
					if err := d.decode(body, &req); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

var jsonBenchResponses = []struct {
	name string
	res  presignResponse
}{
	{"get", presignResponse{
		URL: "https://media.s3.eu-west-1.amazonaws.com/reports/2026/q3.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
			"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261128%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Date=20261128T120000Z" +
			"&X-Amz-Expires=900&X-Amz-SignedHeaders=host&x-id=GetObject" +
			"&X-Amz-Signature=5b7c2b0e9d8a7f6e5d4c3b2a1908f7e6d5c4b3a291807f6e5d4c3b2a19087f6e",
		Method:    "GET",
		ExpiresAt: time.Date(2026, 11, 28, 12, 15, 0, 0, time.UTC),
		ExpiresIn: 900,
		Headers:   map[string]string{},
	}},
	{"put", presignResponse{
		URL: "https://media.s3.eu-west-1.amazonaws.com/uploads/2026/11/cat.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
			"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261128%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Date=20261128T120000Z" +
			"&X-Amz-Expires=900&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost&x-id=PutObject" +
			"&X-Amz-Signature=0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
		Method:    "PUT",
		ExpiresAt: time.Date(2026, 11, 28, 12, 15, 0, 0, time.UTC),
		ExpiresIn: 900,
		Headers:   map[string]string{"Content-Length": "482113", "Content-Type": "image/jpeg"},
	}},
}

// jsonBenchEncoders are the ways to encode a presign response, each as the handler
// writes it: followed by a newline, into a buffer kept from one response to the next.
var jsonBenchEncoders = []struct {
	name   string
	encode func(buf *bytes.Buffer, res *presignResponse)
}{
	{"hand", func(buf *bytes.Buffer, res *presignResponse) {
		b := appendPresignResponse(buf.AvailableBuffer(), res)
		buf.Write(append(b, '\n'))
	}},
	// As encode does.
	{"encoding-json", func(buf *bytes.Buffer, res *presignResponse) {
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(res)
	}},
	// Sorted map keys and a nil map as null, as encoding/json writes them.
	{"json-v2", func(buf *bytes.Buffer, res *presignResponse) {
		_ = jsonv2.MarshalWrite(buf, res, jsonv2.Deterministic(true), jsonv2.FormatNilMapAsNull(true))
		buf.WriteByte('\n')
	}},
}

func BenchmarkJSONEncode(b *testing.B) {
	for _, tc := range jsonBenchResponses {
		var want bytes.Buffer
		jsonBenchEncoders[0].encode(&want, &tc.res)
		for _, e := range jsonBenchEncoders {
			var got bytes.Buffer
			e.encode(&got, &tc.res)
			if got.String() != want.String() {
				b.Fatalf("%s/%s: got %s, want %s", tc.name, e.name, got.String(), want.String())
			}
			b.Run(tc.name+"/"+e.name, func(b *testing.B) {
				b.ReportAllocs()
				buf := bytes.NewBuffer(make([]byte, 0, 1024))
				for b.Loop() {
					buf.Reset()
					e.encode(buf, &tc.res)
				}
			})
		}
	}
}
