package api

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// TestAppendersMatchEncodingJSON holds the hand-written response encoders to what
// encoding/json (without HTML escaping) writes for the same values.
func TestAppendersMatchEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 22, 20, 45, 0, 123000000, time.UTC)
	odd := "a\"b\\c<d>&e\u2028f\x01g é 😀 \xff"
	values := []jsonAppender{
		&postResponse{},
		&postResponse{URL: "https://media.s3.eu-west-1.amazonaws.com/", Key: "uploads/x.png",
			Fields:    map[string]string{"key": "uploads/x.png", "policy": "eyJ9", "X-Amz-Signature": "ab", "Content-Type": "image/png"},
			ExpiresAt: at, ExpiresIn: 600, CappedBy: "policy"},
		&postResponse{URL: odd, Key: odd, Fields: map[string]string{odd: odd}, ExpiresAt: at.In(time.FixedZone("x", 3600)), ExpiresIn: -1},
		&multipartPartsResponse{},
		&multipartPartsResponse{Parts: []partURL{}, ExpiresAt: at},
		&multipartPartsResponse{Parts: []partURL{
			{PartNumber: 1, URL: "https://h/k?partNumber=1&uploadId=u", Size: 5 << 20, Headers: map[string]string{"Content-Length": "5242880"}},
			{PartNumber: 10000, URL: odd, Headers: nil},
			{PartNumber: 2, URL: "u", Size: 0, Headers: map[string]string{}},
		}, ExpiresAt: at, ExpiresIn: 3600, CappedBy: "credentials"},
	}
	for _, v := range values {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		got := append(v.appendJSON(nil), '\n')
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%T:\n got  %s\n want %s", v, got, want.Bytes())
		}
	}
}
