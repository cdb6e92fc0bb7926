package identity

import (
	"slices"
	"strings"
)

// Match says which principals are one configured client: every field set must hold.
// Exactly one of Issuer, SPIFFEID, DNSName, ProxyUser and ProxyGroup is set (the
// config checks it); Subject and Claims narrow an Issuer match.
type Match struct {
	// Issuer is a configured issuer's name; Subject, when set, the exact sub, and
	// Claims string claims that must have exactly these values.
	Issuer  string
	Subject string
	Claims  map[string]string
	// SPIFFEID and DNSName match a client certificate's SAN.
	SPIFFEID string
	DNSName  string
	// ProxyUser and ProxyGroup match the trusted proxy's user or one of its groups.
	ProxyUser  string
	ProxyGroup string
}

// Matches reports whether p is a principal m describes.
func (m *Match) Matches(p *Principal) bool {
	switch {
	case m.Issuer != "":
		if p.Kind != KindJWT || p.Issuer != m.Issuer || m.Subject != "" && p.Subject != m.Subject {
			return false
		}
		for name, want := range m.Claims {
			if got, ok := p.Claims[name]; !ok || got != want {
				return false
			}
		}
		return true
	case m.SPIFFEID != "":
		return p.Kind == KindMTLS && p.SPIFFEID == m.SPIFFEID
	case m.DNSName != "":
		return p.Kind == KindMTLS && slices.ContainsFunc(p.DNSNames, func(n string) bool { return strings.EqualFold(n, m.DNSName) })
	case m.ProxyUser != "":
		return p.Kind == KindProxy && p.Subject == m.ProxyUser
	case m.ProxyGroup != "":
		return p.Kind == KindProxy && slices.Contains(p.Groups, m.ProxyGroup)
	}
	return false
}

// Attributes are the principal's values that prefix templates can name: "subject"
// and "claims.NAME" (the policy package's caller attributes). A static token has
// none: its client's name is {client}.
func (p *Principal) Attributes() map[string]string {
	if p.Kind == KindToken || p.Kind == "" {
		return nil
	}
	attrs := make(map[string]string, 1+len(p.Claims))
	attrs["subject"] = p.Subject
	for name, v := range p.Claims {
		attrs["claims."+name] = v
	}
	return attrs
}
