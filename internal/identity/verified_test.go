package identity_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/presignd/presignd/internal/identity"
	"github.com/presignd/presignd/internal/testenv"
)

// signatures is how many tokens i has checked the signature of.
func signatures(i *identity.Issuer) int64 { return i.KeyStats().Signatures }

// checkSignatures fails unless i has checked want signatures.
func checkSignatures(t *testing.T, i *identity.Issuer, want int64) {
	t.Helper()
	if got := signatures(i); got != want {
		t.Errorf("signatures checked: got %d, want %d", got, want)
	}
}

// setClock sets c to t.
func setClock(c *clock, t time.Time) { c.Add(t.Sub(c.Now())) }

func TestVerifiedCacheServesWithoutVerifying(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	for _, alg := range []string{"RS256", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			c := newClock()
			i := newIssuer(t, iss, c, withAlgs("RS256", "ES256"))
			s, err := identity.NewIssuers(i)
			if err != nil {
				t.Fatal(err)
			}
			raw := iss.Token("alice", testenv.TokenAlg(alg), testenv.TokenClaim("email", "alice@example.com"))
			want, err := i.Verify(context.Background(), raw)
			if err != nil {
				t.Fatal(err)
			}
			for n := range 6 {
				verify := i.Verify
				switch n % 3 {
				case 1:
					verify = s.Verify
				case 2: // the API's way: the token hashed once, for both lookups
					verify = func(ctx context.Context, raw string) (identity.Principal, error) {
						return s.VerifyToken(ctx, identity.NewToken(raw))
					}
				}
				p, err := verify(context.Background(), raw)
				if err != nil {
					t.Fatalf("verify %d: %v", n, err)
				}
				if diff := cmp.Diff(want, p); diff != "" {
					t.Errorf("verify %d: principal (-want +got):\n%s", n, diff)
				}
			}
			checkSignatures(t, i, 1)
			if st := i.VerifiedStats(); st.Hits != 6 || st.Entries != 1 || st.Bytes <= 0 {
				t.Errorf("cache stats: got %+v, want 6 hits of 1 entry", st)
			}
		})
	}
}

func TestVerifiedCacheRoutesToTheIssuerThatVerified(t *testing.T) {
	a, b := testenv.NewOIDCIssuer(t), testenv.NewOIDCIssuer(t)
	c := newClock()
	ia := newIssuer(t, a, c, func(cfg *identity.IssuerConfig) { cfg.Name = "a" })
	ib := newIssuer(t, b, c, func(cfg *identity.IssuerConfig) { cfg.Name = "b" })
	s, err := identity.NewIssuers(ia, ib)
	if err != nil {
		t.Fatal(err)
	}
	ta, tb := a.Token("alice"), b.Token("alice")
	for range 3 {
		for _, tc := range []struct{ raw, want string }{{ta, "a"}, {tb, "b"}} {
			p, err := s.Verify(context.Background(), tc.raw)
			if err != nil || p.Issuer != tc.want {
				t.Fatalf("got %q, %v; want issuer %q", p.Issuer, err, tc.want)
			}
		}
	}
	checkSignatures(t, ia, 1)
	checkSignatures(t, ib, 1)
}

func TestVerifiedCacheEndsAtExp(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	c := newClock()
	i := newIssuer(t, iss, c)
	exp := c.Now().Add(time.Hour).Truncate(time.Second)
	raw := iss.Token("alice", testenv.TokenAt(c.Now()), testenv.TokenClaim("exp", exp.Unix()))
	verifyOK(t, i, raw)

	setClock(c, exp.Add(-time.Nanosecond))
	verifyOK(t, i, raw)
	checkSignatures(t, i, 1)
	waitIdle(t, i) // the keys are older than the refresh interval

	// At exp the token is verified again: still accepted within the leeway, but
	// no longer kept.
	setClock(c, exp)
	verifyOK(t, i, raw)
	checkSignatures(t, i, 2)
	verifyOK(t, i, raw)
	checkSignatures(t, i, 3)
	if st := i.VerifiedStats(); st.Entries != 0 {
		t.Errorf("entries at exp: got %d, want 0", st.Entries)
	}

	setClock(c, exp.Add(identity.DefaultLeeway+time.Second))
	_, err := i.Verify(context.Background(), raw)
	checkErr(t, err, identity.ReasonExpired, raw)
}

func TestVerifiedCacheKeyRotation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rotate bool
		want   identity.Reason
	}{
		{"keys refetched unchanged", false, ""},
		{"key removed", true, identity.ReasonUnknownKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iss := testenv.NewOIDCIssuer(t)
			c := newClock()
			i := newIssuer(t, iss, c)
			raw := iss.Token("alice")
			verifyOK(t, i, raw)
			if tc.rotate {
				iss.Rotate()
			}
			// The keys held still have the token's key; a refresh starts behind.
			c.Add(identity.DefaultRefreshInterval + time.Second)
			verifyOK(t, i, raw)
			checkSignatures(t, i, 1)
			waitFetches(t, i, 2)

			_, err := i.Verify(context.Background(), raw)
			checkErr(t, err, tc.want, raw)
			wantSignatures := int64(1)
			if tc.rotate {
				wantSignatures = 2
			}
			checkSignatures(t, i, wantSignatures)
			_, err = i.Verify(context.Background(), raw)
			checkErr(t, err, tc.want, raw)
			if tc.rotate {
				wantSignatures++
			}
			checkSignatures(t, i, wantSignatures)
		})
	}
}

