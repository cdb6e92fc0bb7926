package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a certificate authority for tests (ECDSA P-256): it signs server
// certificates for a TLS listener and client certificates whose SANs name callers.
// Its own certificate is in CertFile, for a server's client_ca_file or a client's
// roots.
type CA struct {
	cert     *x509.Certificate
	key      *ecdsa.PrivateKey
	certPEM  []byte
	dir      string
	certFile string
}

// NewCA makes a CA valid from an hour ago for a day, with its certificate written to
// a file of the test's own.
func NewCA(tb testing.TB) *CA {
	tb.Helper()
	key := newP256Key(tb)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serialNumber(tb),
		Subject:               pkix.Name{CommonName: "presignd test CA " + time.Now().Format(time.RFC3339Nano)},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatalf("test CA: creating its certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("test CA: parsing its certificate: %v", err)
	}
	ca := &CA{cert: cert, key: key, certPEM: pemBlock("CERTIFICATE", der), dir: tb.TempDir()}
	ca.certFile = filepath.Join(ca.dir, "ca.pem")
	writePEM(tb, ca.certFile, ca.certPEM)
	return ca
}

// Certificate is the CA's own certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// CertPEM is the CA's certificate in PEM.
func (ca *CA) CertPEM() []byte { return append([]byte(nil), ca.certPEM...) }

// CertFile is the path of a file holding CertPEM.
func (ca *CA) CertFile() string { return ca.certFile }

// Pool is a pool holding only the CA, for a client's RootCAs or a server's ClientCAs.
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return pool
}

// ServerCert issues a server certificate for hosts (IP addresses become IP SANs, the
// rest DNS SANs; none means 127.0.0.1, ::1 and localhost), writes it and its key as
// PEM to files of the test's own and returns their paths, for tls.cert_file and
// tls.key_file.
func (ca *CA) ServerCert(tb testing.TB, hosts ...string) (certFile, keyFile string) {
	tb.Helper()
	if len(hosts) == 0 {
		hosts = []string{"127.0.0.1", "::1", "localhost"}
	}
	tmpl := ca.leafTemplate(tb, "presignd test server", x509.ExtKeyUsageServerAuth, false)
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	certPEM, keyPEM, _ := ca.issue(tb, tmpl)
	dir, err := os.MkdirTemp(ca.dir, "server-")
	if err != nil {
		tb.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(tb, certFile, certPEM)
	writePEM(tb, keyFile, keyPEM)
	return certFile, keyFile
}

// ClientCertOptions are the SANs and validity of a client certificate.
type ClientCertOptions struct {
	// SPIFFEIDs become URI SANs: one is a workload's SPIFFE ID; two are a
	// certificate the SPIFFE standard forbids.
	SPIFFEIDs []string
	// DNSNames become DNS SANs.
	DNSNames []string
	// Expired makes a certificate whose validity ended an hour ago.
	Expired bool
}

// ClientCert issues a client certificate (extended key usage clientAuth) with the
// SANs of opts, none at all when opts names none, and returns it with its key and
// parsed Leaf, for tls.Config.Certificates.
func (ca *CA) ClientCert(tb testing.TB, opts ClientCertOptions) tls.Certificate {
	tb.Helper()
	tmpl := ca.leafTemplate(tb, "presignd test client", x509.ExtKeyUsageClientAuth, opts.Expired)
	for _, id := range opts.SPIFFEIDs {
		u, err := url.Parse(id)
		if err != nil {
			tb.Fatalf("test CA: SPIFFE ID %q: %v", id, err)
		}
		tmpl.URIs = append(tmpl.URIs, u)
	}
	tmpl.DNSNames = append(tmpl.DNSNames, opts.DNSNames...)
	certPEM, keyPEM, leaf := ca.issue(tb, tmpl)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		tb.Fatalf("test CA: loading the client certificate: %v", err)
	}
	cert.Leaf = leaf
	return cert
}

// leafTemplate is an end-entity certificate for usage, valid from an hour ago for a
// day, or, expired, for the hour before an hour ago.
func (ca *CA) leafTemplate(tb testing.TB, cn string, usage x509.ExtKeyUsage, expired bool) *x509.Certificate {
	tb.Helper()
	now := time.Now()
	notBefore, notAfter := now.Add(-time.Hour), now.Add(24*time.Hour)
	if expired {
		notBefore, notAfter = now.Add(-2*time.Hour), now.Add(-time.Hour)
	}
	return &x509.Certificate{
		SerialNumber: serialNumber(tb),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
}

// issue signs tmpl with a new key and returns the certificate and key in PEM and the
// parsed certificate.
func (ca *CA) issue(tb testing.TB, tmpl *x509.Certificate) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	tb.Helper()
	key := newP256Key(tb)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		tb.Fatalf("test CA: signing a certificate: %v", err)
	}
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("test CA: parsing a certificate: %v", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatalf("test CA: encoding a key: %v", err)
	}
	return pemBlock("CERTIFICATE", der), pemBlock("PRIVATE KEY", keyDER), cert
}

func newP256Key(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("test CA: generating a key: %v", err)
	}
	return key
}

func serialNumber(tb testing.TB) *big.Int {
	tb.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		tb.Fatalf("test CA: a serial number: %v", err)
	}
	return n
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func writePEM(tb testing.TB, path string, data []byte) {
	tb.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatalf("test CA: %v", err)
	}
}
