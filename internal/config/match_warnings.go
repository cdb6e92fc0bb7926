package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/presignd/presignd/internal/policy"
)

// selfAttributes expand a template for comparison: the client's name, and each
// caller attribute as its own placeholder, which stands for any one key segment.
func selfAttributes(client, template string) policy.Attributes {
	attrs := policy.Attributes{policy.AttrClient: nonEmpty(client)}
	names, _ := policy.Names(template)
	for _, n := range names {
		if policy.CallerAttribute(n) {
			attrs[n] = "{" + n + "}"
		}
	}
	return attrs
}

// placeholderWarnings reports caller placeholders a client's principals can never
// fill: claims come only from JWTs, so a client no issuer match leads to is denied
// wherever its prefixes name a claim.
func placeholderWarnings(path string, cl Client, g *Grant) []string {
	hasIssuer := slices.ContainsFunc(cl.Match, func(m Match) bool { return m.Issuer != "" })
	var w []string
	for k, tmpl := range g.Prefixes {
		names, _ := policy.Names(tmpl)
		for _, n := range names {
			switch {
			case !policy.CallerAttribute(n):
			case strings.HasPrefix(n, policy.AttrClaimPrefix) && !hasIssuer:
				w = append(w, fmt.Sprintf("%s.prefixes[%d]: {%s} is a JWT claim, and no match of this client names an issuer; every request under this prefix is denied", path, k, n))
			case cl.TokenSHA256 != "":
				w = append(w, fmt.Sprintf("%s.prefixes[%d]: {%s} is not known for the client's static token, whose callers are denied under this prefix ({client} names the client)", path, k, n))
			}
		}
	}
	return w
}

// matchWarnings reports matches that can never win: a principal they match is always
// matched first by an earlier match, of an earlier client or of the same one.
func matchWarnings(clients []Client) []string {
	type at struct{ client, match int }
	var w []string
	var earlier []at
	for i, cl := range clients {
		for k, m := range cl.Match {
			for _, e := range earlier {
				if covers(clients[e.client].Match[e.match], m) {
					what := fmt.Sprintf("clients[%d] (%s)", e.client, clients[e.client].Name)
					if e.client == i {
						what = "an earlier match of this client"
					}
					w = append(w, fmt.Sprintf("clients[%d].match[%d]: never wins: every principal it matches is matched first by clients[%d].match[%d], %s",
						i, k, e.client, e.match, what))
					break
				}
			}
			earlier = append(earlier, at{i, k})
		}
	}
	return w
}

// covers reports whether every principal b matches is matched by a.
func covers(a, b Match) bool {
	switch {
	case a.Issuer != "":
		if a.Issuer != b.Issuer || a.Subject != "" && a.Subject != b.Subject {
			return false
		}
		for name, v := range a.Claims {
			if bv, ok := b.Claims[name]; !ok || bv != v {
				return false
			}
		}
		return true
	case a.SPIFFEID != "":
		return a.SPIFFEID == b.SPIFFEID
	case a.DNSName != "":
		return strings.EqualFold(a.DNSName, b.DNSName)
	case a.ProxyUser != "":
		return a.ProxyUser == b.ProxyUser
	case a.ProxyGroup != "":
		return a.ProxyGroup == b.ProxyGroup
	}
	return false
}
