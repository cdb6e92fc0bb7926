package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/testenv"
	"github.com/presignd/presignd/internal/testenv/s3server"
)

// The workloads of the mTLS tests, as their certificates name them.
const (
	spiffeDashboard = "spiffe://example.org/ns/ops/sa/dashboard"
	spiffeWeb       = "spiffe://example.org/ns/app/sa/web"
	spiffeStranger  = "spiffe://example.org/ns/ops/sa/stranger"
	dnsBatch        = "batch.internal.example"
)

// mtlsClients: the dashboard (by SPIFFE ID) reads and writes under mtls/dashboard/,
// the batch job (by DNS name) under mtls/batch/, and "app" by its token or its
// SPIFFE ID under mtls/app/.
var mtlsClients = `  - name: dashboard
    match:
      - {spiffe_id: "` + spiffeDashboard + `"}
    grants: [{bucket: ` + bucketMain + `, prefixes: ["mtls/dashboard/"], methods: [GET, PUT], max_ttl: 1h}]
  - name: batch
    match:
      - {dns_name: ` + dnsBatch + `}
    grants: [{bucket: ` + bucketMain + `, prefixes: ["mtls/batch/"], methods: [GET, PUT], max_ttl: 1h}]
  - name: app
    token_sha256: "` + config.HashToken(appToken) + `"
    match:
      - {spiffe_id: "` + spiffeWeb + `"}
    grants: [{bucket: ` + bucketMain + `, prefixes: ["mtls/app/"], methods: [GET, PUT], max_ttl: 1h}]
`

// mtlsConfig is a presignd serving its API over TLS with a server certificate of ca,
// taking client certificates of the CA in clientCAFile.
func mtlsConfig(t testing.TB, s *s3server.Server, ca *testenv.CA, clientCAFile string, require bool) string {
	t.Helper()
	certFile, keyFile := ca.ServerCert(t)
	return testConfig(mtlsClients, configOptions{S3: s, Extra: fmt.Sprintf(`tls:
  cert_file: %q
  key_file: %q
  client_ca_file: %q
  require_client_cert: %v
`, certFile, keyFile, clientCAFile, require)})
}

// tlsCaller calls a presignd over TLS the way a workload does, each request on a new
// connection (a new transport), so that each is a full handshake.
type tlsCaller struct {
	// base is https://ADDR of the API.
	base string
	// roots is the CA of the server's certificate.
	roots *testenv.CA
}

func newTLSCaller(p *presignd, roots *testenv.CA) tlsCaller {
	return tlsCaller{base: "https://" + strings.TrimPrefix(p.URL, "http://"), roots: roots}
}

