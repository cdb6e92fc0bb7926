package identity_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/presignd/presignd/internal/identity"
	"github.com/presignd/presignd/internal/testenv"
)

// clock is a settable clock for an issuer's Now.
type clock struct {
	mu    sync.Mutex
	start time.Time
	t     time.Time
}

func newClock() *clock {
	now := time.Now()
	return &clock{start: now, t: now}
}

// Set sets the clock to d after it was made.
func (c *clock) Set(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.start.Add(d)
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newIssuer is an Issuer of iss, found by discovery, with the clock c, changed by
// mutate.
func newIssuer(t testing.TB, iss *testenv.OIDCIssuer, c *clock, mutate ...func(*identity.IssuerConfig)) *identity.Issuer {
	t.Helper()
	cfg := identity.IssuerConfig{
		Name:      "corp",
		Issuer:    iss.URL(),
		Audiences: []string{testenv.OIDCAudience},
		Now:       c.Now,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	i, err := identity.NewIssuer(cfg)
	if err != nil {
		t.Fatalf("NewIssuer: %v", err)
	}
	return i
}

// checkErr fails unless err is an *identity.Error of want (nil when want is "")
// whose text holds no part of tok.
func checkErr(t *testing.T, err error, want identity.Reason, tok string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("got %v (%s), want no error", err, identity.ReasonOf(err))
		}
		return
	}
	var e *identity.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v, want an *identity.Error of %s", err, err, want)
	}
	if e.Reason != want {
		t.Errorf("reason: got %s (%s), want %s", e.Reason, e.Detail, want)
	}
	if e.Detail == "" || strings.Count(strings.TrimSuffix(e.Detail, "."), ". ") > 0 {
		t.Errorf("detail %q is not one sentence", e.Detail)
	}
	text := fmt.Sprintf("%v | %+v", err, errors.Unwrap(err))
	for _, part := range strings.Split(tok, ".") {
		if len(part) >= 8 && strings.Contains(text, part) {
			t.Errorf("error %q holds part of the token", text)
		}
	}
	if strings.Contains(text, "alice") {
		t.Errorf("error %q holds the token's subject", text)
	}
}

func withAlgs(algs ...string) func(*identity.IssuerConfig) {
	return func(c *identity.IssuerConfig) { c.Algorithms = algs }
}

