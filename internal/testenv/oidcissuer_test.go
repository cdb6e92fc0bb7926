package testenv_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/presignd/presignd/internal/testenv"
)

func TestOIDCIssuerServesDiscoveryAndJWKS(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(getOK(t, http.DefaultClient, iss.URL()+"/.well-known/openid-configuration"), &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Issuer != iss.URL() || meta.JWKSURI != iss.JWKSURL() {
		t.Errorf("discovery: got issuer %q jwks_uri %q, want %q and %q", meta.Issuer, meta.JWKSURI, iss.URL(), iss.JWKSURL())
	}
	set := jwks(t, getOK(t, http.DefaultClient, iss.JWKSURL()))
	rs, es := iss.KeyIDs()
	if len(set.Key(rs)) != 1 || len(set.Key(es)) != 1 || len(set.Keys) != 2 {
		t.Errorf("JWKS: got %d keys, want the RS256 key %s and the ES256 key %s", len(set.Keys), rs, es)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			t.Errorf("JWKS: key %s is not public", k.KeyID)
		}
	}
	if got := iss.DiscoveryFetches(); got != 1 {
		t.Errorf("DiscoveryFetches: got %d, want 1", got)
	}
	if got := iss.JWKSFetches(); got != 1 {
		t.Errorf("JWKSFetches: got %d, want 1", got)
	}
}

func TestOIDCIssuerTokensVerifyWithItsJWKS(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	set := jwks(t, iss.JWKS())
	rs, es := iss.KeyIDs()
	for _, tc := range []struct {
		name    string
		opts    []testenv.TokenOption
		alg     string
		kid     string
		signed  bool // verifies with the JWKS
		wantSub string
	}{
		{"RS256", nil, "RS256", rs, true, "alice"},
		{"ES256", []testenv.TokenOption{testenv.TokenAlg("ES256")}, "ES256", es, true, "alice"},
		{"no kid", []testenv.TokenOption{testenv.TokenNoKID()}, "RS256", "", true, "alice"},
		{"alg none", []testenv.TokenOption{testenv.TokenAlgNone()}, "none", rs, false, "alice"},
		{"HS256 with the public key", []testenv.TokenOption{testenv.TokenHS256PublicKey()}, "HS256", rs, false, "alice"},
		{"unknown key", []testenv.TokenOption{testenv.TokenUnknownKey()}, "RS256", "", false, "alice"},
		{"tampered", []testenv.TokenOption{testenv.TokenTampered()}, "RS256", rs, false, "alice-admin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := iss.Token("alice", tc.opts...)
			header, claims := decode(t, tok)
			if header["alg"] != tc.alg {
				t.Errorf("alg: got %v, want %s", header["alg"], tc.alg)
			}
			if kid, _ := header["kid"].(string); tc.kid != "" && kid != tc.kid || tc.name == "no kid" && kid != "" {
				t.Errorf("kid: got %q, want %q", kid, tc.kid)
			}
			if tc.name == "unknown key" {
				if kid, _ := header["kid"].(string); kid == "" || kid == rs || kid == es {
					t.Errorf("kid: got %q, want one the issuer does not publish", kid)
				}
			}
			if claims["sub"] != tc.wantSub || claims["iss"] != iss.URL() || claims["aud"] != testenv.OIDCAudience {
				t.Errorf("claims: got %v, want sub %s, iss %s, aud %s", claims, tc.wantSub, iss.URL(), testenv.OIDCAudience)
			}
			jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
			if err != nil {
				if tc.signed {
					t.Fatalf("parse: %v", err)
				}
				return
			}
			_, err = jws.Verify(&set)
			if jws.Signatures[0].Header.KeyID == "" {
				_, err = verifyAny(jws, set)
			}
			if signed := err == nil; signed != tc.signed {
				t.Errorf("verifies with the JWKS: got %v, want %v (%v)", signed, tc.signed, err)
			}
		})
	}
}

