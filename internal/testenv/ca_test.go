package testenv_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/presignd/presignd/internal/testenv"
)

func TestCACertFileHoldsTheCA(t *testing.T) {
	ca := testenv.NewCA(t)
	data, err := os.ReadFile(ca.CertFile())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, ca.CertPEM()) {
		t.Errorf("CertFile holds %q, want CertPEM %q", data, ca.CertPEM())
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("CertFile: want exactly one CERTIFICATE block, got %q", data)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.IsCA || !cert.Equal(ca.Certificate()) {
		t.Errorf("CertFile's certificate: IsCA %v, equal to Certificate() %v; want both", cert.IsCA, cert.Equal(ca.Certificate()))
	}
	if other := testenv.NewCA(t); other.Certificate().Equal(ca.Certificate()) || other.CertFile() == ca.CertFile() {
		t.Error("two CAs share a certificate or a file")
	}
}

func TestCAClientCertificates(t *testing.T) {
	ca, other := testenv.NewCA(t), testenv.NewCA(t)
	const spiffe = "spiffe://example.org/ns/ops/sa/dashboard"
	for _, tc := range []struct {
		name      string
		ca        *testenv.CA
		opts      testenv.ClientCertOptions
		wantURIs  []string
		wantDNS   []string
		wantError func(error) bool
	}{
		{name: "SPIFFE ID", ca: ca, opts: testenv.ClientCertOptions{SPIFFEIDs: []string{spiffe}}, wantURIs: []string{spiffe}},
		{name: "DNS names", ca: ca, opts: testenv.ClientCertOptions{DNSNames: []string{"a.example", "b.example"}}, wantDNS: []string{"a.example", "b.example"}},
		{name: "both", ca: ca, opts: testenv.ClientCertOptions{SPIFFEIDs: []string{spiffe}, DNSNames: []string{"a.example"}}, wantURIs: []string{spiffe}, wantDNS: []string{"a.example"}},
		{name: "two SPIFFE IDs", ca: ca, opts: testenv.ClientCertOptions{SPIFFEIDs: []string{spiffe, "spiffe://example.org/other"}}, wantURIs: []string{spiffe, "spiffe://example.org/other"}},
		{name: "no SAN", ca: ca, opts: testenv.ClientCertOptions{}},
		{name: "expired", ca: ca, opts: testenv.ClientCertOptions{SPIFFEIDs: []string{spiffe}, Expired: true}, wantURIs: []string{spiffe},
			wantError: func(err error) bool {
				var e x509.CertificateInvalidError
				return errors.As(err, &e) && e.Reason == x509.Expired
			}},
		{name: "another CA", ca: other, opts: testenv.ClientCertOptions{SPIFFEIDs: []string{spiffe}}, wantURIs: []string{spiffe},
			wantError: func(err error) bool {
				var e x509.UnknownAuthorityError
				return errors.As(err, &e)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert := tc.ca.ClientCert(t, tc.opts)
			leaf := cert.Leaf
			if leaf == nil || len(cert.Certificate) != 1 || cert.PrivateKey == nil {
				t.Fatalf("ClientCert: want a Leaf, one DER certificate and a key; got Leaf %v, %d certificates, key %v", leaf != nil, len(cert.Certificate), cert.PrivateKey != nil)
			}
			var uris []string
			for _, u := range leaf.URIs {
				uris = append(uris, u.String())
			}
			if !slices.Equal(uris, tc.wantURIs) || !slices.Equal(leaf.DNSNames, tc.wantDNS) {
				t.Errorf("SANs: got URIs %q DNS %q, want URIs %q DNS %q", uris, leaf.DNSNames, tc.wantURIs, tc.wantDNS)
			}
			if len(leaf.IPAddresses) != 0 || len(leaf.EmailAddresses) != 0 {
				t.Errorf("SANs: got IPs %v e-mails %v, want none", leaf.IPAddresses, leaf.EmailAddresses)
			}
			_, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
			switch {
			case tc.wantError == nil && err != nil:
				t.Errorf("verifying against the CA: %v, want no error", err)
			case tc.wantError != nil && (err == nil || !tc.wantError(err)):
				t.Errorf("verifying against the CA: got %v, want the error of %s", err, tc.name)
			}
			// A client certificate is no server certificate.
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: tc.ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
				t.Error("the client certificate verifies for server authentication")
			}
		})
	}
}

// TestCAHandshake: a TLS server on ServerCert's files, asking for client certificates
// of the CA, sees the SPIFFE ID of a client presenting ClientCert, over 127.0.0.1 and
// localhost, and refuses a certificate of another CA.
func TestCAHandshake(t *testing.T) {
	ca := testenv.NewCA(t)
	certFile, keyFile := ca.ServerCert(t)
	serverCert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatalf("ServerCert's files do not load as a key pair: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.VerifiedChains) == 0 {
			fmt.Fprint(w, "anonymous")
			return
		}
		fmt.Fprint(w, r.TLS.VerifiedChains[0][0].URIs[0])
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientCAs: ca.Pool(), ClientAuth: tls.VerifyClientCertIfGiven}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "https://"), ":")

	const spiffe = "spiffe://example.org/workload"
	good := ca.ClientCert(t, testenv.ClientCertOptions{SPIFFEIDs: []string{spiffe}})
	foreign := testenv.NewCA(t).ClientCert(t, testenv.ClientCertOptions{SPIFFEIDs: []string{spiffe}})
	// The client presents its certificate whatever CAs the server names as acceptable
	// (Certificates would send none that the server's list leaves out).
	get := func(host string, cert *tls.Certificate) (string, error) {
		tc := &tls.Config{RootCAs: ca.Pool()}
		if cert != nil {
			tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
		}
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
		resp, err := c.Get("https://" + host + ":" + port + "/")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return string(body), err
	}
	for _, host := range []string{"127.0.0.1", "localhost"} {
		if got, err := get(host, &good); err != nil || got != spiffe {
			t.Errorf("%s with the CA's client certificate: got %q %v, want %q", host, got, err, spiffe)
		}
		if got, err := get(host, nil); err != nil || got != "anonymous" {
			t.Errorf("%s without a client certificate: got %q %v, want anonymous", host, got, err)
		}
	}
	if got, err := get("127.0.0.1", &foreign); err == nil {
		t.Errorf("a certificate of another CA: got an answer %q, want the handshake to fail", got)
	}
}
