package api

import (
	"reflect"
	"testing"
)

// flatSeeds are bodies of the presign, POST policy and part URLs requests: the
// common shape parseFlat reads, and the shapes it must leave to decodeBytes (escapes,
// non-ASCII text, nulls, negative and large numbers, exponents, duplicates, other
// cases, unknown names, trailing data; for part numbers, numbers an int32 cannot
// hold and arrays that are not one).
var flatSeeds = []string{
	`{"bucket":"media","key":"reports/2026/q3 summary.pdf","expires_in":3600}`,
	`{"bucket":"media","key":"uploads/a.png","method":"PUT","content_type":"image/png","content_length":1048576,"checksum_sha256":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}`,
	"{ \"bucket\" : \"media\" ,\n\t\"key\" : \"reports/a\" , \"strict_ttl\": true, \"response_cache_control\":\"no-cache\" }\n",
	`{"bucket":"media","key":"uploads/2026/avatar.png","content_type":"image/png","max_content_length":1048576,"expires_in":600}`,
	`{"bucket":"media","key_prefix":"uploads/u-1/","filename":"notes.txt","content_type_prefix":"text/","strict_ttl":false}`,
	`{"bucket":"media","key_prefix":"uploads/","content_type_prefix":"","max_content_length":0}`,
	`{"bucket":"media","key":"a","key":"b"}`,
	`{"bucket":"media","Key":"a"}`,
	`{"bucket":"media","key":"a","extra":1}`,
	`{"bucket":"media","key":null}`,
	`{"bucket":"media","key":"caf\u00e9"}`,
	`{"bucket":"media","key":"café"}`,
	`{"bucket":"media","key":"a\"b"}`,
	`{"bucket":"media","expires_in":-1}`,
	`{"bucket":"media","expires_in":1e3}`,
	`{"bucket":"media","expires_in":007}`,
	`{"bucket":"media","expires_in":99999999999999999999}`,
	`{"bucket":"media","strict_ttl":"true"}`,
	`{"bucket":"media","content_type_prefix":null}`,
	`{"bucket":"media","metadata":{"a":"b"}}`,
	`{"bucket":"media"} {}`,
	`{"bucket":"media",}`,
	`{}`,
	``,
	`[]`,
	`{"bucket":"media","key":"big/a.bin","upload_id":"v2.eyJ1IjoidSJ9.bWFj","part_numbers":[3,1,2],"expires_in":600,"strict_ttl":true}`,
	"{\"part_numbers\": [ 1 ,\n2 ] , \"upload_id\":\"u\"}",
	`{"part_numbers":[]}`,
	`{"part_numbers":[ ]}`,
	`{"part_numbers":[2147483647]}`,
	`{"part_numbers":[2147483648]}`,
	`{"part_numbers":[99999999999999999999]}`,
	`{"part_numbers":[-1]}`,
	`{"part_numbers":[1,]}`,
	`{"part_numbers":[,1]}`,
	`{"part_numbers":[01]}`,
	`{"part_numbers":[1.0]}`,
	`{"part_numbers":[1e2]}`,
	`{"part_numbers":["1"]}`,
	`{"part_numbers":[[1]]}`,
	`{"part_numbers":null}`,
	`{"part_numbers":1}`,
	`{"part_numbers":[1]]}`,
	`{"part_numbers":[1],"part_numbers":[2]}`,
	`{"upload_id":null,"part_numbers":[1]}`,
}

// checkFlatAgrees fails when parseFlat reads body into a request that decodeBytes,
// the API's reference decoder, would not give, or would refuse.
func checkFlatAgrees[Req any](t *testing.T, body string, parse func(string, *Req) bool) {
	t.Helper()
	var fast Req
	if !parse(body, &fast) {
		return
	}
	var slow Req
	if err := decodeBytes([]byte(body), &slow); err != nil {
		t.Fatalf("body %q: parseFlat read it, decodeBytes refuses it: %v", body, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("body %q:\nparseFlat   %+v\ndecodeBytes %+v", body, fast, slow)
	}
}

// parseWith is the fast path of decodeFlat alone.
func parseWith[Req any](field func(string, *Req) flatField) func(string, *Req) bool {
	return func(body string, req *Req) bool {
		return parseFlat(body, func(name string) flatField { return field(name, req) })
	}
}

var (
	parsePresign = parseWith(presignField)
	parsePost    = parseWith(postField)
	parseParts   = parseWith(partsField)
)

// FuzzFlatParsersAgree holds the presign, POST policy and part URLs requests that
// parseFlat reads to what decodeBytes makes of the same bodies.
func FuzzFlatParsersAgree(f *testing.F) {
	for _, b := range flatSeeds {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body string) {
		checkFlatAgrees(t, body, parsePresign)
		checkFlatAgrees(t, body, parsePost)
		checkFlatAgrees(t, body, parseParts)
	})
}

// TestFlatParsersReadTheCommonShape: the common bodies are read by parseFlat, not
// left to decodeBytes, so the fuzz target's comparisons are not vacuous.
func TestFlatParsersReadTheCommonShape(t *testing.T) {
	var pr presignRequest
	if !parsePresign(flatSeeds[1], &pr) || pr.Method != "PUT" || *pr.ContentLength != 1048576 {
		t.Errorf("presign body not read by parseFlat: %+v", pr)
	}
	var post postRequest
	if !parsePost(flatSeeds[4], &post) || post.ContentTypePrefix == nil || *post.ContentTypePrefix != "text/" || !post.Filename.Set {
		t.Errorf("POST policy body not read by parseFlat: %+v", post)
	}
	for _, b := range flatSeeds[6:] {
		if parsePost(b, new(postRequest)) {
			t.Errorf("parseFlat read %q, which it must leave to decodeBytes", b)
		}
	}
	var parts multipartPartsRequest
	if !parseParts(flatSeeds[25], &parts) || len(parts.PartNumbers) != 3 || parts.UploadID == "" || !parts.StrictTTL {
		t.Errorf("part URLs body not read by parseFlat: %+v", parts)
	}
	for _, b := range flatSeeds[26:30] {
		if !parseParts(b, new(multipartPartsRequest)) {
			t.Errorf("parseFlat left %q to decodeBytes", b)
		}
	}
	for _, b := range flatSeeds[30:] {
		if parseParts(b, new(multipartPartsRequest)) {
			t.Errorf("parseFlat read %q, which it must leave to decodeBytes", b)
		}
	}
}
