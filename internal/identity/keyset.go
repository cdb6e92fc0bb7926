package identity

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

const (
	// maxDocumentSize bounds a discovery document, a JWKS response and a JWKS file.
	maxDocumentSize = 1 << 20
	// minRSABits is the smallest RSA key a JWKS may publish and still be used.
	minRSABits = 2048
)

// keySet is the public signing keys of one issuer: fetched from a JWKS (by URL, by
// OIDC discovery or from a file), cached, and refetched when they are old or a token
// names a key they do not hold. It is go-oidc's oidc.KeySet.
//
// At most one fetch runs at a time, and a new one starts at most once per missEvery
// after the previous attempt, so neither unknown kids nor a failing issuer make
// requests hammer it. The keys of the last successful fetch are used until maxAge
// has passed since it; after that every token is refused until a fetch succeeds.
type keySet struct {
	source    func(ctx context.Context) ([]byte, error) // the JWKS document
	algs      []jose.SignatureAlgorithm
	now       func() time.Time
	maxAge    time.Duration
	refresh   time.Duration
	missEvery time.Duration
	timeout   time.Duration

	mu          sync.Mutex
	keys        *keyCache // of the last successful fetch; nil before the first
	lastAttempt time.Time
	lastErr     error
	inflight    chan struct{} // closed when the running fetch ends; nil when none runs
	fetches     int
	failures    int
	generation  uint64 // of the last successful fetch

	signatures atomic.Int64
}

// keyCache is the usable keys of one JWKS document. It is never changed once built.
type keyCache struct {
	fetchedAt time.Time
	// generation counts the successful fetches of the key set: two keyCaches of one
	// key set with the same generation are the same.
	generation uint64
	all        []cachedKey
	byKID      map[string][]int // indexes into all
	prints     map[keyFingerprint]struct{}
}

type cachedKey struct {
	jose.JSONWebKey
	print keyFingerprint
}

// keyFingerprint names a key together with what decides which tokens it verifies:
// the SHA-256 of its kid, its alg and its RFC 7638 thumbprint. A token verified by a
// key may be trusted again without its signature only while the issuer's keys hold
// a key of the same fingerprint.
type keyFingerprint [sha256.Size]byte

func fingerprint(k *jose.JSONWebKey) (keyFingerprint, error) {
	thumb, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return keyFingerprint{}, err
	}
	h := sha256.New()
	h.Write([]byte(k.KeyID))
	h.Write([]byte{0})
	h.Write([]byte(k.Algorithm))
	h.Write([]byte{0})
	h.Write(thumb)
	return keyFingerprint(h.Sum(nil)), nil
}

// holds reports whether the keys hold a key of fingerprint p.
func (c *keyCache) holds(p keyFingerprint) bool {
	_, ok := c.prints[p]
	return ok
}

// KeyStats is what an issuer's key cache has done, for tests and metrics.
type KeyStats struct {
	Fetches   int       // fetches started (including failed ones)
	Failures  int       // fetches that failed; the keys they would have replaced stayed
	Fetching  bool      // a fetch is running
	Keys      int       // keys held
	FetchedAt time.Time // when the held keys were fetched; zero before the first success
	LastError error     // why the last fetch failed; nil if it succeeded
	// Signatures counts the tokens whose signature was checked: those not served
	// from the issuer's cache of verified tokens.
	Signatures int64
}

func (ks *keySet) stats() KeyStats {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	s := KeyStats{Fetches: ks.fetches, Failures: ks.failures, Fetching: ks.inflight != nil, LastError: ks.lastErr, Signatures: ks.signatures.Load()}
	if ks.keys != nil {
		s.Keys, s.FetchedAt = len(ks.keys.all), ks.keys.fetchedAt
	}
	return s
}

// verifyState carries, through go-oidc's IDTokenVerifier, what keySet.VerifySignature
// found for one token: go-oidc keeps neither the error's type nor the payload when it
// refuses the claims, nor says which key verified it.
type verifyState struct {
	signed
	err *Error
}

