package api

import (
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// strictTargets are the request types the API decodes with decodeBytes.
var strictTargets = []func() any{
	func() any { return new(presignRequest) },
	func() any { return new(batchRequest) },
	func() any { return new(postRequest) },
	func() any { return new(multipartCreateRequest) },
	func() any { return new(multipartPartsRequest) },
	func() any { return new(multipartCompleteRequest) },
	func() any { return new(multipartAbortRequest) },
}

// strictCorpus holds bodies each path should accept and bodies that only one of them
// might: case, duplicates, numbers, escapes, bytes that are not UTF-8, nesting.
var strictCorpus = []string{
	`{"bucket":"media","key":"reports/q3.pdf","method":"GET","expires_in":900}`,
	`{"bucket":"media","key":"a","metadata":{"x":"1","x":"2"}}`,
	`{"bucket":"media","key":"a","metadata":{"X":"1","x":"2"}}`,
	`{"Bucket":"media","key":"a"}`,
	`{"bucket":"media","bucket":"other","key":"a"}`,
	`{"bucket":"media","key":"a","expires_in":1e3}`,
	`{"bucket":"media","key":"a","expires_in":1.0}`,
	`{"bucket":"media","key":"a","expires_in":-0}`,
	`{"bucket":"media","key":"a","expires_in":9223372036854775808}`,
	`{"bucket":"media","key":"a","expires_in":null,"content_length":null}`,
	`{"bucket":null,"key":"a"}`,
	`{"bucket":"media","key":"\ud800"}`,
	`{"bucket":"media","key":"\ud83d\ude00 \u00e9\u2028"}`,
	"{\"bucket\":\"media\",\"key\":\"\xff\"}",
	"{\"bucket\":\"media\",\"key\":\"a\",\"content_type\":\"\xc3\"}",
	`{"bucket":"media","key":"a"} `,
	`{"bucket":"media","key":"a"}{}`,
	`{"bucket":"media","key":"a"} x`,
	`{"bucket":"media","key":"a","unknown":1}`,
	`{"bucket":"media","key":"a","strict_ttl":"true"}`,
	`{"bucket":"media","key":"a","strict_ttl":true}`,
	`{"requests":[{"bucket":"media","key":"a"},{"bucket":"media","key":"b","method":"PUT"}]}`,
	`{"requests":[{"bucket":"media","key":"\ud800"}, 1, "x", null]}`,
	"{\"requests\":[{\"bucket\":\"media\",\"key\":\"\xff\"}]}",
	`{"requests":null}`,
	`{"bucket":"media","key_prefix":"uploads/","filename":"a.png","content_type":"image/png","max_content_length":1048576}`,
	`{"bucket":"media","key":"a","content_type_prefix":null}`,
	`{"bucket":"media","key":"a","upload_id":"v2.x.y","part_numbers":[1,2,3],"expires_in":60}`,
	`{"bucket":"media","key":"a","upload_id":"v2.x.y","part_numbers":[1,2147483648]}`,
	`{"bucket":"media","key":"a","upload_id":"v2.x.y","part_numbers":[1.5]}`,
	`{"bucket":"media","key":"a","upload_id":"v2.x.y","parts":[{"part_number":1,"etag":"\"abc\""}]}`,
	`{"bucket":"media","key":"a","upload_id":"v2.x.y","parts":[{"Part_Number":1,"ETAG":"abc"}]}`,
	`{"bucket":"media","key":"a","upload_id":"v2.x.y","parts":[{"part_number":1,"part_number":2,"etag":"abc"}]}`,
	`{"bucket":"media","key":"a","upload_id":"v2.x.y","parts":[{"part_number":1,"etag":"abc","size":3}]}`,
	`{"bucket":"media","key":"a","content_length":5,"part_size":5242880}`,
	`[]`, `"x"`, `null`, `{}`, `{"bucket":{}}`, `{"bucket":[]}`, `{"key":true}`,
}

// TestDecodeStrictAgrees holds decodeStrict to its promise: a body it accepts,
// decodeChecked accepts too, with the same values.
func TestDecodeStrictAgrees(t *testing.T) {
	accepted := 0
	for _, body := range strictCorpus {
		for _, target := range strictTargets {
			if checkStrictAgrees(t, []byte(body), target) {
				accepted++
			}
		}
	}
	if accepted == 0 {
		t.Fatal("decodeStrict accepted nothing: the fast path is never taken")
	}
}

func FuzzDecodeStrictAgrees(f *testing.F) {
	for _, body := range strictCorpus {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, target := range strictTargets {
			checkStrictAgrees(t, body, target)
		}
	})
}

func checkStrictAgrees(t *testing.T, body []byte, target func() any) bool {
	t.Helper()
	fast, slow := target(), target()
	if !decodeStrict(body, fast) {
		if !reflect.ValueOf(fast).Elem().IsZero() {
			t.Errorf("%T %q: decodeStrict failed but left values behind", fast, body)
		}
		return false
	}
	if err := decodeChecked(body, slow); err != nil {
		t.Errorf("%T %q: decodeStrict accepted what decodeChecked refuses: %v", fast, body, err)
		return true
	}
	if diff := cmp.Diff(slow, fast, cmp.AllowUnexported(exactString{})); diff != "" {
		t.Errorf("%T %q: the paths decode differently (-checked +strict):\n%s", fast, body, diff)
	}
	return true
}
