package testenv

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// OIDCAudience is the aud of the tokens an OIDCIssuer mints unless told otherwise.
const OIDCAudience = "presignd"

// OIDCMode is how an OIDCIssuer answers its discovery document and JWKS.
type OIDCMode int

// The modes.
const (
	OIDCServing  OIDCMode = iota // answers normally
	OIDCRefusing                 // closes each connection without an answer
	OIDCSlow                     // answers nothing until the client gives up (or Stop)
	OIDCGarbage                  // answers 200 with a body that is not JSON
)

// OIDCIssuer is a real OIDC issuer on loopback, over HTTP or HTTPS: it serves
// /.well-known/openid-configuration and its JWKS (/jwks) and mints tokens signed
// with its RS256 and ES256 keys, or forged in the ways tokens are forged.
//
// Its URL (the iss of its tokens) stays the same across Stop and Start, so a
// presignd process configured with it sees the same issuer go down and come back.
type OIDCIssuer struct {
	tb  testing.TB
	tls bool

	jwksFetches      atomic.Int64
	discoveryFetches atomic.Int64

	mu   sync.Mutex
	srv  *httptest.Server
	addr string
	url  string
	quit chan struct{} // closed by Stop, to release slow answers
	cert []byte        // PEM of the HTTPS certificate
	mode OIDCMode
	rsa  oidcKey
	ec   oidcKey
}

type oidcKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

// NewOIDCIssuer starts an issuer over HTTP; the test's cleanup stops it.
func NewOIDCIssuer(tb testing.TB) *OIDCIssuer { return newOIDCIssuer(tb, false) }

// NewOIDCIssuerTLS starts an issuer over HTTPS, with a certificate for 127.0.0.1
// that CertPEM gives; the test's cleanup stops it.
func NewOIDCIssuerTLS(tb testing.TB) *OIDCIssuer { return newOIDCIssuer(tb, true) }

func newOIDCIssuer(tb testing.TB, tls bool) *OIDCIssuer {
	tb.Helper()
	s := &OIDCIssuer{tb: tb, tls: tls}
	s.rsa, s.ec = newRSAKey(tb), newECKey(tb)
	s.start("127.0.0.1:0")
	tb.Cleanup(s.Stop)
	return s
}

func newRSAKey(tb testing.TB) oidcKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	return oidcKey{kid: "rsa-" + rand.Text()[:12], alg: jose.RS256, priv: k}
}

func newECKey(tb testing.TB) oidcKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return oidcKey{kid: "ec-" + rand.Text()[:12], alg: jose.ES256, priv: k}
}

func (s *OIDCIssuer) start(addr string) {
	s.tb.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		s.tb.Fatalf("OIDC issuer: listen on %s: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(s.handler())
	srv.Listener.Close()
	srv.Listener = l
	if s.tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.srv, s.addr, s.url, s.quit = srv, l.Addr().String(), srv.URL, make(chan struct{})
	if s.tls {
		s.cert = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	}
}

// Stop closes the issuer: its address refuses connections until Start.
func (s *OIDCIssuer) Stop() {
	s.mu.Lock()
	srv, quit := s.srv, s.quit
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	close(quit)
	srv.Close()
}

// Start opens a stopped issuer again at its address.
func (s *OIDCIssuer) Start() {
	s.tb.Helper()
	s.mu.Lock()
	running, addr := s.srv != nil, s.addr
	s.mu.Unlock()
	if !running {
		s.start(addr)
	}
}

// SetMode sets how the issuer answers from now on.
func (s *OIDCIssuer) SetMode(m OIDCMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// URL is the issuer: its tokens' iss, where discovery starts.
func (s *OIDCIssuer) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// JWKSURL is where the issuer serves its JWKS.
func (s *OIDCIssuer) JWKSURL() string { return s.URL() + "/jwks" }

// CertPEM is the PEM of the certificate of an issuer over HTTPS, to trust as a CA
// file; nil over HTTP.
func (s *OIDCIssuer) CertPEM() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cert
}

// JWKSFetches is how many requests for the JWKS reached the issuer, in any mode.
func (s *OIDCIssuer) JWKSFetches() int { return int(s.jwksFetches.Load()) }

// DiscoveryFetches is how many requests for the discovery document reached the issuer.
func (s *OIDCIssuer) DiscoveryFetches() int { return int(s.discoveryFetches.Load()) }

// KeyIDs are the kids of the issuer's current RS256 and ES256 keys.
func (s *OIDCIssuer) KeyIDs() (rs256, es256 string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rsa.kid, s.ec.kid
}

// Rotate replaces both keys with new ones: tokens signed before no longer verify.
func (s *OIDCIssuer) Rotate() {
	s.tb.Helper()
	r, e := newRSAKey(s.tb), newECKey(s.tb)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rsa, s.ec = r, e
}

// JWKS is the issuer's current JWKS document, as it serves it: for a jwks_file.
func (s *OIDCIssuer) JWKS() []byte {
	s.mu.Lock()
	keys := []oidcKey{s.rsa, s.ec}
	s.mu.Unlock()
	var set jose.JSONWebKeySet
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"})
	}
	b, err := json.Marshal(set)
	if err != nil {
		s.tb.Fatalf("OIDC issuer: JWKS: %v", err)
	}
	return b
}

