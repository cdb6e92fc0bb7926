package policy

import (
	"fmt"
	"strings"
)

// Attributes are the identity attributes a prefix template can name, such as
// "client". Placeholders are expanded before matching, so the matcher only ever sees
// literal prefixes; the package documentation says how to add an attribute.
type Attributes map[string]string

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
