package identity

import (
	"crypto/x509"
	"net/url"
	"strings"
)

// FromCertificate is the principal of a verified client certificate: its SPIFFE ID
// (the one spiffe:// URI SAN) when it has one, else its first DNS SAN, is the
// subject. A certificate with neither, or with more than one SPIFFE ID (which the
// SPIFFE standard forbids), is refused.
func FromCertificate(cert *x509.Certificate) (Principal, error) {
	p := Principal{Kind: KindMTLS, Expires: cert.NotAfter}
	for _, u := range cert.URIs {
		if !strings.EqualFold(u.Scheme, "spiffe") {
			continue
		}
		if p.SPIFFEID != "" {
			return Principal{}, &Error{Reason: ReasonBadCertificate, Detail: "the client certificate has more than one SPIFFE ID"}
		}
		id, ok := spiffeID(u)
		if !ok {
			return Principal{}, &Error{Reason: ReasonBadCertificate, Detail: "the client certificate's SPIFFE ID is not valid"}
		}
		p.SPIFFEID = id
	}
	p.DNSNames = cert.DNSNames
	switch {
	case p.SPIFFEID != "":
		p.Subject = p.SPIFFEID
	case len(cert.DNSNames) > 0:
		p.Subject = cert.DNSNames[0]
	default:
		return Principal{}, &Error{Reason: ReasonBadCertificate, Detail: "the client certificate has neither a SPIFFE ID nor a DNS name"}
	}
	return p, nil
}

// spiffeID checks u against the SPIFFE ID rules (lower-case trust domain, no port,
// user, query or fragment, no empty, '.' or '..' segment) and returns it as a string.
func spiffeID(u *url.URL) (string, bool) {
	if u.Scheme != "spiffe" || u.Host == "" || u.Host != strings.ToLower(u.Host) || u.User != nil || u.Port() != "" ||
		u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || strings.HasSuffix(u.Path, "/") {
		return "", false
	}
	if u.Path != "" {
		for _, seg := range strings.Split(u.Path[1:], "/") {
			if seg == "" || seg == "." || seg == ".." {
				return "", false
			}
		}
	}
	return u.String(), true
}
