package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoad: each connection makes one handshake and presents the client certificate,
// every request carries the headers and body, and the summary line says so; an
// answer that is not 2xx makes the exit status 1.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	clientCert, clientKey, clientPool := clientCertificate(t, dir)
	var fail atomic.Bool
	var requests atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case r.TLS == nil || len(r.TLS.VerifiedChains) == 0:
			http.Error(w, "no client certificate", http.StatusUnauthorized)
		case r.Method != http.MethodPost || string(body) != `{"a":1}` || r.Header.Get("X-Test") != "yes":
			http.Error(w, fmt.Sprintf("got %s %q X-Test %q", r.Method, body, r.Header.Get("X-Test")), http.StatusBadRequest)
		case fail.Load():
			http.Error(w, "failing", http.StatusServiceUnavailable)
		default:
			requests.Add(1)
			io.WriteString(w, `{"ok":true}`)
		}
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientPool}
	srv.StartTLS()
	defer srv.Close()
	caFile := filepath.Join(dir, "server-ca.pem")
	writePEM(t, caFile, "CERTIFICATE", srv.Certificate().Raw)
	bodyFile := filepath.Join(dir, "body.json")
	if err := os.WriteFile(bodyFile, []byte(`{"a":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"tlsload", "-url", srv.URL + "/x", "-c", "4", "-d", "300ms", "-warmup", "100ms",
		"-pause", "1ms", "-body", bodyFile, "-header", "X-Test: yes", "-ca", caFile, "-cert", clientCert, "-key", clientKey}

	var out, errOut bytes.Buffer
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("exit status %d (stderr %q), want 0", code, errOut.String())
	}
	got := fields(t, out.String())
	for name, want := range map[string]string{"non2xx": "0", "errors": "0", "handshakes": "4", "connections": "4"} {
		if got[name] != want {
			t.Errorf("%s: got %q, want %q (line %q)", name, got[name], want, out.String())
		}
	}
	// The warm-up's requests are answered but not counted.
	if n, err := strconv.ParseInt(got["requests"], 10, 64); err != nil || n < 1 || n > requests.Load() {
		t.Errorf("requests: got %q, want between 1 and the %d the server answered", got["requests"], requests.Load())
	}

	fail.Store(true)
	out.Reset()
	errOut.Reset()
	if code := run(args, &out, &errOut); code != 1 {
		t.Fatalf("with 503 answers: exit status %d, want 1", code)
	}
	if got := fields(t, out.String()); got["non2xx"] == "0" || !strings.Contains(errOut.String(), "503") {
		t.Errorf("with 503 answers: got line %q and stderr %q, want non2xx > 0 and the status", out.String(), errOut.String())
	}
}

// fields reads the summary line.
func fields(t *testing.T, line string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, f := range strings.Fields(line) {
		name, value, ok := strings.Cut(f, "=")
		if !ok {
			t.Fatalf("summary field %q is not NAME=VALUE", f)
		}
		m[name] = value
	}
	return m
}

// clientCertificate makes a self-signed client certificate in dir and returns its
// files and a pool that trusts it.
func clientCertificate(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		DNSNames:     []string{"client.example"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", keyDER)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