func TestVerifiedCacheRotationFoundByAnotherToken(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	c := newClock()
	i := newIssuer(t, iss, c)
	old := iss.Token("alice")
	verifyOK(t, i, old)
	iss.Rotate()
	c.Add(identity.DefaultMissInterval)
	verifyOK(t, i, iss.Token("alice")) // an unknown kid: the new keys are fetched
	_, err := i.Verify(context.Background(), old)
	checkErr(t, err, identity.ReasonUnknownKey, old)
	checkSignatures(t, i, 3)
}

func TestVerifiedCacheIssuerDownPastMaxKeyAge(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	c := newClock()
	i := newIssuer(t, iss, c)
	raw := iss.Token("alice", testenv.TokenAt(c.Now()), testenv.TokenLifetime(72*time.Hour))
	verifyOK(t, i, raw)
	iss.Stop()

	c.Set(identity.DefaultMaxKeyAge - time.Hour)
	verifyOK(t, i, raw)
	waitIdle(t, i)
	checkSignatures(t, i, 1)

	c.Set(identity.DefaultMaxKeyAge + time.Second)
	for range 2 {
		_, err := i.Verify(context.Background(), raw)
		checkErr(t, err, identity.ReasonIssuerUnavailable, raw)
		var e *identity.Error
		if errors.As(err, &e) && !e.Unavailable() {
			t.Errorf("Unavailable: got false, want true")
		}
	}
	checkSignatures(t, i, 1)

	iss.Start()
	c.Add(identity.DefaultMissInterval)
	verifyOK(t, i, raw)
	checkSignatures(t, i, 1) // the keys fetched again hold the token's key
}

func TestVerifiedCacheBounded(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	const size, tokens = 32, 300
	i := newIssuer(t, iss, newClock(), withAlgs("ES256"), func(cfg *identity.IssuerConfig) { cfg.CacheSize = size })
	var last string
	for n := range tokens {
		last = iss.Token(fmt.Sprintf("user-%d", n), testenv.TokenAlg("ES256"))
		verifyOK(t, i, last)
	}
	st := i.VerifiedStats()
	if st.Entries > size || st.Entries == 0 {
		t.Errorf("entries: got %d, want 1 to %d", st.Entries, size)
	}
	if st.Evicted < tokens-size {
		t.Errorf("evicted: got %d, want at least %d", st.Evicted, tokens-size)
	}
	if limit := size * (1 << 10); st.Bytes > limit {
		t.Errorf("bytes: got %d, want at most %d", st.Bytes, limit)
	}
	checkSignatures(t, i, tokens)
}

func TestVerifiedCacheTamperedNeverHits(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	i := newIssuer(t, iss, newClock())
	raw := iss.Token("alice")
	verifyOK(t, i, raw)

	parts := strings.Split(raw, ".")
	sig := []byte(parts[2])
	mid := len(sig) / 2
	if sig[mid] == 'A' {
		sig[mid] = 'B'
	} else {
		sig[mid] = 'A'
	}
	for _, tc := range []struct{ name, raw string }{
		{"signature changed", parts[0] + "." + parts[1] + "." + string(sig)},
		{"payload changed", iss.Token("alice", testenv.TokenTampered())},
		{"signature moved to other claims", parts[0] + "." + strings.Split(iss.Token("alice", testenv.TokenClaim("role", "admin")), ".")[1] + "." + parts[2]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := signatures(i)
			for range 2 {
				_, err := i.Verify(context.Background(), tc.raw)
				checkErr(t, err, identity.ReasonBadSignature, tc.raw)
			}
			checkSignatures(t, i, before+2)
		})
	}
	if st := i.VerifiedStats(); st.Entries != 1 {
		t.Errorf("entries: got %d, want 1", st.Entries)
	}
	verifyOK(t, i, raw)
}

func TestVerifiedCacheSameClaimsOtherSignature(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	i := newIssuer(t, iss, newClock(), withAlgs("ES256"))
	now := time.Now().Unix()
	claims := []testenv.TokenOption{
		testenv.TokenAlg("ES256"), testenv.TokenClaim("iat", now), testenv.TokenClaim("nbf", now), testenv.TokenClaim("exp", now+3600),
	}
	t1, t2 := iss.Token("alice", claims...), iss.Token("alice", claims...)
	p1, p2 := strings.Split(t1, "."), strings.Split(t2, ".")
	if p1[0] != p2[0] || p1[1] != p2[1] || p1[2] == p2[2] {
		t.Fatalf("want two tokens differing in their signature only")
	}
	for range 3 {
		verifyOK(t, i, t1)
		verifyOK(t, i, t2)
	}
	checkSignatures(t, i, 2)
	if st := i.VerifiedStats(); st.Entries != 2 || st.Hits != 4 {
		t.Errorf("cache stats: got %+v, want 2 entries, 4 hits", st)
	}
}