func TestIssuerVerify(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	c := newClock()
	now := c.Now()
	tok := testenv.TokenClaim
	for _, tc := range []struct {
		name   string
		token  func() string
		mutate func(*identity.IssuerConfig)
		want   identity.Reason
	}{
		{name: "RS256", token: func() string { return iss.Token("alice") }},
		{name: "ES256", token: func() string { return iss.Token("alice", testenv.TokenAlg("ES256")) }, mutate: withAlgs("RS256", "ES256")},
		{name: "ES256 not pinned", token: func() string { return iss.Token("alice", testenv.TokenAlg("ES256")) }, want: identity.ReasonBadAlgorithm},
		{name: "RS256 not pinned", token: func() string { return iss.Token("alice") }, mutate: withAlgs("ES256"), want: identity.ReasonBadAlgorithm},
		{name: "RS256 without kid", token: func() string { return iss.Token("alice", testenv.TokenNoKID()) }},
		{name: "ES256 without kid", token: func() string { return iss.Token("alice", testenv.TokenAlg("ES256"), testenv.TokenNoKID()) }, mutate: withAlgs("RS256", "ES256")},
		{name: "audience in a list", token: func() string { return iss.Token("alice", testenv.TokenAudience("other", testenv.OIDCAudience)) }},
		{name: "second configured audience", token: func() string { return iss.Token("alice", testenv.TokenAudience("b")) },
			mutate: func(c *identity.IssuerConfig) { c.Audiences = []string{"a", "b"} }},
		{name: "expired", token: func() string { return iss.Token("alice", testenv.TokenExpired()) }, want: identity.ReasonExpired},
		{name: "expired within the leeway", token: func() string { return iss.Token("alice", tok("exp", now.Add(-20*time.Second).Unix())) }},
		{name: "expired beyond the leeway", token: func() string { return iss.Token("alice", tok("exp", now.Add(-40*time.Second).Unix())) }, want: identity.ReasonExpired},
		{name: "no exp", token: func() string { return iss.Token("alice", tok("exp", nil)) }, want: identity.ReasonBadToken},
		{name: "exp not a number", token: func() string { return iss.Token("alice", tok("exp", "tomorrow")) }, want: identity.ReasonBadToken},
		{name: "not yet valid", token: func() string { return iss.Token("alice", testenv.TokenNotYetValid()) }, want: identity.ReasonNotYetValid},
		{name: "nbf within the leeway", token: func() string { return iss.Token("alice", tok("nbf", now.Add(20*time.Second).Unix())) }},
		{name: "nbf beyond the leeway", token: func() string { return iss.Token("alice", tok("nbf", now.Add(40*time.Second).Unix())) }, want: identity.ReasonNotYetValid},
		{name: "iat ahead", token: func() string { return iss.Token("alice", tok("iat", now.Add(10*time.Minute).Unix())) }, want: identity.ReasonNotYetValid},
		{name: "nbf a minute ahead, leeway 2m", token: func() string { return iss.Token("alice", tok("nbf", now.Add(time.Minute).Unix())) },
			mutate: func(c *identity.IssuerConfig) { c.Leeway = 2 * time.Minute }},
		{name: "wrong audience", token: func() string { return iss.Token("alice", testenv.TokenAudience("someone-else")) }, want: identity.ReasonBadAudience},
		{name: "no audience", token: func() string { return iss.Token("alice", tok("aud", nil)) }, want: identity.ReasonBadToken},
		{name: "audience not a string", token: func() string { return iss.Token("alice", tok("aud", 7)) }, want: identity.ReasonBadToken},
		{name: "wrong issuer", token: func() string { return iss.Token("alice", testenv.TokenIssuer("https://evil.example")) }, want: identity.ReasonBadIssuer},
		{name: "issuer with a trailing slash", token: func() string { return iss.Token("alice", testenv.TokenIssuer(iss.URL()+"/")) }, want: identity.ReasonBadIssuer},
		{name: "alg none", token: func() string { return iss.Token("alice", testenv.TokenAlgNone()) }, want: identity.ReasonBadAlgorithm},
		{name: "HS256 with the public key", token: func() string { return iss.Token("alice", testenv.TokenHS256PublicKey()) }, want: identity.ReasonBadAlgorithm},
		{name: "unknown kid", token: func() string { return iss.Token("alice", testenv.TokenUnknownKey()) }, want: identity.ReasonUnknownKey},
		// Without kid, a key the issuer does not publish cannot be told from a bad signature.
		{name: "unknown key without kid", token: func() string { return iss.Token("alice", testenv.TokenUnknownKey(), testenv.TokenNoKID()) }, want: identity.ReasonBadSignature},
		{name: "tampered", token: func() string { return iss.Token("alice", testenv.TokenTampered()) }, want: identity.ReasonBadSignature},
		{name: "tampered without kid", token: func() string { return iss.Token("alice", testenv.TokenTampered(), testenv.TokenNoKID()) }, want: identity.ReasonBadSignature},
		{name: "no sub", token: func() string { return iss.Token("alice", tok("sub", nil)) }, want: identity.ReasonBadToken},
		{name: "empty sub", token: func() string { return iss.Token("") }, want: identity.ReasonBadToken},
		{name: "unknown critical header", token: func() string {
			return iss.Token("alice", testenv.TokenHeader("crit", []string{"x-alice"}), testenv.TokenHeader("x-alice", 1))
		}, want: identity.ReasonBadToken},
		{name: "not a JWT", token: func() string { return "alice-static-token" }, want: identity.ReasonBadToken},
		{name: "segments not base64", token: func() string { return "eyJhbGciOiJSUzI1NiJ9.e30.%%%" }, want: identity.ReasonBadToken},
		{name: "header not JSON", token: func() string { return "YWxpY2U.YWxpY2U.YWxpY2U" }, want: identity.ReasonBadToken},
		{name: "too long", token: func() string { return iss.Token("alice", tok("pad", strings.Repeat("x", identity.MaxJWTSize))) }, want: identity.ReasonBadToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mutate []func(*identity.IssuerConfig)
			if tc.mutate != nil {
				mutate = append(mutate, tc.mutate)
			}
			i := newIssuer(t, iss, c, mutate...)
			raw := tc.token()
			p, err := i.Verify(context.Background(), raw)
			checkErr(t, err, tc.want, raw)
			if tc.want != "" {
				return
			}
			want := identity.Principal{Kind: identity.KindJWT, Subject: "alice", Issuer: "corp"}
			if diff := cmp.Diff(want, p, cmpopts.IgnoreFields(identity.Principal{}, "Claims", "Expires")); diff != "" {
				t.Errorf("principal (-want +got):\n%s", diff)
			}
			if p.Claims["sub"] != "alice" || p.Claims["iss"] != iss.URL() {
				t.Errorf("claims: got %v, want sub and iss among them", p.Claims)
			}
			if p.Expires.IsZero() {
				t.Errorf("Expires: got zero, want the token's exp")
			}
		})
	}
}

