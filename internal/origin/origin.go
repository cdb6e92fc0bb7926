// Package origin parses web origins (RFC 6454) and the patterns that allow them, so
// that a CORS check compares parsed origins, never raw text.
//
// A pattern is "*" (any serialized origin), an origin such as
// "https://app.example.com" or "http://127.0.0.1:8080", or an origin whose port is
// "*" ("http://localhost:*": that scheme and host on any port). The opaque origin
// "null" (sandboxed frames, file: pages) matches no pattern, "*" included.
package origin

import (
	"errors"
	"strings"
)

// Pattern allows a set of origins.
type Pattern struct {
	any                bool
	scheme, host, port string
	anyPort            bool
}

// Parse reads a pattern. A trailing "/" is tolerated; a path, query or user part is not.
func Parse(s string) (Pattern, error) {
	if s == "*" {
		return Pattern{any: true}, nil
	}
	s = strings.TrimSuffix(s, "/")
	if strings.HasSuffix(s, ":*") {
		o, ok := parse(strings.TrimSuffix(s, ":*"))
		if !ok || o.port != "" {
			return Pattern{}, errors.New("is not an origin pattern such as http://localhost:*")
		}
		return Pattern{scheme: o.scheme, host: o.host, anyPort: true}, nil
	}
	o, ok := parse(s)
	if !ok {
		return Pattern{}, errors.New("is not an origin such as https://app.example.com")
	}
	return Pattern{scheme: o.scheme, host: o.host, port: o.port}, nil
}

// Match reports whether the Origin header value o is allowed.
func (p Pattern) Match(o string) bool {
	v, ok := parse(o)
	switch {
	case !ok:
		return false
	case p.any:
		return true
	}
	return v.scheme == p.scheme && v.host == p.host && (p.anyPort || v.port == p.port)
}

// List allows the origins any of its patterns allow.
type List []Pattern

// ParseList reads every pattern; the first error names its position.
func ParseList(patterns []string) (List, error) {
	l := make(List, 0, len(patterns))
	for _, s := range patterns {
		p, err := Parse(s)
		if err != nil {
			return nil, errors.New(s + " " + err.Error())
		}
		l = append(l, p)
	}
	return l, nil
}

// Match reports whether any pattern allows the Origin header value o.
func (l List) Match(o string) bool {
	for _, p := range l {
		if p.Match(o) {
			return true
		}
	}
	return false
}

type serialized struct{ scheme, host, port string }

// parse reads a serialized origin: scheme "://" host [ ":" port ], with an http or
// https scheme, a host of letters, digits, '.', '-' and '_' or a bracketed IPv6
// address, and a port of 1 to 5 digits. Scheme and host are compared lower-cased.
func parse(s string) (serialized, bool) {
	scheme, rest, ok := strings.Cut(s, "://")
	scheme = strings.ToLower(scheme)
	if !ok || (scheme != "http" && scheme != "https") || rest == "" {
		return serialized{}, false
	}
	var host, port string
	if rest[0] == '[' {
		end := strings.IndexByte(rest, ']')
		if end < 2 {
			return serialized{}, false
		}
		host, rest = rest[:end+1], rest[end+1:]
		for _, c := range host[1 : len(host)-1] {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.') {
				return serialized{}, false
			}
		}
	} else {
		i := strings.IndexByte(rest, ':')
		if i < 0 {
			i = len(rest)
		}
		host, rest = rest[:i], rest[i:]
		if host == "" {
			return serialized{}, false
		}
		for _, c := range host {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '-' || c == '_') {
				return serialized{}, false
			}
		}
	}
	if rest != "" {
		if rest[0] != ':' || len(rest) < 2 || len(rest) > 6 {
			return serialized{}, false
		}
		port = rest[1:]
		for _, c := range port {
			if c < '0' || c > '9' {
				return serialized{}, false
			}
		}
	}
	return serialized{scheme: scheme, host: strings.ToLower(host), port: port}, true
}
