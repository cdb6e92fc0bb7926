package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/presignd/presignd/internal/policy"
)

// Warnings lists what is valid but probably not meant, each as "path: message":
// rules that can never apply, grants that can never be chosen because another grant
// of the same client always is, and prefixes that add nothing. It expects a config
// that validates; values Validate refuses are skipped.
func (c *Config) Warnings() []string {
	var w []string
	for i, cl := range c.Clients {
		w = append(w, clientWarnings(fmt.Sprintf("clients[%d]", i), cl)...)
	}
	return append(w, matchWarnings(c.Clients)...)
}

// grantInfo is a grant with its prefixes expanded for its client.
type grantInfo struct {
	g        *Grant
	prefixes []string // expanded; "" where a template does not expand
	// redundant marks prefixes that another prefix of the same grant already covers.
	redundant []bool
	// invalid is set when a prefix does not validate: the grant is not compared.
	invalid bool
}

func clientWarnings(path string, cl Client) []string {
	var w []string
	grants := make([]grantInfo, len(cl.Grants))
	for j := range cl.Grants {
		g := &cl.Grants[j]
		gp := fmt.Sprintf("%s.grants[%d]", path, j)
		if !slices.Contains(g.Methods, policy.MethodPut) {
			if len(g.ContentTypes) > 0 {
				w = append(w, gp+".content_types: applies to uploads only, and this grant does not allow PUT")
			}
			if g.MaxContentLength != nil {
				w = append(w, gp+".max_content_length: applies to uploads only, and this grant does not allow PUT")
			}
		}
		w = append(w, placeholderWarnings(gp, cl, g)...)
		gi := grantInfo{g: g, prefixes: make([]string, len(g.Prefixes)), redundant: make([]bool, len(g.Prefixes))}
		gi.invalid = len(g.Prefixes) == 0 || g.MaxTTL == nil
		for k, tmpl := range g.Prefixes {
			p, err := policy.Expand(tmpl, selfAttributes(cl.Name, tmpl))
			gi.prefixes[k] = p
			if err != nil || p != "" && !strings.HasSuffix(p, "/") {
				gi.invalid = true
			}
		}
		if !gi.invalid {
			w = append(w, prefixWarnings(gp, &gi)...)
		}
		grants[j] = gi
	}
	return append(w, shadowWarnings(path, grants)...)
}

// prefixWarnings reports prefixes of one grant that are listed twice or that a
// shorter prefix of the same grant already covers, and marks them redundant.
func prefixWarnings(path string, gi *grantInfo) []string {
	var w []string
	for k, p := range gi.prefixes {
		for m, q := range gi.prefixes {
			if m == k {
				continue
			}
			switch {
			case p == q && m < k:
				w = append(w, fmt.Sprintf("%s.prefixes[%d]: %q is the same prefix as prefixes[%d]", path, k, gi.g.Prefixes[k], m))
			case p != q && strings.HasPrefix(p, q):
				w = append(w, fmt.Sprintf("%s.prefixes[%d]: %q is already covered by prefixes[%d] %q", path, k, gi.g.Prefixes[k], m, gi.g.Prefixes[m]))
			default:
				continue
			}
			gi.redundant[k] = true
			break
		}
	}
	return w
}

// shadowWarnings reports grants, and prefixes of grants, that can never be chosen:
// for every key under them another grant of the client on the same bucket allows
// whatever they allow and wins (a longer max_ttl, or the same and earlier in the
// file).
func shadowWarnings(path string, grants []grantInfo) []string {
	var w []string
	// Grants by bucket and expanded prefix, to find the grants covering a prefix
	// without comparing every pair of grants.
	byPrefix := map[string]map[string][]int{}
	for j, gi := range grants {
		if gi.invalid {
			continue
		}
		b := byPrefix[gi.g.Bucket]
		if b == nil {
			b = map[string][]int{}
			byPrefix[gi.g.Bucket] = b
		}
		for _, p := range gi.prefixes {
			if l := b[p]; len(l) == 0 || l[len(l)-1] != j {
				b[p] = append(b[p], j)
			}
		}
	}
	for a, ga := range grants {
		if ga.invalid {
			continue
		}
		// shadowers[k] are the grants that shadow prefix k, in file order.
		shadowers := make([][]int, len(ga.prefixes))
		for k, p := range ga.prefixes {
			for _, q := range coveringPrefixes(p) {
				for _, b := range byPrefix[ga.g.Bucket][q] {
					if b != a && !slices.Contains(shadowers[k], b) && shadows(grants[b].g, b, ga.g, a) {
						shadowers[k] = append(shadowers[k], b)
					}
				}
			}
			slices.Sort(shadowers[k])
		}
		if b, ok := shadowsAll(shadowers); ok {
			w = append(w, fmt.Sprintf("%s.grants[%d]: shadowed by %s.grants[%d], which covers all its prefixes, allows all its methods with upload rules no stricter, and is chosen first (max_ttl %s against %s); this grant is never used",
				path, a, path, b, grants[b].g.MaxTTL, ga.g.MaxTTL))
			continue
		}
		for k, s := range shadowers {
			if len(s) == 0 || ga.redundant[k] {
				continue
			}
			w = append(w, fmt.Sprintf("%s.grants[%d].prefixes[%d]: %q is shadowed by %s.grants[%d], which allows all this grant's methods there with upload rules no stricter, and is chosen first; keys under it never use this grant",
				path, a, k, ga.g.Prefixes[k], path, s[0]))
		}
	}
	return w
}

// coveringPrefixes are the prefixes that can cover p: "" and each slash-terminated
// start of p, p itself included.
func coveringPrefixes(p string) []string {
	out := []string{""}
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			out = append(out, p[:i+1])
		}
	}
	return out
}

// shadowsAll returns the first grant that shadows every prefix.
func shadowsAll(shadowers [][]int) (int, bool) {
	for _, b := range shadowers[0] {
		all := true
		for _, s := range shadowers[1:] {
			if !slices.Contains(s, b) {
				all = false
				break
			}
		}
		if all {
			return b, true
		}
	}
	return 0, false
}

// shadows reports whether grant b (at index bi) wins over grant a (at index ai)
// wherever both cover a key: b allows every method of a, its upload rules admit
// every upload a admits, and it is chosen first.
func shadows(b *Grant, bi int, a *Grant, ai int) bool {
	if b.MaxTTL.D < a.MaxTTL.D || b.MaxTTL.D == a.MaxTTL.D && bi > ai {
		return false
	}
	for _, m := range a.Methods {
		if !slices.Contains(b.Methods, m) {
			return false
		}
	}
	if !slices.Contains(a.Methods, policy.MethodPut) {
		return true
	}
	if len(b.ContentTypes) > 0 {
		if len(a.ContentTypes) == 0 {
			return false
		}
		for _, t := range a.ContentTypes {
			if !mediaRangeCovered(t, b.ContentTypes) {
				return false
			}
		}
	}
	if b.MaxContentLength != nil && (a.MaxContentLength == nil || *a.MaxContentLength > *b.MaxContentLength) {
		return false
	}
	return true
}

// mediaRangeCovered reports whether every content type the pattern t admits is
// admitted by one of patterns.
func mediaRangeCovered(t string, patterns []string) bool {
	t = strings.ToLower(strings.TrimSpace(t))
	for _, p := range patterns {
		p = strings.ToLower(strings.TrimSpace(p))
		switch {
		case p == "*/*", p == t:
			return true
		case strings.HasSuffix(p, "/*") && t != "*/*" && strings.HasPrefix(t, strings.TrimSuffix(p, "*")):
			return true
		}
	}
	return false
}