func TestIssuerPrincipalClaims(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	c := newClock()
	exp := c.Now().Add(time.Hour).Truncate(time.Second)
	raw := iss.Token("alice", testenv.TokenClaim("exp", exp.Unix()), testenv.TokenClaim("email", "alice@example.com"),
		testenv.TokenClaim("groups", []string{"x"}), testenv.TokenClaim("n", 3))
	p, err := newIssuer(t, iss, c).Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	want := identity.Principal{
		Kind: identity.KindJWT, Subject: "alice", Issuer: "corp", Expires: exp,
		Claims: map[string]string{"iss": iss.URL(), "sub": "alice", "aud": testenv.OIDCAudience, "email": "alice@example.com"},
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("principal (-want +got):\n%s", diff)
	}
}

func TestIssuersRouteByIss(t *testing.T) {
	a, b := testenv.NewOIDCIssuer(t), testenv.NewOIDCIssuer(t)
	c := newClock()
	ia := newIssuer(t, a, c, func(cfg *identity.IssuerConfig) { cfg.Name = "a" })
	ib := newIssuer(t, b, c, func(cfg *identity.IssuerConfig) { cfg.Name = "b" })
	s, err := identity.NewIssuers(ia, ib)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		raw      string
		want     identity.Reason
		wantName string
	}{
		{"issuer a", a.Token("alice"), "", "a"},
		{"issuer b", b.Token("alice"), "", "b"},
		{"unknown iss", a.Token("alice", testenv.TokenIssuer("https://idp.example")), identity.ReasonBadIssuer, ""},
		{"b's iss signed by a", a.Token("alice", testenv.TokenIssuer(b.URL())), identity.ReasonUnknownKey, ""},
		{"not a JWT", "alice", identity.ReasonBadToken, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.Verify(context.Background(), tc.raw)
			checkErr(t, err, tc.want, tc.raw)
			if p.Issuer != tc.wantName {
				t.Errorf("issuer: got %q, want %q", p.Issuer, tc.wantName)
			}
		})
	}
	if _, err := identity.NewIssuers(ia, newIssuer(t, a, c)); err == nil {
		t.Errorf("NewIssuers with two issuers of one iss: got no error")
	}
	if _, err := identity.NewIssuers(ia, newIssuer(t, b, c, func(cfg *identity.IssuerConfig) { cfg.Name = "a" })); err == nil {
		t.Errorf("NewIssuers with two issuers of one name: got no error")
	}
}

func TestIssuerRotation(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	c := newClock()
	i := newIssuer(t, iss, c)
	ctx := context.Background()
	old := iss.Token("alice")
	verifyOK(t, i, old)

	iss.Rotate()
	rotated := iss.Token("alice")
	_, err := i.Verify(ctx, rotated)
	checkErr(t, err, identity.ReasonUnknownKey, rotated) // the last fetch is too recent
	c.Add(identity.DefaultMissInterval)
	verifyOK(t, i, rotated)
	_, err = i.Verify(ctx, old)
	checkErr(t, err, identity.ReasonUnknownKey, old)
	if got := iss.JWKSFetches(); got != 2 {
		t.Errorf("JWKS fetches: got %d, want 2", got)
	}
}

func TestIssuerBackgroundRefresh(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	c := newClock()
	i := newIssuer(t, iss, c)
	old := iss.Token("alice")
	verifyOK(t, i, old)
	iss.Rotate()
	c.Add(identity.DefaultRefreshInterval + time.Second)
	verifyOK(t, i, old) // the cached keys answer; a refresh starts behind
	waitFetches(t, i, 2)
	// No fetch may start now (the last was this instant): the new key is there.
	verifyOK(t, i, iss.Token("alice"))
	if got := iss.JWKSFetches(); got != 2 {
		t.Errorf("JWKS fetches: got %d, want 2", got)
	}
}

