package identity

import (
	"crypto/x509"
	"encoding/asn1"
	"strings"
)

// FromCertificate is the principal of a verified client certificate: its SPIFFE ID
// (the one spiffe:// URI SAN) when it has one, else its first DNS SAN, is the
// subject. A certificate with neither, or with more than one SPIFFE ID (which the
// SPIFFE standard forbids), is refused.
func FromCertificate(cert *x509.Certificate) (Principal, error) {
	p := Principal{Kind: KindMTLS, Expires: cert.NotAfter}
	for _, id := range uriSANs(cert) {
		if len(id) < len("spiffe:") || !strings.EqualFold(id[:len("spiffe:")], "spiffe:") {
			continue
		}
		if p.SPIFFEID != "" {
			return Principal{}, &Error{Reason: ReasonBadCertificate, Detail: "the client certificate has more than one SPIFFE ID"}
		}
		if !ValidSPIFFEID(id) {
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

// oidSubjectAltName is the subject alternative name extension.
var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// uriSANs are the certificate's URI SANs as written in it. crypto/x509 gives them
// parsed by url.Parse, which loses a bare '?' or '#' ("spiffe://td/a#" becomes
// "spiffe://td/a"), so they are read from the extension itself; a certificate that
// was not parsed from DER (no extension) gives its URIs as they are.
func uriSANs(cert *x509.Certificate) []string {
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(oidSubjectAltName) {
			continue
		}
		var seq asn1.RawValue
		if rest, err := asn1.Unmarshal(ext.Value, &seq); err != nil || len(rest) > 0 {
			return nil
		}
		var uris []string
		for rest := seq.Bytes; len(rest) > 0; {
			var name asn1.RawValue
			var err error
			if rest, err = asn1.Unmarshal(rest, &name); err != nil {
				return nil
			}
			if name.Class == asn1.ClassContextSpecific && name.Tag == 6 { // uniformResourceIdentifier
				uris = append(uris, string(name.Bytes))
			}
		}
		return uris
	}
	uris := make([]string, len(cert.URIs))
	for i, u := range cert.URIs {
		uris[i] = u.String()
	}
	return uris
}

// ValidSPIFFEID reports whether id is a SPIFFE ID as the standard writes it:
// "spiffe://", a trust domain of lower-case letters, digits, '.', '_' and '-', then
// path segments of letters, digits, '.', '_' and '-' (no percent-encoding, no empty
// segment), none of them "." or "..". It is read byte by byte, since every request
// with a client certificate asks.
func ValidSPIFFEID(id string) bool {
	rest, ok := strings.CutPrefix(id, "spiffe://")
	if !ok {
		return false
	}
	domain, path, _ := strings.Cut(rest, "/")
	if domain == "" {
		return false
	}
	for i := 0; i < len(domain); i++ {
		if c := domain[i]; !spiffePathByte(c) || c >= 'A' && c <= 'Z' {
			return false
		}
	}
	if len(rest) == len(domain) {
		return true // no path
	}
	for {
		seg, more, found := strings.Cut(path, "/")
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for i := 0; i < len(seg); i++ {
			if !spiffePathByte(seg[i]) {
				return false
			}
		}
		if !found {
			return true
		}
		path = more
	}
}

// spiffePathByte reports whether c may be in a SPIFFE ID's path segment.
func spiffePathByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}
