package identity_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/presignd/presignd/internal/identity"
)

// certWith is a client certificate with these SANs, made and parsed as the TLS stack
// gives it (DER). The SAN extension is written by hand, so that each URI is exactly
// the text given (crypto/x509 would write url.URL.String(), which drops a bare '?'
// or '#').
func certWith(t testing.TB, uris []string, dnsNames ...string) *x509.Certificate {
	t.Helper()
	var names []asn1.RawValue
	for _, u := range uris {
		names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(u)})
	}
	for _, d := range dnsNames {
		names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte(d)})
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if len(names) > 0 {
		san, err := asn1.Marshal(names)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: san}}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parsing a certificate with SANs %q %q: %v", uris, dnsNames, err)
	}
	return c
}

func TestFromCertificate(t *testing.T) {
	expires := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name     string
		uris     []string
		dnsNames []string
		want     identity.Principal
	}{
		{
			name: "SPIFFE ID",
			uris: []string{"spiffe://example.org/ns/ops/sa/dashboard"},
			want: identity.Principal{Kind: identity.KindMTLS, Subject: "spiffe://example.org/ns/ops/sa/dashboard", SPIFFEID: "spiffe://example.org/ns/ops/sa/dashboard", Expires: expires},
		},
		{
			name:     "SPIFFE ID before DNS names",
			uris:     []string{"spiffe://example.org/ns/ops"},
			dnsNames: []string{"dashboard.ops.example.org"},
			want:     identity.Principal{Kind: identity.KindMTLS, Subject: "spiffe://example.org/ns/ops", SPIFFEID: "spiffe://example.org/ns/ops", DNSNames: []string{"dashboard.ops.example.org"}, Expires: expires},
		},
		{
			name: "SPIFFE ID of a trust domain",
			uris: []string{"spiffe://example.org"},
			want: identity.Principal{Kind: identity.KindMTLS, Subject: "spiffe://example.org", SPIFFEID: "spiffe://example.org", Expires: expires},
		},
		{
			name:     "first DNS name without a SPIFFE ID",
			dnsNames: []string{"dashboard.ops.example.org", "ops.example.org"},
			want:     identity.Principal{Kind: identity.KindMTLS, Subject: "dashboard.ops.example.org", DNSNames: []string{"dashboard.ops.example.org", "ops.example.org"}, Expires: expires},
		},
		{
			name:     "other URIs are not SPIFFE IDs",
			uris:     []string{"https://example.org/ops", "urn:example:ops"},
			dnsNames: []string{"ops.example.org"},
			want:     identity.Principal{Kind: identity.KindMTLS, Subject: "ops.example.org", DNSNames: []string{"ops.example.org"}, Expires: expires},
		},
		{
			name: "a SPIFFE ID beside other URIs",
			uris: []string{"https://example.org/ops", "spiffe://example.org/ops"},
			want: identity.Principal{Kind: identity.KindMTLS, Subject: "spiffe://example.org/ops", SPIFFEID: "spiffe://example.org/ops", Expires: expires},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := identity.FromCertificate(certWith(t, tt.uris, tt.dnsNames...))
			if err != nil {
				t.Fatalf("got error %v, want a principal", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("principal mismatch:\n%s", diff)
			}
		})
	}
}

func TestFromCertificateRefuses(t *testing.T) {
	tests := []struct {
		name     string
		uris     []string
		dnsNames []string
		detail   string
	}{
		{name: "no SAN", detail: "the client certificate has neither a SPIFFE ID nor a DNS name"},
		{name: "only other URIs", uris: []string{"https://example.org/ops"}, detail: "neither a SPIFFE ID nor a DNS name"},
		{name: "two SPIFFE IDs", uris: []string{"spiffe://example.org/a", "spiffe://example.org/b"}, detail: "the client certificate has more than one SPIFFE ID"},
		{name: "the same SPIFFE ID twice", uris: []string{"spiffe://example.org/a", "spiffe://example.org/a"}, detail: "more than one SPIFFE ID"},
		{name: "uppercase trust domain", uris: []string{"spiffe://Example.org/ns/ops"}, detail: "the client certificate's SPIFFE ID is not valid"},
		{name: "port", uris: []string{"spiffe://example.org:8443/ns/ops"}, detail: "SPIFFE ID is not valid"},
		{name: "query", uris: []string{"spiffe://example.org/ns/ops?x=1"}, detail: "SPIFFE ID is not valid"},
		{name: "fragment", uris: []string{"spiffe://example.org/ns/ops#x"}, detail: "SPIFFE ID is not valid"},
		{name: "user", uris: []string{"spiffe://ops@example.org/ns/ops"}, detail: "SPIFFE ID is not valid"},
		{name: "empty segment", uris: []string{"spiffe://example.org/ns//ops"}, detail: "SPIFFE ID is not valid"},
		{name: "dot segment", uris: []string{"spiffe://example.org/ns/./ops"}, detail: "SPIFFE ID is not valid"},
		{name: "dot-dot segment", uris: []string{"spiffe://example.org/ns/../ops"}, detail: "SPIFFE ID is not valid"},
		{name: "trailing slash", uris: []string{"spiffe://example.org/ns/ops/"}, detail: "SPIFFE ID is not valid"},
		{name: "trust domain with a slash", uris: []string{"spiffe://example.org/"}, detail: "SPIFFE ID is not valid"},
		{name: "no trust domain", uris: []string{"spiffe:///ns/ops"}, detail: "SPIFFE ID is not valid"},
		{name: "opaque", uris: []string{"spiffe:example.org/ns/ops"}, detail: "SPIFFE ID is not valid"},
		{name: "bad SPIFFE ID beside a DNS name", uris: []string{"spiffe://example.org/ns/../ops"}, dnsNames: []string{"ops.example.org"}, detail: "SPIFFE ID is not valid"},
		{name: "two SPIFFE IDs beside a DNS name", uris: []string{"spiffe://example.org/a", "spiffe://example.org/b"}, dnsNames: []string{"ops.example.org"}, detail: "more than one SPIFFE ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := identity.FromCertificate(certWith(t, tt.uris, tt.dnsNames...))
			var e *identity.Error
			if !errors.As(err, &e) {
				t.Fatalf("got principal %+v, error %v, want an *identity.Error", p, err)
			}
			if e.Reason != identity.ReasonBadCertificate {
				t.Errorf("got reason %s, want %s", e.Reason, identity.ReasonBadCertificate)
			}
			if !strings.Contains(e.Detail, tt.detail) {
				t.Errorf("got detail %q, want it to contain %q", e.Detail, tt.detail)
			}
			if diff := cmp.Diff(identity.Principal{}, p); diff != "" {
				t.Errorf("got a principal beside the error:\n%s", diff)
			}
		})
	}
}