func TestIssuerUnknownKIDsDoNotHammer(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	c := newClock()
	i := newIssuer(t, iss, c, withAlgs("RS256", "ES256"))
	verifyOK(t, i, iss.Token("alice"))
	c.Add(identity.DefaultMissInterval)
	for round := range 2 {
		before := iss.JWKSFetches()
		var wg sync.WaitGroup
		for range 50 {
			raw := iss.Token("alice", testenv.TokenAlg("ES256"), testenv.TokenUnknownKey())
			wg.Go(func() {
				_, err := i.Verify(context.Background(), raw)
				if identity.ReasonOf(err) != identity.ReasonUnknownKey {
					t.Errorf("random kid: got %v, want %s", err, identity.ReasonUnknownKey)
				}
			})
		}
		wg.Wait()
		if got := iss.JWKSFetches() - before; got > 1-round {
			t.Errorf("round %d: 50 random kids made %d JWKS fetches, want at most %d", round, got, 1-round)
		}
	}
}

func TestIssuerDownKeepsCachedKeysUntilMaxKeyAge(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	c := newClock()
	i := newIssuer(t, iss, c)
	raw := iss.Token("alice", testenv.TokenAt(c.Now()), testenv.TokenLifetime(72*time.Hour))
	verifyOK(t, i, raw)
	iss.Stop()

	for _, d := range []time.Duration{time.Hour, 12 * time.Hour, identity.DefaultMaxKeyAge - 2*time.Hour} {
		c.Set(d)
		verifyOK(t, i, raw)
		waitIdle(t, i)
	}
	c.Set(identity.DefaultMaxKeyAge + time.Second)
	_, err := i.Verify(context.Background(), raw)
	checkErr(t, err, identity.ReasonIssuerUnavailable, raw)
	var e *identity.Error
	if errors.As(err, &e) && (!e.Unavailable() || e.Err == nil) {
		t.Errorf("error: Unavailable() %v, cause %v; want true and the fetch's failure", e.Unavailable(), e.Err)
	}

	iss.Start()
	c.Set(identity.DefaultMaxKeyAge + time.Second + identity.DefaultMissInterval)
	verifyOK(t, i, raw)
}

func TestIssuerNeverReachable(t *testing.T) {
	for _, mode := range []struct {
		name string
		set  func(*testenv.OIDCIssuer)
	}{
		{"stopped", (*testenv.OIDCIssuer).Stop},
		{"refusing", func(s *testenv.OIDCIssuer) { s.SetMode(testenv.OIDCRefusing) }},
		{"slow", func(s *testenv.OIDCIssuer) { s.SetMode(testenv.OIDCSlow) }},
		{"garbage", func(s *testenv.OIDCIssuer) { s.SetMode(testenv.OIDCGarbage) }},
	} {
		t.Run(mode.name, func(t *testing.T) {
			iss := testenv.NewOIDCIssuer(t)
			raw := iss.Token("alice")
			mode.set(iss)
			c := newClock()
			i := newIssuer(t, iss, c, func(cfg *identity.IssuerConfig) { cfg.FetchTimeout = 200 * time.Millisecond })
			for range 3 {
				_, err := i.Verify(context.Background(), raw)
				checkErr(t, err, identity.ReasonIssuerUnavailable, raw)
			}
			if st := i.KeyStats(); st.Fetches != 1 || st.Failures != 1 || st.Keys != 0 || st.LastError == nil {
				t.Errorf("key stats: got %+v, want one failed fetch within the miss interval", st)
			}
		})
	}
}

func TestIssuerRequestContextEndsWait(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	iss.SetMode(testenv.OIDCSlow)
	i := newIssuer(t, iss, newClock())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	raw := iss.Token("alice")
	start := time.Now()
	_, err := i.Verify(ctx, raw)
	checkErr(t, err, identity.ReasonIssuerUnavailable, raw)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Verify took %v, want it to end with its context", d)
	}
}