func (s *OIDCIssuer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		s.discoveryFetches.Add(1)
		s.answer(w, r, func() []byte {
			iss := s.URL()
			b, _ := json.Marshal(map[string]any{
				"issuer":                                iss,
				"jwks_uri":                              iss + "/jwks",
				"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
				"response_types_supported":              []string{"id_token"},
				"subject_types_supported":               []string{"public"},
			})
			return b
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		s.jwksFetches.Add(1)
		s.answer(w, r, s.JWKS)
	})
	return mux
}

func (s *OIDCIssuer) answer(w http.ResponseWriter, r *http.Request, body func() []byte) {
	s.mu.Lock()
	mode, quit := s.mode, s.quit
	s.mu.Unlock()
	switch mode {
	case OIDCRefusing:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return
	case OIDCSlow:
		select {
		case <-r.Context().Done():
		case <-quit:
		}
		return
	case OIDCGarbage:
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("<html>Bad gateway</html>"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body())
}

// TokenOption changes a token Token mints.
type TokenOption func(*tokenSpec)

type tokenSpec struct {
	alg     jose.SignatureAlgorithm
	claims  map[string]any
	headers map[string]any
	noKID   bool
	forge   func(s *OIDCIssuer, spec *tokenSpec) string
}

// TokenAlg signs the token with the issuer's key for alg: "RS256" (the default) or "ES256".
func TokenAlg(alg string) TokenOption {
	return func(t *tokenSpec) { t.alg = jose.SignatureAlgorithm(alg) }
}

// TokenClaim sets a claim; a nil value removes it.
func TokenClaim(name string, value any) TokenOption {
	return func(t *tokenSpec) {
		if value == nil {
			delete(t.claims, name)
		} else {
			t.claims[name] = value
		}
	}
}

// TokenHeader sets a header parameter besides alg and kid.
func TokenHeader(name string, value any) TokenOption {
	return func(t *tokenSpec) { t.headers[name] = value }
}

// TokenAudience sets aud: one audience as a string, several as a list.
func TokenAudience(aud ...string) TokenOption {
	if len(aud) == 1 {
		return TokenClaim("aud", aud[0])
	}
	return TokenClaim("aud", aud)
}

// TokenIssuer sets iss.
func TokenIssuer(iss string) TokenOption { return TokenClaim("iss", iss) }

// TokenAt makes the token issued at t (iat and nbf) and valid for an hour (exp).
func TokenAt(t time.Time) TokenOption {
	return func(s *tokenSpec) { setTimes(s, t, time.Hour) }
}

// TokenLifetime makes the token expire d after its iat, as set by default or by
// TokenAt (not by TokenClaim).
func TokenLifetime(d time.Duration) TokenOption {
	return func(s *tokenSpec) {
		iat := time.Unix(s.claims["iat"].(int64), 0)
		s.claims["exp"] = iat.Add(d).Unix()
	}
}

// TokenExpired makes a token that expired an hour ago, by the real clock.
func TokenExpired() TokenOption {
	return func(s *tokenSpec) { setTimes(s, time.Now().Add(-2*time.Hour), time.Hour) }
}

// TokenNotYetValid makes a token issued, and valid from, an hour from now, by the
// real clock.
func TokenNotYetValid() TokenOption {
	return func(s *tokenSpec) { setTimes(s, time.Now().Add(time.Hour), time.Hour) }
}

func setTimes(s *tokenSpec, iat time.Time, lifetime time.Duration) {
	s.claims["iat"] = iat.Unix()
	s.claims["nbf"] = iat.Unix()
	s.claims["exp"] = iat.Add(lifetime).Unix()
}

// TokenNoKID leaves kid out of the header.
func TokenNoKID() TokenOption {
	return func(t *tokenSpec) { t.noKID = true }
}

// TokenAlgNone makes an unsigned token: alg "none", an empty signature.
func TokenAlgNone() TokenOption {
	return func(t *tokenSpec) {
		t.forge = func(s *OIDCIssuer, spec *tokenSpec) string {
			return unsignedJWT(s.tb, spec.header("none", s.key(spec.alg).kid), spec.claims) + "."
		}
	}
}

// TokenHS256PublicKey signs the token with HS256, using the PEM of the issuer's RSA
// public key as the HMAC secret, under the RSA key's kid: the algorithm confusion
// attack.
func TokenHS256PublicKey() TokenOption {
	return func(t *tokenSpec) {
		t.forge = func(s *OIDCIssuer, spec *tokenSpec) string {
			k := s.key(jose.RS256)
			der, err := x509.MarshalPKIXPublicKey(k.priv.Public())
			if err != nil {
				s.tb.Fatal(err)
			}
			secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			if !spec.noKID {
				spec.headers["kid"] = k.kid
			}
			return s.sign(spec, jose.SigningKey{Algorithm: jose.HS256, Key: secret})
		}
	}
}

// TokenUnknownKey signs the token with a key the issuer does not publish, under a
// random kid.
func TokenUnknownKey() TokenOption {
	return func(t *tokenSpec) {
		t.forge = func(s *OIDCIssuer, spec *tokenSpec) string {
			k := newECKey(s.tb)
			if spec.alg == jose.RS256 {
				k = newRSAKey(s.tb)
			}
			return s.sign(spec, jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}})
		}
	}
}

