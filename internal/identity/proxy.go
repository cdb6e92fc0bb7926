package identity

import (
	"net/http"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// Proxy reads the identity headers of a trusted auth proxy (such as oauth2-proxy).
// Only a request whose peer address is one of Peers is read: the same headers from
// any other peer are ignored, as if absent.
type Proxy struct {
	Peers        []netip.Prefix
	UserHeader   string
	GroupsHeader string
}

// maxProxyValue bounds the user and each group.
const maxProxyValue = 256

// Trusted reports whether the request came straight from a trusted proxy.
func (p *Proxy) Trusted(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	addr := ap.Addr().Unmap().WithZone("")
	for _, pfx := range p.Peers {
		if pfx.Contains(addr) {
			return true
		}
	}
	return false
}

// Identify returns the principal the proxy names. ok is false when the request is
// not from a trusted peer or carries no user header: then it has no proxy identity.
func (p *Proxy) Identify(r *http.Request) (pr Principal, ok bool, err error) {
	if !p.Trusted(r) {
		return Principal{}, false, nil
	}
	users := r.Header.Values(p.UserHeader)
	if len(users) == 0 {
		return Principal{}, false, nil
	}
	user := strings.TrimSpace(users[0])
	if len(users) > 1 || !proxyValue(user) {
		return Principal{}, true, &Error{Reason: ReasonMalformed, Detail: "the proxy's user header does not hold one user"}
	}
	pr = Principal{Kind: KindProxy, Subject: user}
	for _, v := range r.Header.Values(p.GroupsHeader) {
		for _, g := range strings.Split(v, ",") {
			if g = strings.TrimSpace(g); g == "" {
				continue
			}
			if !proxyValue(g) {
				return Principal{}, true, &Error{Reason: ReasonMalformed, Detail: "the proxy's groups header holds a value that is not a group"}
			}
			pr.Groups = append(pr.Groups, g)
		}
	}
	return pr, true, nil
}

// proxyValue reports a non-empty value of printable characters (no C0 or C1 control
// character, no DEL), at most maxProxyValue bytes.
func proxyValue(s string) bool {
	if s == "" || len(s) > maxProxyValue || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r >= 0x7f && r < 0xa0 {
			return false
		}
	}
	return true
}