func TestIssuerGarbageJWKSKeepsKeys(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	c := newClock()
	i := newIssuer(t, iss, c, func(cfg *identity.IssuerConfig) { cfg.JWKSURL = iss.JWKSURL() })
	raw := iss.Token("alice")
	verifyOK(t, i, raw)
	iss.SetMode(testenv.OIDCGarbage)

	c.Add(identity.DefaultMissInterval)
	unknown := iss.Token("alice", testenv.TokenUnknownKey())
	_, err := i.Verify(context.Background(), unknown)
	checkErr(t, err, identity.ReasonUnknownKey, unknown)
	verifyOK(t, i, raw)

	c.Add(identity.DefaultRefreshInterval)
	verifyOK(t, i, raw) // starts a refresh, which fails
	waitIdle(t, i)
	verifyOK(t, i, raw)
	if st := i.KeyStats(); st.Fetches != 3 || st.Failures != 2 || st.Keys != 2 {
		t.Errorf("key stats: got %+v, want 3 fetches, 2 failed, the 2 first keys kept", st)
	}
}

func TestIssuerJWKSFile(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	c := newClock()
	path := filepath.Join(t.TempDir(), "jwks.json")
	write := func(b []byte) {
		t.Helper()
		if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
	}
	write(iss.JWKS())
	i := newIssuer(t, iss, c, func(cfg *identity.IssuerConfig) { cfg.JWKSFile = path })
	iss.Stop() // the file is all there is
	old := iss.Token("alice")
	verifyOK(t, i, old)

	iss.Rotate()
	write(iss.JWKS())
	rotated := iss.Token("alice")
	_, err := i.Verify(context.Background(), rotated)
	checkErr(t, err, identity.ReasonUnknownKey, rotated)
	c.Add(identity.DefaultMissInterval)
	verifyOK(t, i, rotated)
	_, err = i.Verify(context.Background(), old)
	checkErr(t, err, identity.ReasonUnknownKey, old)

	write([]byte("not a JWKS"))
	c.Add(identity.DefaultRefreshInterval + time.Second)
	verifyOK(t, i, rotated)
	waitIdle(t, i)
	verifyOK(t, i, rotated)
	if st := i.KeyStats(); st.Failures != 1 || st.Keys != 2 {
		t.Errorf("key stats after a garbage file: got %+v, want 1 failure and the keys kept", st)
	}
	if got := iss.JWKSFetches() + iss.DiscoveryFetches(); got != 0 {
		t.Errorf("requests to the issuer: got %d, want none", got)
	}
}

func TestIssuerDiscoveryAndJWKSURL(t *testing.T) {
	for _, tc := range []struct {
		name          string
		jwksURL       bool
		wantDiscovery int
	}{
		{"discovery", false, 1},
		{"jwks_url", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iss := testenv.NewOIDCIssuer(t)
			i := newIssuer(t, iss, newClock(), func(cfg *identity.IssuerConfig) {
				if tc.jwksURL {
					cfg.JWKSURL = iss.JWKSURL()
				}
			})
			verifyOK(t, i, iss.Token("alice"))
			if got := iss.DiscoveryFetches(); got != tc.wantDiscovery {
				t.Errorf("discovery fetches: got %d, want %d", got, tc.wantDiscovery)
			}
			if got := iss.JWKSFetches(); got != 1 {
				t.Errorf("JWKS fetches: got %d, want 1", got)
			}
		})
	}
}