func TestOIDCIssuerTokenTimes(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	_, c := decode(t, iss.Token("bob", testenv.TokenAt(at), testenv.TokenLifetime(48*time.Hour),
		testenv.TokenAudience("a", "b"), testenv.TokenIssuer("https://elsewhere"), testenv.TokenClaim("email", "bob@example.com")))
	want := map[string]any{
		"iss": "https://elsewhere", "sub": "bob", "aud": []any{"a", "b"}, "email": "bob@example.com",
		"iat": float64(at.Unix()), "nbf": float64(at.Unix()), "exp": float64(at.Add(48 * time.Hour).Unix()),
	}
	if b1, b2 := mustJSON(t, c), mustJSON(t, want); b1 != b2 {
		t.Errorf("claims: got %s, want %s", b1, b2)
	}
	_, c = decode(t, iss.Token("bob", testenv.TokenExpired()))
	if exp := int64(c["exp"].(float64)); exp > time.Now().Unix() {
		t.Errorf("TokenExpired: exp %d is not past", exp)
	}
	_, c = decode(t, iss.Token("bob", testenv.TokenNotYetValid()))
	if nbf := int64(c["nbf"].(float64)); nbf < time.Now().Unix()+30*60 {
		t.Errorf("TokenNotYetValid: nbf %d is not an hour ahead", nbf)
	}
	_, c = decode(t, iss.Token("bob", testenv.TokenClaim("sub", nil)))
	if _, ok := c["sub"]; ok {
		t.Errorf("TokenClaim(sub, nil): sub is still there")
	}
}

func TestOIDCIssuerRotate(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	rs, es := iss.KeyIDs()
	iss.Rotate()
	rs2, es2 := iss.KeyIDs()
	if rs2 == rs || es2 == es {
		t.Fatalf("Rotate: kids %s, %s did not change", rs2, es2)
	}
	set := jwks(t, iss.JWKS())
	if len(set.Keys) != 2 || len(set.Key(rs2)) != 1 || len(set.Key(es2)) != 1 {
		t.Errorf("JWKS after Rotate: got %d keys, want only %s and %s", len(set.Keys), rs2, es2)
	}
}

func TestOIDCIssuerStopStartAndModes(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	url := iss.URL()
	client := &http.Client{Timeout: 300 * time.Millisecond}

	iss.Stop()
	if _, err := client.Get(iss.JWKSURL()); err == nil {
		t.Errorf("GET after Stop: got no error, want the connection refused")
	}
	iss.Start()
	if iss.URL() != url {
		t.Errorf("URL after Start: got %s, want %s", iss.URL(), url)
	}
	getOK(t, client, iss.JWKSURL())

	iss.SetMode(testenv.OIDCRefusing)
	if _, err := client.Get(iss.JWKSURL()); err == nil {
		t.Errorf("GET while refusing: got no error")
	}
	iss.SetMode(testenv.OIDCSlow)
	if _, err := client.Get(iss.JWKSURL()); err == nil {
		t.Errorf("GET while slow: got no error, want a timeout")
	}
	iss.SetMode(testenv.OIDCGarbage)
	if body := getOK(t, client, iss.JWKSURL()); json.Valid(body) {
		t.Errorf("GET while serving garbage: got JSON %s", body)
	}
	iss.SetMode(testenv.OIDCServing)
	jwks(t, getOK(t, client, iss.JWKSURL()))
	// The client retries a GET once on a connection closed without an answer.
	if got := iss.JWKSFetches(); got < 5 {
		t.Errorf("JWKSFetches: got %d, want at least 5 (every request that reached the issuer)", got)
	}
}

func TestOIDCIssuerTLS(t *testing.T) {
	iss := testenv.NewOIDCIssuerTLS(t)
	if !strings.HasPrefix(iss.URL(), "https://127.0.0.1:") {
		t.Fatalf("URL: got %s, want https on 127.0.0.1", iss.URL())
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(iss.CertPEM()) {
		t.Fatal("CertPEM holds no certificate")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	jwks(t, getOK(t, client, iss.JWKSURL()))
	if _, err := http.Get(iss.JWKSURL()); err == nil {
		t.Errorf("GET without trusting CertPEM: got no error")
	}
}

func getOK(t *testing.T, client *http.Client, url string) []byte {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	return body
}

func jwks(t *testing.T, b []byte) jose.JSONWebKeySet {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatalf("JWKS %s: %v", testenv.Clip(b), err)
	}
	return set
}

func verifyAny(jws *jose.JSONWebSignature, set jose.JSONWebKeySet) ([]byte, error) {
	var err error
	for _, k := range set.Keys {
		var p []byte
		if p, err = jws.Verify(k); err == nil {
			return p, nil
		}
	}
	return nil, err
}

func decode(t *testing.T, tok string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	for i, v := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
