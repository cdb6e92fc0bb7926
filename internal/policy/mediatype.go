package policy

import (
	"fmt"
	"strings"
)

// MaxContentTypeBytes is the longest content type presignd signs.
const MaxContentTypeBytes = 256

// ParseContentType parses v as exactly one media type in the grammar of RFC 9110
// §8.3.1 and returns its essence, the lower-cased "type/subtype":
//
//	media-type = type "/" subtype *( OWS ";" OWS parameter )
//	parameter  = token "=" ( token / quoted-string )
//
// It is stricter than the grammar wherever a reader could see something else in the
// value, since S3 stores the value as given and browsers act on what they read in it:
//
//   - no comma anywhere, not even inside a quoted string: a browser that gets a list
//     of types acts on the last one, so "image/png;x=,text/html" renders as HTML;
//   - no backslash (quoted-pair), no empty parameter, no leading or trailing space;
//   - no wildcard type ("image/*") and none of the types that make a browser sniff
//     the content (unknown/unknown, application/unknown): an upload names one real
//     type;
//   - printable ASCII only (spaces and tabs only as the grammar's OWS), at most
//     MaxContentTypeBytes.
func ParseContentType(v string) (string, error) {
	bad := func(format string, args ...any) (string, error) {
		return "", fmt.Errorf(format, args...)
	}
	switch {
	case v == "":
		return bad("is empty")
	case len(v) > MaxContentTypeBytes:
		return bad("is %d bytes long, above the limit of %d", len(v), MaxContentTypeBytes)
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == ',':
			return bad("holds a comma: it must be one media type, and a browser reads a comma-separated list as several")
		case c == '\\':
			return bad("holds a backslash, which presignd does not accept in a media type")
		case c == '\t':
		case c < 0x20 || c > 0x7e:
			return bad("holds a byte that is not printable ASCII (0x%02x at %d)", c, i)
		}
	}
	typ, n := token(v)
	if n == 0 || n == len(v) || v[n] != '/' {
		return bad("is not a media type of the form type/subtype (such as image/png)")
	}
	sub, m := token(v[n+1:])
	if m == 0 {
		return bad("is not a media type of the form type/subtype (such as image/png)")
	}
	essence := strings.ToLower(typ + "/" + sub)
	switch {
	case strings.Contains(essence, "*"):
		return bad("is a wildcard; an upload names one media type such as image/png")
	case essence == "unknown/unknown" || essence == "application/unknown":
		return bad("is %s, which makes browsers guess the type from the content", essence)
	}
	rest := v[n+1+m:]
	for rest != "" {
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" {
			return bad("ends with white space")
		}
		if rest[0] != ';' {
			return bad("has %q after the media type where only ;-separated parameters may follow", clip(rest))
		}
		rest = strings.TrimLeft(rest[1:], " \t")
		name, k := token(rest)
		if k == 0 {
			return bad("has an empty or malformed parameter")
		}
		rest = rest[k:]
		if rest == "" || rest[0] != '=' {
			return bad("has a parameter %q without a value", name)
		}
		rest = rest[1:]
		if rest != "" && rest[0] == '"' {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return bad("has a quoted parameter value without its closing quote")
			}
			rest = rest[end+2:]
		} else {
			_, k = token(rest)
			if k == 0 {
				return bad("has a parameter %q with an empty or malformed value", name)
			}
			rest = rest[k:]
		}
		if rest != "" && rest[0] != ' ' && rest[0] != '\t' && rest[0] != ';' {
			return bad("has %q after parameter %q", clip(rest), name)
		}
	}
	if last := v[len(v)-1]; last == ' ' || last == '\t' {
		return bad("ends with white space")
	}
	return essence, nil
}

// token returns the RFC 9110 token at the start of s and its length.
func token(s string) (string, int) {
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	return s[:i], i
}

func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