// signed is what a verified signature says: the payload, and the key that signed
// it, in the generation of the keys that held it.
type signed struct {
	payload    []byte
	key        keyFingerprint
	generation uint64
}

type verifyStateKey struct{}

// VerifySignature is the payload of jwt if one of the issuer's keys signed it with a
// pinned algorithm; otherwise it is an *Error.
func (ks *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	ks.signatures.Add(1)
	s, err := ks.verifySignature(ctx, jwt)
	if st, ok := ctx.Value(verifyStateKey{}).(*verifyState); ok {
		st.signed, st.err = s, err
	}
	if err != nil {
		return nil, err
	}
	return s.payload, nil
}

func (ks *keySet) verifySignature(ctx context.Context, jwt string) (signed, *Error) {
	jws, err := jose.ParseSignedCompact(jwt, ks.algs)
	if err != nil || len(jws.Signatures) != 1 {
		// go-jose's message may quote a header value: the cause is left out.
		return signed{}, &Error{Reason: ReasonBadToken, Detail: "The token is not a well-formed signed JWT."}
	}
	h := jws.Signatures[0].Header
	if _, ok := h.ExtraHeaders["crit"]; ok {
		// Critical header extensions (RFC 7515, 4.1.11) are all unknown here.
		return signed{}, &Error{Reason: ReasonBadToken, Detail: "The token names a critical header extension this service does not support."}
	}
	kid, alg := h.KeyID, h.Algorithm
	now := ks.now()
	keys, e := ks.current(ctx, now)
	if e != nil {
		return signed{}, e
	}
	s, candidates := keys.verify(jws, kid, alg)
	if s.payload != nil {
		return s, nil
	}
	if kid != "" && candidates > 0 {
		return signed{}, badSignature()
	}
	// The kid is unknown, or a token without kid fits none of the keys: the
	// issuer may have rotated them.
	if newer := ks.miss(ctx, now, keys); newer != nil {
		s, candidates = newer.verify(jws, kid, alg)
		if s.payload != nil {
			return s, nil
		}
	}
	if candidates > 0 {
		return signed{}, badSignature()
	}
	return signed{}, &Error{Reason: ReasonUnknownKey, Detail: "The token is signed with a key its issuer does not publish."}
}

func badSignature() *Error {
	return &Error{Reason: ReasonBadSignature, Detail: "The token's signature does not verify."}
}

// verify is jws's payload and signing key if one of the keys fitting kid and alg
// signed it, and how many keys fit. A token without kid is tried against every key
// fitting alg.
func (c *keyCache) verify(jws *jose.JSONWebSignature, kid, alg string) (s signed, candidates int) {
	try := func(k *cachedKey) bool {
		if !fits(&k.JSONWebKey, alg) {
			return false
		}
		candidates++
		p, err := jws.Verify(k.Key)
		if err != nil {
			return false
		}
		s = signed{payload: p, key: k.print, generation: c.generation}
		return true
	}
	if kid == "" {
		for i := range c.all {
			if try(&c.all[i]) {
				break
			}
		}
		return s, candidates
	}
	for _, i := range c.byKID[kid] {
		if try(&c.all[i]) {
			break
		}
	}
	return s, candidates
}