func TestIssuerTLS(t *testing.T) {
	iss := testenv.NewOIDCIssuerTLS(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, iss.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	raw := iss.Token("alice")
	verifyOK(t, newIssuer(t, iss, newClock(), func(cfg *identity.IssuerConfig) { cfg.CAFile = ca }), raw)

	_, err := newIssuer(t, iss, newClock()).Verify(context.Background(), raw)
	checkErr(t, err, identity.ReasonIssuerUnavailable, raw)
}

func TestNewIssuerRefusesBadConfig(t *testing.T) {
	valid := func() identity.IssuerConfig {
		return identity.IssuerConfig{Name: "corp", Issuer: "https://idp.example", Audiences: []string{"presignd"}}
	}
	if _, err := identity.NewIssuer(valid()); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*identity.IssuerConfig)
		want   string
	}{
		{"no name", func(c *identity.IssuerConfig) { c.Name = "" }, "name: is empty"},
		{"no issuer", func(c *identity.IssuerConfig) { c.Issuer = "" }, "issuer: is empty"},
		{"http issuer to discover", func(c *identity.IssuerConfig) { c.Issuer = "http://idp.example" }, "issuer: cannot be discovered"},
		{"http jwks_url", func(c *identity.IssuerConfig) { c.JWKSURL = "http://idp.example/keys" }, "jwks_url:"},
		{"jwks_url and jwks_file", func(c *identity.IssuerConfig) { c.JWKSURL, c.JWKSFile = "https://idp.example/keys", "/keys.json" }, "jwks_url: and jwks_file are both set"},
		{"no audience", func(c *identity.IssuerConfig) { c.Audiences = nil }, "audiences: is empty"},
		{"empty audience", func(c *identity.IssuerConfig) { c.Audiences = []string{""} }, "audiences: holds an empty audience"},
		{"alg none", func(c *identity.IssuerConfig) { c.Algorithms = []string{"none"} }, `algorithms: "none"`},
		{"HS256", func(c *identity.IssuerConfig) { c.Algorithms = []string{"RS256", "HS256"} }, `algorithms: "HS256"`},
		{"leeway above 5m", func(c *identity.IssuerConfig) { c.Leeway = 6 * time.Minute }, "leeway: 6m0s is above 5m0s"},
		{"negative miss interval", func(c *identity.IssuerConfig) { c.MissInterval = -time.Second }, "miss_interval: -1s is negative"},
		{"refresh not below max key age", func(c *identity.IssuerConfig) { c.MaxKeyAge = time.Minute }, "refresh_interval:"},
		{"cache size below -1", func(c *identity.IssuerConfig) { c.CacheSize = -2 }, "cache_size: -2 is neither positive nor -1"},
		{"missing CA file", func(c *identity.IssuerConfig) { c.CAFile = filepath.Join(t.TempDir(), "none.pem") }, "ca_file:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid()
			tc.mutate(&cfg)
			_, err := identity.NewIssuer(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
	// Every problem is told at once.
	_, err := identity.NewIssuer(identity.IssuerConfig{Algorithms: []string{"HS256"}})
	for _, want := range []string{"name:", "issuer:", "audiences:", "algorithms:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("empty config: got %v, want it to name %s", err, want)
		}
	}
}

func TestLooksLikeJWT(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want bool
	}{
		{"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl", true},
		{"eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.", true},
		{"a.b.c", true},
		{"", false},
		{"opaque-static-token", false},
		{"a.b", false},
		{"a.b.c.d", false},
		{".b.c", false},
		{"a..c", false},
		{"a.b.c=", false},
		{"a+b.c.d", false},
		{"a.b.c ", false},
	} {
		if got := identity.LooksLikeJWT(tc.raw); got != tc.want {
			t.Errorf("LooksLikeJWT(%q): got %v, want %v", tc.raw, got, tc.want)
		}
	}
	looks := false
	n := testing.AllocsPerRun(100, func() { looks = identity.LooksLikeJWT("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl") })
	if n != 0 || !looks {
		t.Errorf("LooksLikeJWT: got %v allocations and %v, want 0 and true", n, looks)
	}
}

// BenchmarkVerify measures a token verified each time (Uncached, the issuer keeping
// no verified token) and one served from the issuer's cache (Cached), through
// Issuers as presignd verifies them.
func BenchmarkVerify(b *testing.B) {
	iss := testenv.NewOIDCIssuer(b)
	for _, mode := range []struct {
		name      string
		cacheSize int
	}{{"Uncached", -1}, {"Cached", 0}} {
		i := newIssuer(b, iss, newClock(), withAlgs("RS256", "ES256"), func(cfg *identity.IssuerConfig) { cfg.CacheSize = mode.cacheSize })
		s, err := identity.NewIssuers(i)
		if err != nil {
			b.Fatal(err)
		}
		for _, alg := range []string{"RS256", "ES256"} {
			b.Run(alg+"/"+mode.name, func(b *testing.B) {
				raw := iss.Token("alice", testenv.TokenAlg(alg))
				ctx := context.Background()
				if _, err := s.Verify(ctx, raw); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.Verify(ctx, raw); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func verifyOK(t *testing.T, i *identity.Issuer, raw string) {
	t.Helper()
	if _, err := i.Verify(context.Background(), raw); err != nil {
		t.Fatalf("Verify: got %v (%s), want no error", err, identity.ReasonOf(err))
	}
}

// waitFetches waits for the issuer's key cache to have finished n fetches.
func waitFetches(t *testing.T, i *identity.Issuer, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := i.KeyStats()
		if st.Fetches >= n && !st.Fetching {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("key stats %+v: want %d fetches done", st, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitIdle waits for a fetch in the background to end.
func waitIdle(t *testing.T, i *identity.Issuer) {
	t.Helper()
	waitFetches(t, i, 0)
}
