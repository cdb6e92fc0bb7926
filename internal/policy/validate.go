package policy

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxKeyBytes is the longest object key S3 accepts.
const MaxKeyBytes = 1024

// ValidateRequest checks the request's values against S3's and presignd's rules.
func ValidateRequest(req Request) error {
	if err := ValidateBucket(req.Bucket); err != nil {
		return err
	}
	if err := ValidateKey(req.Key); err != nil {
		return err
	}
	if !hasMethod(Methods, req.Method) {
		return &InvalidError{Field: FieldMethod, Detail: fmt.Sprintf("method %q is not one of GET, PUT, HEAD, DELETE", req.Method)}
	}
	if req.TTL < 1 {
		return &InvalidError{Field: FieldExpiresIn, Detail: "expires_in must be at least 1 second"}
	}
	if req.ContentType != "" {
		if _, err := ParseContentType(req.ContentType); err != nil {
			return &InvalidError{Field: FieldContentType, Detail: "content_type " + err.Error()}
		}
	}
	return nil
}

// ValidateBucket applies S3's bucket naming rules.
func ValidateBucket(b string) error {
	bad := func(why string) error {
		return &InvalidError{Field: FieldBucket, Detail: fmt.Sprintf("bucket %q %s", clip(b), why)}
	}
	if len(b) < 3 || len(b) > 63 {
		return bad("must be 3 to 63 characters long")
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return bad("may contain only lowercase letters, digits, '.' and '-'")
		}
	}
	if !isAlnum(b[0]) || !isAlnum(b[len(b)-1]) {
		return bad("must start and end with a letter or digit")
	}
	if strings.Contains(b, "..") {
		return bad("must not contain two adjacent periods")
	}
	if looksLikeIPv4(b) {
		return bad("must not be formatted as an IP address")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(b, p) {
			return bad(fmt.Sprintf("must not start with %q", p))
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(b, s) {
			return bad(fmt.Sprintf("must not end with %q", s))
		}
	}
	return nil
}

// looksLikeIPv4 reports whether b is four dot-separated runs of digits. S3 refuses
// such names whether or not each number would be a valid octet ("192.168.01.1",
// "999.0.0.1"), so netip.ParseAddr alone is not enough.
func looksLikeIPv4(b string) bool {
	dots, run := 0, 0
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '.':
			if run == 0 {
				return false
			}
			dots, run = dots+1, 0
		case c >= '0' && c <= '9':
			run++
		default:
			return false
		}
	}
	return dots == 3 && run > 0
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// ValidateKey applies presignd's object key rules: valid UTF-8, 1 to 1024 bytes, no
// control characters, no leading "/", no "//", and no "." or ".." segment. Keys are
// never normalised: what passes here is what is signed.
func ValidateKey(k string) error {
	if plainKey(k) {
		return nil
	}
	return validateKey(k)
}

// plainKey reports whether k is printable ASCII that passes every rule of
// validateKey, in one pass over its bytes. It is false for any other key, which
// validateKey then checks (and explains); TestPlainKeyAgrees and FuzzValidateKey hold
// the two to the same verdicts.
func plainKey(k string) bool {
	if k == "" || len(k) > MaxKeyBytes || k[0] == '/' {
		return false
	}
	seg := 0 // where the current segment starts
	for i := 0; i < len(k); i++ {
		switch c := k[i]; {
		case c < 0x20 || c > 0x7e:
			return false
		case c == '/':
			// An empty segment here is a "//": k does not start with '/'.
			if s := k[seg:i]; s == "" || s == "." || s == ".." {
				return false
			}
			seg = i + 1
		}
	}
	s := k[seg:]
	return s != "." && s != ".."
}

// validateKey is ValidateKey rule by rule, with the error of the first one broken.
func validateKey(k string) error {
	bad := func(why string) error {
		return &InvalidError{Field: FieldKey, Detail: "key " + why}
	}
	switch {
	case k == "":
		return bad("must not be empty")
	case len(k) > MaxKeyBytes:
		return bad(fmt.Sprintf("is %d bytes long, above S3's limit of %d", len(k), MaxKeyBytes))
	case !utf8.ValidString(k):
		return bad("is not valid UTF-8")
	case k[0] == '/':
		return bad("must not start with '/'")
	case strings.Contains(k, "//"):
		return bad("must not contain '//'")
	}
	for i, r := range k {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			return bad(fmt.Sprintf("contains the control character U+%04X at byte %d", r, i))
		}
	}
	for seg := range strings.SplitSeq(k, "/") {
		if seg == "." || seg == ".." {
			return bad(fmt.Sprintf("must not contain a %q segment", seg))
		}
	}
	return nil
}

// clip shortens a value for an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