// fits reports whether k may verify a signature made with alg: the key says alg or
// nothing, and its type and curve are alg's.
func fits(k *jose.JSONWebKey, alg string) bool {
	if k.Algorithm != "" && k.Algorithm != alg {
		return false
	}
	switch key := k.Key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return key.Curve == elliptic.P256()
		case "ES384":
			return key.Curve == elliptic.P384()
		case "ES512":
			return key.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// current is the keys to verify with at now: the cached ones while younger than
// maxAge (starting a refresh in the background when older than refresh), else those
// of a fetch this call waits for.
func (ks *keySet) current(ctx context.Context, now time.Time) (*keyCache, *Error) {
	ks.mu.Lock()
	if k := ks.usableLocked(now); k != nil {
		if now.Sub(k.fetchedAt) > ks.refresh && ks.inflight == nil && ks.mayFetchLocked(now) {
			ks.startLocked(ctx, now)
		}
		ks.mu.Unlock()
		return k, nil
	}
	if ks.inflight == nil && !ks.mayFetchLocked(now) {
		defer ks.mu.Unlock()
		return nil, ks.unavailableLocked(nil)
	}
	done := ks.startLocked(ctx, now)
	ks.mu.Unlock()

	waitErr := wait(ctx, done)
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if k := ks.usableLocked(now); k != nil {
		return k, nil
	}
	return nil, ks.unavailableLocked(waitErr)
}

// miss is the keys of a fetch newer than seen, for a token that seen cannot
// verify, or nil when there are none and no fetch may start yet.
func (ks *keySet) miss(ctx context.Context, now time.Time, seen *keyCache) *keyCache {
	ks.mu.Lock()
	if ks.keys != seen {
		k := ks.keys
		ks.mu.Unlock()
		return k
	}
	if ks.inflight == nil && !ks.mayFetchLocked(now) {
		ks.mu.Unlock()
		return nil
	}
	done := ks.startLocked(ctx, now)
	ks.mu.Unlock()
	if wait(ctx, done) != nil {
		return nil
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if ks.keys == seen {
		return nil
	}
	return ks.keys
}

func (ks *keySet) usableLocked(now time.Time) *keyCache {
	if ks.keys == nil || now.Sub(ks.keys.fetchedAt) > ks.maxAge {
		return nil
	}
	return ks.keys
}

func (ks *keySet) mayFetchLocked(now time.Time) bool {
	return ks.lastAttempt.IsZero() || now.Sub(ks.lastAttempt) >= ks.missEvery
}

func (ks *keySet) unavailableLocked(waitErr error) *Error {
	cause := ks.lastErr
	if waitErr != nil {
		cause = waitErr
	}
	detail := "The token's issuer cannot be reached for its signing keys; try again later."
	if ks.keys != nil {
		detail = "The token's issuer has not been reachable for too long to trust its cached signing keys; try again later."
	}
	return &Error{Reason: ReasonIssuerUnavailable, Detail: detail, Err: cause}
}

// startLocked starts a fetch unless one runs, and returns the channel its end
// closes. The fetch outlives the request that started it (others may wait for it)
// but not the fetch timeout.
func (ks *keySet) startLocked(ctx context.Context, now time.Time) chan struct{} {
	if ks.inflight != nil {
		return ks.inflight
	}
	done := make(chan struct{})
	ks.inflight = done
	ks.lastAttempt = now
	ks.fetches++
	go ks.fetch(context.WithoutCancel(ctx), now, done)
	return done
}

func (ks *keySet) fetch(ctx context.Context, started time.Time, done chan struct{}) {
	ctx, cancel := context.WithTimeout(ctx, ks.timeout)
	defer cancel()
	var keys *keyCache
	doc, err := ks.source(ctx)
	if err == nil {
		keys, err = parseJWKS(doc, started)
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if err != nil {
		ks.lastErr = err
		ks.failures++
	} else {
		ks.generation++
		keys.generation = ks.generation
		ks.keys, ks.lastErr = keys, nil
	}
	ks.inflight = nil
	close(done)
}

func wait(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// parseJWKS is the usable keys of a JWKS document: public RSA (2048 bits or more),
// ECDSA and Ed25519 keys whose use is "sig" or unsaid. Other keys (symmetric,
// private, for encryption, of unknown types) are left out. A document that is not
// a JWKS, or holds no usable key, is an error: a fetch of it fails and the keys
// fetched before stay.
func parseJWKS(doc []byte, fetchedAt time.Time) (*keyCache, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("not a JWKS: %w", err)
	}
	c := &keyCache{fetchedAt: fetchedAt, byKID: make(map[string][]int), prints: make(map[keyFingerprint]struct{})}
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if k.UnmarshalJSON(raw) != nil || !usable(&k) {
			continue
		}
		fp, err := fingerprint(&k)
		if err != nil {
			continue
		}
		c.all = append(c.all, cachedKey{JSONWebKey: k, print: fp})
		c.prints[fp] = struct{}{}
		if k.KeyID != "" {
			c.byKID[k.KeyID] = append(c.byKID[k.KeyID], len(c.all)-1)
		}
	}
	if len(c.all) == 0 {
		return nil, fmt.Errorf("the JWKS holds none of %d keys usable for signatures", len(set.Keys))
	}
	return c, nil
}

func usable(k *jose.JSONWebKey) bool {
	if !k.Valid() || (k.Use != "" && k.Use != "sig") {
		return false
	}
	switch key := k.Key.(type) {
	case *rsa.PublicKey:
		return key.N.BitLen() >= minRSABits
	case *ecdsa.PublicKey, ed25519.PublicKey:
		return true
	}
	return false
}

// httpJWKS fetches the JWKS at jwksURL.
func httpJWKS(client *http.Client, jwksURL string) func(context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) {
		return get(ctx, client, jwksURL)
	}
}

// discoveredJWKS fetches the JWKS named by the issuer's OIDC discovery document,
// which must name the issuer exactly. The document is fetched each time, so a
// moved jwks_uri is followed.
func discoveredJWKS(client *http.Client, issuer string) func(context.Context) ([]byte, error) {
	wellKnown := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	return func(ctx context.Context) ([]byte, error) {
		doc, err := get(ctx, client, wellKnown)
		if err != nil {
			return nil, err
		}
		var meta struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := json.Unmarshal(doc, &meta); err != nil {
			return nil, fmt.Errorf("discovery document %s: %w", wellKnown, err)
		}
		if meta.Issuer != issuer {
			return nil, fmt.Errorf("discovery document %s names issuer %q, not %q", wellKnown, meta.Issuer, issuer)
		}
		if err := checkFetchURL(meta.JWKSURI); err != nil {
			return nil, fmt.Errorf("discovery document %s: jwks_uri: %w", wellKnown, err)
		}
		if strings.HasPrefix(issuer, "https:") && !strings.HasPrefix(meta.JWKSURI, "https:") {
			return nil, fmt.Errorf("discovery document %s: jwks_uri %q is not https", wellKnown, meta.JWKSURI)
		}
		return get(ctx, client, meta.JWKSURI)
	}
}

// get is the body of a 200 answer to a GET of u, at most maxDocumentSize bytes.
func get(ctx context.Context, client *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > maxDocumentSize {
		return nil, fmt.Errorf("GET %s: the answer is larger than %d bytes", u, maxDocumentSize)
	}
	return body, nil
}

// checkFetchURL accepts an absolute https URL, or an http one on a loopback host
// (a local issuer or a test's).
func checkFetchURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	switch {
	case u.Host == "":
		return fmt.Errorf("%q is not an absolute URL", raw)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%q is neither https nor http on a loopback address", raw)
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// fileJWKS reads the JWKS at path when its size, modification time or inode changed
// since the last read, and otherwise gives the document read then. The keySet's
// single flight means no two calls run at once.
func fileJWKS(path string) func(context.Context) ([]byte, error) {
	var (
		last os.FileInfo
		doc  []byte
	)
	return func(context.Context) ([]byte, error) {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		if last != nil && os.SameFile(last, fi) && fi.Size() == last.Size() && fi.ModTime().Equal(last.ModTime()) {
			return doc, nil
		}
		if fi.Size() > maxDocumentSize {
			return nil, fmt.Errorf("%s is larger than %d bytes", path, maxDocumentSize)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if len(b) > maxDocumentSize {
			return nil, errors.New(path + " grew larger than the limit while read")
		}
		last, doc = fi, b
		return doc, nil
	}
}
