package policy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/presignd/presignd/internal/policy"
)

func TestValidateBucket(t *testing.T) {
	tests := []struct {
		name   string
		bucket string
		ok     bool
	}{
		{name: "plain", bucket: "media", ok: true},
		{name: "shortest", bucket: "abc", ok: true},
		{name: "longest", bucket: strings.Repeat("a", 63), ok: true},
		{name: "digits dots dashes", bucket: "logs-2026.eu-west-1", ok: true},
		{name: "starts with a digit", bucket: "1bucket", ok: true},
		{name: "three dotted labels of digits", bucket: "192.168.5", ok: true},
		{name: "reserved word inside", bucket: "my-xn--bucket", ok: true},

		{name: "empty", bucket: "", ok: false},
		{name: "too short", bucket: "ab", ok: false},
		{name: "too long", bucket: strings.Repeat("a", 64), ok: false},
		{name: "uppercase", bucket: "Media", ok: false},
		{name: "underscore", bucket: "my_bucket", ok: false},
		{name: "space", bucket: "my bucket", ok: false},
		{name: "slash", bucket: "my/bucket", ok: false},
		{name: "non-ASCII", bucket: "bücket", ok: false},
		{name: "starts with a dash", bucket: "-bucket", ok: false},
		{name: "ends with a dash", bucket: "bucket-", ok: false},
		{name: "starts with a dot", bucket: ".bucket", ok: false},
		{name: "ends with a dot", bucket: "bucket.", ok: false},
		{name: "two adjacent dots", bucket: "my..bucket", ok: false},
		{name: "IP address", bucket: "192.168.5.4", ok: false},
		{name: "IP-like with leading zeros", bucket: "192.168.05.004", ok: false},
		{name: "IP-like out of range", bucket: "999.999.999.999", ok: false},
		{name: "prefix xn--", bucket: "xn--bucket", ok: false},
		{name: "prefix sthree-", bucket: "sthree-bucket", ok: false},
		{name: "prefix sthree-configurator", bucket: "sthree-configurator", ok: false},
		{name: "prefix amzn-s3-demo-", bucket: "amzn-s3-demo-bucket", ok: false},
		{name: "suffix -s3alias", bucket: "bucket-s3alias", ok: false},
		{name: "suffix --ol-s3", bucket: "bucket--ol-s3", ok: false},
		{name: "suffix .mrap", bucket: "bucket.mrap", ok: false},
		{name: "suffix --x-s3", bucket: "bucket--x-s3", ok: false},
		{name: "suffix --table-s3", bucket: "bucket--table-s3", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := policy.ValidateBucket(tt.bucket)
			checkInvalid(t, err, tt.ok, policy.FieldBucket)
		})
	}
}

func TestValidateKey(t *testing.T) {
	tests := []struct {
		name string
		key  string
		ok   bool
	}{
		{name: "plain", key: "reports/2026/11.csv", ok: true},
		{name: "single byte", key: "a", ok: true},
		{name: "1024 bytes", key: strings.Repeat("k", 1024), ok: true},
		{name: "1024 bytes of multibyte runes", key: strings.Repeat("é", 512), ok: true},
		{name: "trailing slash", key: "folder/", ok: true},
		{name: "dot inside a name", key: "a.b", ok: true},
		{name: "leading dot", key: ".a", ok: true},
		{name: "leading two dots", key: "..a", ok: true},
		{name: "trailing dots", key: "a..", ok: true},
		{name: "hidden file in a folder", key: "a/.b", ok: true},
		{name: "three dots", key: "a/.../b", ok: true},
		{name: "awkward characters", key: "a b+c=d&e%f#g?h'i\"j(k)[l]{m}", ok: true},
		{name: "backslash", key: `a\..\b`, ok: true},
		{name: "NFD accent", key: "cafe\u0301", ok: true},
		{name: "CJK and emoji", key: "日本/🎉.png", ok: true},
		{name: "non-breaking space is not a control", key: "a\u00a0b", ok: true},

		{name: "empty", key: "", ok: false},
		{name: "1025 bytes", key: strings.Repeat("k", 1025), ok: false},
		{name: "1025 bytes with multibyte runes", key: "k" + strings.Repeat("é", 512), ok: false},
		{name: "invalid UTF-8", key: "a\xffb", ok: false},
		{name: "truncated UTF-8", key: "a\xc3", ok: false},
		{name: "encoded surrogate", key: "a\xed\xa0\x80", ok: false},
		{name: "NUL", key: "a\x00b", ok: false},
		{name: "newline", key: "a\nb", ok: false},
		{name: "tab", key: "a\tb", ok: false},
		{name: "unit separator", key: "a\x1fb", ok: false},
		{name: "DEL", key: "a\x7fb", ok: false},
		{name: "C1 NEL", key: "a\u0085b", ok: false},
		{name: "C1 first", key: "a\u0080b", ok: false},
		{name: "C1 last", key: "a\u009fb", ok: false},
		{name: "leading slash", key: "/a", ok: false},
		{name: "only a slash", key: "/", ok: false},
		{name: "double slash", key: "a//b", ok: false},
		{name: "trailing double slash", key: "a//", ok: false},
		{name: "dot", key: ".", ok: false},
		{name: "dot dot", key: "..", ok: false},
		{name: "leading dot segment", key: "./a", ok: false},
		{name: "leading dot dot segment", key: "../a", ok: false},
		{name: "middle dot segment", key: "a/./b", ok: false},
		{name: "middle dot dot segment", key: "a/../b", ok: false},
		{name: "trailing dot segment", key: "a/.", ok: false},
		{name: "trailing dot dot segment", key: "a/..", ok: false},
		{name: "dot segment before a trailing slash", key: "a/../", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := policy.ValidateKey(tt.key)
			checkInvalid(t, err, tt.ok, policy.FieldKey)
		})
	}
}

func checkInvalid(t *testing.T, err error, ok bool, field policy.Field) {
	t.Helper()
	if ok {
		if err != nil {
			t.Errorf("got error %v, want none", err)
		}
		return
	}
	var inv *policy.InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("got error %v, want an InvalidError", err)
	}
	if inv.Field != field {
		t.Errorf("got field %s, want %s", inv.Field, field)
	}
	if inv.Detail == "" {
		t.Error("got an empty detail, want the broken rule")
	}
}

func TestValidateErrorsClipLongValues(t *testing.T) {
	err := policy.ValidateBucket(strings.Repeat("b", 500))
	if err == nil {
		t.Fatal("got no error, want one")
	}
	if n := len(err.Error()); n > 200 {
		t.Errorf("got a message of %d bytes, want the value clipped", n)
	}
}
