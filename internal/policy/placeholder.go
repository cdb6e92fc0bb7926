package policy

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Attributes are the identity attributes a prefix template can name. "client" is
// fixed per client; "subject" and "claims.NAME" are the caller's (CallerAttribute),
// and differ from one request to the next. Placeholders are expanded before matching,
// so the matcher only ever sees literal prefixes.
type Attributes map[string]string

// The attribute names.
const (
	AttrClient  = "client"
	AttrSubject = "subject"
	// AttrClaimPrefix starts the name of a claim attribute: "claims.email".
	AttrClaimPrefix = "claims."
)

// MaxSegment is the longest value a caller attribute may have.
const MaxSegment = 128

// CallerAttribute reports whether name is an attribute of the caller rather than of
// the client: "subject", or "claims." followed by a claim name of letters, digits,
// '_' and '-'.
func CallerAttribute(name string) bool {
	if name == AttrSubject {
		return true
	}
	claim, ok := strings.CutPrefix(name, AttrClaimPrefix)
	if !ok || claim == "" {
		return false
	}
	for i := 0; i < len(claim); i++ {
		c := claim[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// CheckSegment says why a caller attribute's value cannot stand in a prefix, or
// returns nil. It must be exactly one key segment, the same to S3 and to a browser:
// not empty, not "." or "..", no '/' or '\', no control character, valid UTF-8, at
// most MaxSegment bytes.
func CheckSegment(v string) error {
	switch {
	case v == "":
		return fmt.Errorf("is empty")
	case v == "." || v == "..":
		return fmt.Errorf("is %q", v)
	case len(v) > MaxSegment:
		return fmt.Errorf("is %d bytes, above %d", len(v), MaxSegment)
	case !utf8.ValidString(v):
		return fmt.Errorf("is not valid UTF-8")
	}
	for _, r := range v {
		switch {
		case r == '/' || r == '\\':
			return fmt.Errorf("holds %q", r)
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
			return fmt.Errorf("holds a control character")
		}
	}
	return nil
}

// Names lists the placeholder names of template, in order, with repeats; an error
// when a brace is unbalanced or a name is empty.
func Names(template string) ([]string, error) {
	var names []string
	rest := template
	for {
		open := strings.IndexByte(rest, '{')
		if closeOnly := strings.IndexByte(rest, '}'); closeOnly >= 0 && (open < 0 || closeOnly < open) {
			return nil, fmt.Errorf("prefix %q has a '}' without '{'", template)
		}
		if open < 0 {
			return names, nil
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("prefix %q has an unclosed '{'", template)
		}
		name := rest[open+1 : open+end]
		if name == "" || strings.ContainsAny(name, "{") {
			return nil, fmt.Errorf("prefix %q names an unknown placeholder {%s}", template, name)
		}
		names = append(names, name)
		rest = rest[open+end+1:]
	}
}

// Expand replaces every {name} in template with attrs[name]. An unknown name, an
// unclosed brace or a value containing "/" (which would move the prefix boundary)
// is an error.
func Expand(template string, attrs Attributes) (string, error) {
	if !strings.ContainsAny(template, "{}") {
		return template, nil
	}
	var b strings.Builder
	rest := template
	for {
		open := strings.IndexByte(rest, '{')
		if closeOnly := strings.IndexByte(rest, '}'); closeOnly >= 0 && (open < 0 || closeOnly < open) {
			return "", fmt.Errorf("prefix %q has a '}' without '{'", template)
		}
		if open < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return "", fmt.Errorf("prefix %q has an unclosed '{'", template)
		}
		name := rest[open+1 : open+end]
		val, ok := attrs[name]
		if !ok {
			return "", fmt.Errorf("prefix %q names an unknown placeholder {%s}", template, name)
		}
		if val == "" || strings.Contains(val, "/") {
			return "", fmt.Errorf("placeholder {%s} has a value that cannot stand in a prefix", name)
		}
		b.WriteString(rest[:open])
		b.WriteString(val)
		rest = rest[open+end+1:]
	}
}
