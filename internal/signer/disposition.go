package signer

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// AttachmentDisposition builds an RFC 6266 attachment Content-Disposition for a
// download file name: an ASCII filename for old clients and, when the name is not
// plain ASCII, an RFC 5987 filename* with its UTF-8 bytes percent-encoded.
func AttachmentDisposition(name string) (string, error) {
	switch {
	case name == "", name == ".", name == "..":
		return "", errors.New("must be a file name")
	case !utf8.ValidString(name):
		return "", errors.New("must be valid UTF-8")
	case len(name) > 255:
		return "", errors.New("must be at most 255 bytes")
	case strings.ContainsAny(name, "/\\"):
		return "", errors.New("must be a file name, without '/' or '\\'")
	}
	var ascii strings.Builder
	plain := true
	for _, r := range name {
		switch {
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			return "", errors.New("must not contain control characters")
		case r > 0x7e:
			plain = false
			ascii.WriteByte('_')
		case r == '"':
			plain = false
			ascii.WriteByte('_')
		default:
			ascii.WriteRune(r)
		}
	}
	v := `attachment; filename="` + ascii.String() + `"`
	if !plain {
		v += "; filename*=UTF-8''" + rfc5987Escape(name)
	}
	return v, nil
}

// rfc5987Escape percent-encodes everything but RFC 5987's attr-char.
func rfc5987Escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