// post asks for a URL presenting cert (nil for none) and the bearer token ("" for
// none). err is the transport's: a handshake the server refused gives no answer.
// The certificate is presented whatever CAs the server says it accepts, as a
// misconfigured or hostile client would (Go's client would otherwise leave out one
// of a CA the server does not name).
func (c tlsCaller) post(t testing.TB, cert *tls.Certificate, token string, req map[string]any) (status int, body []byte, err error) {
	t.Helper()
	tc := &tls.Config{RootCAs: c.roots.Pool()}
	if cert != nil {
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	tr := &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	data, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.NewRequest(http.MethodPost, c.base+"/v1/presign", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(r)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, body, nil
}

// presign asks for a URL and fails the test unless presignd answers 200.
func (c tlsCaller) presign(t testing.TB, cert *tls.Certificate, token string, req map[string]any) presignResult {
	t.Helper()
	status, body, err := c.post(t, cert, token, req)
	if err != nil || status != http.StatusOK {
		t.Fatalf("POST /v1/presign %v over TLS: got %d %s (error %v), want 200", req, status, body, err)
	}
	var res presignResult
	if err := json.Unmarshal(body, &res); err != nil || res.URL == "" {
		t.Fatalf("decoding the presign answer %s: %v", body, err)
	}
	return res
}

// unauthenticated asks for a URL and fails the test unless presignd answers 401
// unauthenticated with reason.
func (c tlsCaller) unauthenticated(t testing.TB, what string, cert *tls.Certificate, token string, reason string) {
	t.Helper()
	status, body, err := c.post(t, cert, token, map[string]any{"bucket": bucketMain, "key": "mtls/dashboard/a", "method": "GET"})
	if err != nil {
		t.Errorf("%s: the request failed (%v), want an answer 401 %s", what, err, reason)
		return
	}
	var pr problem
	if status != http.StatusUnauthorized || json.Unmarshal(body, &pr) != nil || pr.Code != "unauthenticated" || pr.Reason != reason {
		t.Errorf("%s: got %d %s, want 401 unauthenticated/%s", what, status, body, reason)
	}
}

// handshakeRefused fails the test unless a request presenting cert (nil for none)
// gets no answer, and a bare TLS connection presenting it gets the server's alert.
// (In TLS 1.3 the client's side of the handshake ends before the server has checked
// the certificate, so a request may fail on writing or on reading; a connection that
// only reads sees the alert itself.)
func (c tlsCaller) handshakeRefused(t testing.TB, what string, cert *tls.Certificate) {
	t.Helper()
	if status, body, err := c.post(t, cert, "", map[string]any{"bucket": bucketMain, "key": "mtls/dashboard/a", "method": "GET"}); err == nil {
		t.Errorf("%s: got an answer %d %s, want the TLS handshake to fail", what, status, body)
	}
	tc := &tls.Config{RootCAs: c.roots.Pool()}
	if cert != nil {
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", strings.TrimPrefix(c.base, "https://"), tc)
	if err == nil {
		defer conn.Close()
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = conn.Read(make([]byte, 1))
	}
	if err == nil || !strings.Contains(err.Error(), "remote error: tls: ") {
		t.Errorf("%s: a TLS connection got %v, want the server's TLS alert", what, err)
	}
}

// TestE2EMTLSCallers: workloads identified by the SPIFFE ID or DNS name of their client
// certificates get URLs for their own prefixes and use them against versitygw;
// certificates presignd must not trust get no URL.
func TestE2EMTLSCallers(t *testing.T) {
	t.Parallel()
	s := s3server.Start(t)
	s.CreateBucket(t, bucketMain)
	ca := testenv.NewCA(t)
	p := startPresignd(t, mtlsConfig(t, s, ca, ca.CertFile(), false))
	c := newTLSCaller(p, ca)

	dashboard := ca.ClientCert(t, testenv.ClientCertOptions{SPIFFEIDs: []string{spiffeDashboard}})
	batch := ca.ClientCert(t, testenv.ClientCertOptions{DNSNames: []string{dnsBatch, "batch-alt.internal.example"}})
	web := ca.ClientCert(t, testenv.ClientCertOptions{SPIFFEIDs: []string{spiffeWeb}})

	for _, tc := range []struct {
		name string
		cert *tls.Certificate
		key  string
	}{
		{"SPIFFE ID", &dashboard, "mtls/dashboard/report.txt"},
		{"DNS name", &batch, "mtls/batch/run.txt"},
		{"SPIFFE ID of a client that has a token too", &web, "mtls/app/page.txt"},
	} {
		content := []byte("bytes of " + tc.name)
		put := c.presign(t, tc.cert, "", map[string]any{"bucket": bucketMain, "key": tc.key, "method": "PUT", "expires_in": 300})
		if r := use(t, put.Method, put.URL, put.Headers, content); r.status != http.StatusOK {
			t.Fatalf("%s: PUT on the URL: got %d %s", tc.name, r.status, testenv.Clip(r.body))
		}
		get := c.presign(t, tc.cert, "", map[string]any{"bucket": bucketMain, "key": tc.key, "method": "GET", "expires_in": 300})
		if r := use(t, get.Method, get.URL, get.Headers, nil); r.status != http.StatusOK || !bytes.Equal(r.body, content) {
			t.Fatalf("%s: GET on the URL: got %d %q, want 200 %q", tc.name, r.status, testenv.Clip(r.body), content)
		}
	}
	// dns_name matches any DNS SAN of the certificate, not only the first (which is
	// the subject).
	batchSecond := ca.ClientCert(t, testenv.ClientCertOptions{DNSNames: []string{"other.internal.example", dnsBatch}})
	c.presign(t, &batchSecond, "", map[string]any{"bucket": bucketMain, "key": "mtls/batch/run.txt", "method": "GET"})
	// A workload gets its own prefix only.
	if status, body, err := c.post(t, &dashboard, "", map[string]any{"bucket": bucketMain, "key": "mtls/batch/run.txt", "method": "GET"}); err != nil || status != http.StatusForbidden {
		t.Errorf("the dashboard asking for the batch job's key: got %d %s (%v), want 403", status, body, err)
	}
	// The static token of the client that has a match as well works over TLS without
	// a client certificate.
	c.presign(t, nil, appToken, map[string]any{"bucket": bucketMain, "key": "mtls/app/page.txt", "method": "GET"})
	// The Authorization header decides alone: a bad token beside a good certificate
	// fails, and never falls back to the certificate.
	c.unauthenticated(t, "a bad token beside the dashboard's certificate", &dashboard, "not-a-token-of-anyone", "unknown_token")

	stranger := ca.ClientCert(t, testenv.ClientCertOptions{SPIFFEIDs: []string{spiffeStranger}})
	noSAN := ca.ClientCert(t, testenv.ClientCertOptions{})
	twoIDs := ca.ClientCert(t, testenv.ClientCertOptions{SPIFFEIDs: []string{spiffeDashboard, spiffeStranger}})
	c.unauthenticated(t, "a SPIFFE ID of no client", &stranger, "", "no_client")
	c.unauthenticated(t, "no client certificate", nil, "", "missing")
	c.unauthenticated(t, "a certificate with no SAN", &noSAN, "", "bad_certificate")
	c.unauthenticated(t, "a certificate with two SPIFFE IDs", &twoIDs, "", "bad_certificate")

	foreign := testenv.NewCA(t).ClientCert(t, testenv.ClientCertOptions{SPIFFEIDs: []string{spiffeDashboard}})
	expired := ca.ClientCert(t, testenv.ClientCertOptions{SPIFFEIDs: []string{spiffeDashboard}, Expired: true})
	c.handshakeRefused(t, "the dashboard's SPIFFE ID from another CA", &foreign)
	c.handshakeRefused(t, "an expired certificate of the CA", &expired)

	// The audit line names the principal kind and the SAN.
	want := map[string]string{
		spiffeDashboard: "dashboard",
		dnsBatch:        "batch",
		spiffeWeb:       "app",
	}
	for _, l := range p.LogLines(t) {
		if l["msg"] == "presign" && l["principal"] == "mtls" && want[fmt.Sprint(l["subject"])] == l["client"] {
			delete(want, fmt.Sprint(l["subject"]))
		}
	}
	if len(want) > 0 {
		t.Errorf("no audit line names principal mtls with subject and client %v:\n%s", want, p.Logs())
	}
	_, fams := scrape(t, p.AdminURL+"/metrics")
	for _, reason := range []string{"missing", "no_client", "bad_certificate", "unknown_token"} {
		if got := value(fams, "presignd_auth_failures_total", map[string]string{"reason": reason}); got < 1 {
			t.Errorf("presignd_auth_failures_total{reason=%q} = %v, want at least 1", reason, got)
		}
	}
}

// TestE2EMTLSRequireClientCert: with require_client_cert, a connection without a
// certificate fails its handshake, where one with a certificate is served.
func TestE2EMTLSRequireClientCert(t *testing.T) {
	t.Parallel()
	ca := testenv.NewCA(t)
	p := startPresignd(t, mtlsConfig(t, nil, ca, ca.CertFile(), true))
	c := newTLSCaller(p, ca)
	dashboard := ca.ClientCert(t, testenv.ClientCertOptions{SPIFFEIDs: []string{spiffeDashboard}})
	c.presign(t, &dashboard, "", map[string]any{"bucket": bucketMain, "key": "mtls/dashboard/a", "method": "GET"})
	c.handshakeRefused(t, "no client certificate", nil)
	// Not even a good token gets through without a certificate.
	if status, body, err := c.post(t, nil, appToken, map[string]any{"bucket": bucketMain, "key": "mtls/app/a", "method": "GET"}); err == nil {
		t.Errorf("app's token without a client certificate: got %d %s, want the TLS handshake to fail", status, body)
	}
}

// TestE2EMTLSReloadClientCA: a SIGHUP that reloads a client_ca_file now holding another
// CA makes new connections with the old CA's certificates fail and the new CA's work.
func TestE2EMTLSReloadClientCA(t *testing.T) {
	t.Parallel()
	serverCA, oldCA, newCA := testenv.NewCA(t), testenv.NewCA(t), testenv.NewCA(t)
	clientCAFile := filepath.Join(t.TempDir(), "client-ca.pem")
	if err := os.WriteFile(clientCAFile, oldCA.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProcess(t, mtlsConfig(t, nil, serverCA, clientCAFile, false))
	c := newTLSCaller(p.presignd, serverCA)
	req := map[string]any{"bucket": bucketMain, "key": "mtls/dashboard/a", "method": "GET"}
	oldCert := oldCA.ClientCert(t, testenv.ClientCertOptions{SPIFFEIDs: []string{spiffeDashboard}})
	newCert := newCA.ClientCert(t, testenv.ClientCertOptions{SPIFFEIDs: []string{spiffeDashboard}})

	c.presign(t, &oldCert, "", req)
	c.handshakeRefused(t, "before the reload, the new CA's certificate", &newCert)

	if err := os.WriteFile(clientCAFile, newCA.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "config reloaded", 30*time.Second)

	// presignd logs "config reloaded" a moment before the new TLS config is in force
	// (TestE2EMTLSReloadLoggedWithCAInForce), so the new CA is given a little while.
	deadline := time.Now().Add(5 * time.Second)
	for {
		status, body, err := c.post(t, &newCert, "", req)
		if err == nil && status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("5s after the reload, the new CA's certificate gets %d %s (%v), want 200", status, body, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.handshakeRefused(t, "after the reload, the old CA's certificate", &oldCert)
	// The static token still works over TLS without a certificate.
	c.presign(t, nil, appToken, map[string]any{"bucket": bucketMain, "key": "mtls/app/a", "method": "GET"})
}

// TestE2EMTLSReloadLoggedWithCAInForce: once presignd logs "config reloaded", the
// client CA of the file it reloaded is the one new connections are checked against.
// Each of many reloads switches client_ca_file between two CAs and, as soon as the
// line is logged, connects with a certificate of the CA just written.
func TestE2EMTLSReloadLoggedWithCAInForce(t *testing.T) {
	t.Parallel()
	serverCA, caA, caB := testenv.NewCA(t), testenv.NewCA(t), testenv.NewCA(t)
	clientCAFile := filepath.Join(t.TempDir(), "client-ca.pem")
	if err := os.WriteFile(clientCAFile, caA.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProcess(t, mtlsConfig(t, nil, serverCA, clientCAFile, false))
	c := newTLSCaller(p.presignd, serverCA)
	req := map[string]any{"bucket": bucketMain, "key": "mtls/dashboard/a", "method": "GET"}
	cas := []*testenv.CA{caA, caB}
	certs := []tls.Certificate{
		caA.ClientCert(t, testenv.ClientCertOptions{SPIFFEIDs: []string{spiffeDashboard}}),
		caB.ClientCert(t, testenv.ClientCertOptions{SPIFFEIDs: []string{spiffeDashboard}}),
	}
	const reloads = 300
	failures := 0
	for i := 1; i <= reloads; i++ {
		now := i % 2
		if err := os.WriteFile(clientCAFile, cas[now].CertPEM(), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		p.waitFor(t, "config reloaded", 30*time.Second)
		if status, body, err := c.post(t, &certs[now], "", req); err != nil || status != http.StatusOK {
			failures++
			if failures == 1 {
				t.Errorf("reload %d: right after \"config reloaded\", a certificate of the CA reloaded got %d %s (%v), want 200", i, status, body, err)
			}
		}
	}
	if failures > 0 {
		t.Errorf("%d of %d reloads were logged before their client CA was in force", failures, reloads)
	}
}