// TokenTampered signs the token, then changes its payload (sub gets "-admin"
// appended) and keeps the signature.
func TokenTampered() TokenOption {
	return func(t *tokenSpec) {
		t.forge = func(s *OIDCIssuer, spec *tokenSpec) string {
			signed := s.sign(spec, spec.signingKey(s))
			parts := strings.Split(signed, ".")
			claims := make(map[string]any, len(spec.claims))
			for k, v := range spec.claims {
				claims[k] = v
			}
			claims["sub"] = claims["sub"].(string) + "-admin"
			forged := strings.Split(unsignedJWT(s.tb, nil, claims), ".")
			return parts[0] + "." + forged[1] + "." + parts[2]
		}
	}
}

// Token mints a token for sub: signed with the current RS256 key (see TokenAlg),
// with iss the issuer's URL, aud OIDCAudience, issued now and valid for an hour,
// changed by opts in order.
func (s *OIDCIssuer) Token(sub string, opts ...TokenOption) string {
	s.tb.Helper()
	spec := &tokenSpec{alg: jose.RS256, claims: map[string]any{"iss": s.URL(), "sub": sub, "aud": OIDCAudience}, headers: map[string]any{}}
	setTimes(spec, time.Now(), time.Hour)
	for _, o := range opts {
		o(spec)
	}
	if spec.forge != nil {
		return spec.forge(s, spec)
	}
	return s.sign(spec, spec.signingKey(s))
}

func (s *OIDCIssuer) key(alg jose.SignatureAlgorithm) oidcKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch alg {
	case jose.RS256:
		return s.rsa
	case jose.ES256:
		return s.ec
	}
	s.tb.Fatalf("OIDC issuer: no key for %s", alg)
	return oidcKey{}
}

func (spec *tokenSpec) signingKey(s *OIDCIssuer) jose.SigningKey {
	k := s.key(spec.alg)
	return jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}}
}

func (spec *tokenSpec) header(alg, kid string) map[string]any {
	h := map[string]any{"typ": "JWT", "alg": alg}
	if kid != "" && !spec.noKID {
		h["kid"] = kid
	}
	for k, v := range spec.headers {
		h[k] = v
	}
	return h
}

func (s *OIDCIssuer) sign(spec *tokenSpec, key jose.SigningKey) string {
	s.tb.Helper()
	if jwk, ok := key.Key.(jose.JSONWebKey); ok && spec.noKID {
		key.Key = jwk.Key
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	for k, v := range spec.headers {
		opts = opts.WithHeader(jose.HeaderKey(k), v)
	}
	signer, err := jose.NewSigner(key, opts)
	if err != nil {
		s.tb.Fatalf("OIDC issuer: signer: %v", err)
	}
	payload, err := json.Marshal(spec.claims)
	if err != nil {
		s.tb.Fatalf("OIDC issuer: claims: %v", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		s.tb.Fatalf("OIDC issuer: sign: %v", err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		s.tb.Fatalf("OIDC issuer: serialize: %v", err)
	}
	return tok
}

// unsignedJWT is header and claims encoded and joined, with no signature segment.
func unsignedJWT(tb testing.TB, header, claims map[string]any) string {
	h, err := json.Marshal(header)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
}