// TestFromCertificateEmptyQueryOrFragment: the SPIFFE ID rules forbid a query and a
// fragment, and a URI SAN that ends in a bare "?" or "#" has both, empty. Go's
// url.Parse leaves no trace of them, so FromCertificate reads the SANs as written.
func TestFromCertificateEmptyQueryOrFragment(t *testing.T) {
	for _, id := range []string{"spiffe://example.org/ns/ops?", "spiffe://example.org/ns/ops#", "spiffe://example.org?"} {
		p, err := identity.FromCertificate(certWith(t, []string{id}))
		if err == nil {
			t.Errorf("SAN %q: got principal with SPIFFE ID %q, want it refused (bad_certificate)", id, p.SPIFFEID)
		}
	}
}

// spiffeIDReference is the SPIFFE ID grammar as a regular expression, with the "."
// and ".." segments refused after it: the reference ValidSPIFFEID, which reads the
// ID byte by byte, is held to.
var spiffeIDReference = regexp.MustCompile(`^spiffe://[a-z0-9._-]+(/[A-Za-z0-9._-]+)*$`)

func validSPIFFEIDReference(id string) bool {
	if !spiffeIDReference.MatchString(id) {
		return false
	}
	_, path, _ := strings.Cut(strings.TrimPrefix(id, "spiffe://"), "/")
	for _, seg := range strings.Split(path, "/") {
		if path != "" && (seg == "." || seg == "..") {
			return false
		}
	}
	return true
}

var spiffeIDSeeds = []string{
	"", "spiffe://", "spiffe:/", "spiffe://td", "spiffe://td/", "spiffe://td//a", "spiffe://td/a/",
	"spiffe://example.org/ns/ops/sa/dashboard", "spiffe://Example.org/a", "spiffe://td/A_b-c.d",
	"spiffe://td/.", "spiffe://td/..", "spiffe://td/a/./b", "spiffe://td/a/../b", "spiffe://td/...",
	"spiffe://td/a%20b", "spiffe://td/a?b", "spiffe://td/a#b", "SPIFFE://td/a", "spiffe://td:443/a",
	"spiffe://user@td/a", "spiffe://td/a\n", "spiffe://td/\u00e9", "spiffe://./a", "spiffe://../a",
	"spiffe://td.-_/a", "xspiffe://td/a", "spiffe://td/a b",
}

func TestValidSPIFFEIDMatchesReference(t *testing.T) {
	for _, id := range spiffeIDSeeds {
		if got, want := identity.ValidSPIFFEID(id), validSPIFFEIDReference(id); got != want {
			t.Errorf("ValidSPIFFEID(%q) = %v, the reference says %v", id, got, want)
		}
	}
	// Every byte at every position of a valid ID, and after it.
	base := "spiffe://td.example/ns/a-b/c_d.e"
	for i := 0; i <= len(base); i++ {
		for c := range 256 {
			for _, id := range []string{base[:i] + string(rune(c)) + base[i:], base[:i] + string([]byte{byte(c)}) + base[min(i+1, len(base)):]} {
				if got, want := identity.ValidSPIFFEID(id), validSPIFFEIDReference(id); got != want {
					t.Fatalf("ValidSPIFFEID(%q) = %v, the reference says %v", id, got, want)
				}
			}
		}
	}
}

func FuzzValidSPIFFEID(f *testing.F) {
	for _, id := range spiffeIDSeeds {
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if got, want := identity.ValidSPIFFEID(id), validSPIFFEIDReference(id); got != want {
			t.Errorf("ValidSPIFFEID(%q) = %v, the reference says %v", id, got, want)
		}
	})
}

// BenchmarkFromCertificate is the identity work of each request with a client
// certificate.
func BenchmarkFromCertificate(b *testing.B) {
	c := certWith(b, []string{"spiffe://loadtest.example/presignd/mtls"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := identity.FromCertificate(c); err != nil {
			b.Fatal(err)
		}
	}
}