func TestVerifiedCacheKeepsNoFailure(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	i := newIssuer(t, iss, newClock())
	for _, tc := range []struct {
		name string
		raw  string
		want identity.Reason
	}{
		{"expired", iss.Token("alice", testenv.TokenExpired()), identity.ReasonExpired},
		{"wrong audience", iss.Token("alice", testenv.TokenAudience("other")), identity.ReasonBadAudience},
		{"unknown key", iss.Token("alice", testenv.TokenUnknownKey()), identity.ReasonUnknownKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := signatures(i)
			for range 2 {
				_, err := i.Verify(context.Background(), tc.raw)
				checkErr(t, err, tc.want, tc.raw)
			}
			checkSignatures(t, i, before+2)
		})
	}
	if st := i.VerifiedStats(); st.Entries != 0 {
		t.Errorf("entries: got %d, want 0", st.Entries)
	}
}

func TestVerifiedCacheOff(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	i := newIssuer(t, iss, newClock(), func(cfg *identity.IssuerConfig) { cfg.CacheSize = -1 })
	raw := iss.Token("alice")
	for range 3 {
		verifyOK(t, i, raw)
	}
	checkSignatures(t, i, 3)
	if st := i.VerifiedStats(); st != (identity.VerifiedStats{}) {
		t.Errorf("cache stats: got %+v, want zero", st)
	}
}

func TestVerifiedCacheHitAllocations(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	i := newIssuer(t, iss, newClock())
	s, err := identity.NewIssuers(i)
	if err != nil {
		t.Fatal(err)
	}
	raw := iss.Token("alice")
	verifyOK(t, i, raw)
	ctx := context.Background()
	for name, verify := range map[string]func(context.Context, string) (identity.Principal, error){"Issuer": i.Verify, "Issuers": s.Verify} {
		var err error
		if n := testing.AllocsPerRun(100, func() { _, err = verify(ctx, raw) }); n != 0 || err != nil {
			t.Errorf("%s: a cached token: got %v allocations and %v, want 0 and no error", name, n, err)
		}
	}
}

func TestVerifiedCacheConcurrent(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	c := newClock()
	i := newIssuer(t, iss, c, withAlgs("RS256", "ES256"), func(cfg *identity.IssuerConfig) { cfg.CacheSize = 16 })
	s, err := identity.NewIssuers(i)
	if err != nil {
		t.Fatal(err)
	}
	var tokens []string
	for n := range 40 {
		tokens = append(tokens, iss.Token(fmt.Sprintf("user-%d", n), testenv.TokenAlg("ES256")))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range 300 {
				raw := tokens[(g*7+n)%len(tokens)]
				_, err := s.Verify(context.Background(), raw)
				if r := identity.ReasonOf(err); err != nil && r != identity.ReasonUnknownKey {
					t.Errorf("got %v (%s), want no error or %s", err, r, identity.ReasonUnknownKey)
					return
				}
				if n%50 == 0 {
					i.VerifiedStats()
				}
			}
		})
	}
	wg.Go(func() {
		iss.Rotate()
		c.Add(identity.DefaultRefreshInterval + time.Second)
	})
	wg.Wait()
	if st := i.VerifiedStats(); st.Entries > 16 {
		t.Errorf("entries: got %d, want at most 16", st.Entries)
	}
}

// TestTokenHashAndFormatting: a Token's hash is the SHA-256 of the token, and no
// formatting of a Token shows the token or its hash.
func TestTokenHashAndFormatting(t *testing.T) {
	raw := "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
	tok := identity.NewToken(raw)
	if tok.Hash() != sha256.Sum256([]byte(raw)) || tok.Raw() != raw {
		t.Fatalf("NewToken(%q): hash or token differ from the token's", raw)
	}
	h := tok.Hash()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		out := fmt.Sprintf(verb, tok) + fmt.Sprintf(verb, struct{ T identity.Token }{tok})
		if strings.Contains(out, "eyJ") || strings.Contains(out, hex.EncodeToString(h[:4])) {
			t.Errorf("%s shows the token or its hash: %s", verb, out)
		}
	}
}

// TestZeroTokenIsMalformed: the zero Token, whose hash is of no token, is refused as
// a malformed JWT, never looked up as one.
func TestZeroTokenIsMalformed(t *testing.T) {
	iss := testenv.NewOIDCIssuer(t)
	s, err := identity.NewIssuers(newIssuer(t, iss, newClock()))
	if err != nil {
		t.Fatal(err)
	}
	var ie *identity.Error
	if _, err := s.VerifyToken(context.Background(), identity.Token{}); !errors.As(err, &ie) || ie.Reason != identity.ReasonBadToken {
		t.Errorf("zero Token: got %v, want a bad_token error", err)
	}
}
