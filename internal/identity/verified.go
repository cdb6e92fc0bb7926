package identity

import (
	"context"
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// DefaultCacheSize is the default of IssuerConfig.CacheSize.
const DefaultCacheSize = 10_000

const (
	// cacheShards is how many independently locked parts a verified-token cache has.
	cacheShards = 16
	// maxCacheBytes bounds the estimated size of the principals an issuer's cache
	// holds, whatever its CacheSize.
	maxCacheBytes = 32 << 20
	// entryOverhead is the estimated size of a cached principal besides its strings:
	// the entry, its map slot, the Principal and its claims map.
	entryOverhead = 384
	// claimOverhead is the estimated size of a claim besides its name and value.
	claimOverhead = 64
	// evictionSample is how many entries a full shard looks at to choose one to evict.
	evictionSample = 8
)

// tokenHash is the SHA-256 of a raw token: what the cache keeps of it.
type tokenHash [sha256.Size]byte

// Token is a raw bearer token with its SHA-256, computed once: the API looks static
// tokens up by the hash, and an issuer keeps the principals of the JWTs it verified by
// it. NewToken makes a Token, whose hash is always that of its token; the zero Token
// holds no token and no hash of one, and verifies as a malformed JWT.
type Token struct {
	raw  string
	hash tokenHash
}

// NewToken hashes raw.
func NewToken(raw string) Token { return Token{raw: raw, hash: hashToken(raw)} }

// Hash is the token's SHA-256.
func (t Token) Hash() [sha256.Size]byte { return t.hash }

// Raw is the token itself.
func (t Token) Raw() string { return t.raw }

// String and GoString never show the token or its hash, should a Token be formatted.
func (Token) String() string   { return "identity.Token(redacted)" }
func (Token) GoString() string { return "identity.Token(redacted)" }

func hashToken(raw string) tokenHash {
	// sha256 reads the bytes and keeps none of them: hashing the string's bytes in
	// place spares a copy of the token on the heap per request.
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
}

// verifiedCache is the principals of tokens an issuer has verified, by the SHA-256
// of the token, so that a token presented again is not verified again. It holds at
// most maxEntries principals and about maxBytes of them, split evenly over its
// shards; a full shard evicts an expired entry or else the one expiring first of a
// few it samples.
//
// An entry is served only before the token's exp (the leeway plays no part), and only
// while the issuer's current keys are usable (no older than MaxKeyAge) and hold a key
// of the fingerprint that verified it; the caller checks the keys. A token's nbf and
// iat are not checked again: they were valid when it was verified. Failures are not
// cached.
type verifiedCache struct {
	shards                   [cacheShards]verifiedShard
	shardEntries, shardBytes int
	hits, evicted            atomic.Int64
}

type verifiedShard struct {
	mu      sync.Mutex
	entries map[tokenHash]*verifiedEntry
	bytes   int
	_       [64]byte // keeps shards' locks on separate cache lines
}

type verifiedEntry struct {
	p Principal
	// key is the fingerprint of the key that verified the token; generation is that
	// of the issuer's keys last seen holding it.
	key        keyFingerprint
	generation uint64
	size       int
}

// VerifiedStats is what an issuer's cache of verified tokens holds and has done.
type VerifiedStats struct {
	Entries int   // tokens held
	Bytes   int   // the estimated size of their principals
	Hits    int64 // tokens served without their signature being checked
	Evicted int64 // entries dropped to make room
}

func newVerifiedCache(size int) *verifiedCache {
	perShard := func(n int) int { return max(1, (n+cacheShards-1)/cacheShards) }
	c := &verifiedCache{shardEntries: perShard(size), shardBytes: perShard(maxCacheBytes)}
	for i := range c.shards {
		c.shards[i].entries = make(map[tokenHash]*verifiedEntry)
	}
	return c
}

func (c *verifiedCache) shard(h tokenHash) *verifiedShard {
	return &c.shards[h[0]%cacheShards]
}

// find is the entry for h if it is held and now is before the token's exp. The
// entry returned is a copy: the caller still checks it against the keys.
func (c *verifiedCache) find(h tokenHash, now time.Time) (verifiedEntry, bool) {
	s := c.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[h]
	if !ok {
		return verifiedEntry{}, false
	}
	if !now.Before(e.p.Expires) {
		s.deleteLocked(h, e)
		return verifiedEntry{}, false
	}
	return *e, true
}

// seen records that the keys of generation g hold the key that verified h.
func (c *verifiedCache) seen(h tokenHash, key keyFingerprint, g uint64) {
	s := c.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[h]; ok && e.key == key && e.generation < g {
		e.generation = g
	}
}

// drop forgets h if it was verified by key.
func (c *verifiedCache) drop(h tokenHash, key keyFingerprint) {
	s := c.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[h]; ok && e.key == key {
		s.deleteLocked(h, e)
	}
}

// add holds p, of a token hashed to h that key, of the keys of generation g,
// verified at now. A token past its exp (accepted within the leeway) is not held.
func (c *verifiedCache) add(h tokenHash, p Principal, key keyFingerprint, g uint64, now time.Time) {
	if !now.Before(p.Expires) {
		return
	}
	e := &verifiedEntry{p: p, key: key, generation: g, size: principalSize(&p)}
	if e.size > c.shardBytes {
		return
	}
	s := c.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.entries[h]; ok {
		s.deleteLocked(h, old)
	}
	for len(s.entries) >= c.shardEntries || s.bytes+e.size > c.shardBytes {
		s.evictLocked(now)
		c.evicted.Add(1)
	}
	s.entries[h] = e
	s.bytes += e.size
}

// evictLocked deletes an expired entry, or else the one expiring first, of a few the
// map's random iteration order picks.
func (s *verifiedShard) evictLocked(now time.Time) {
	var (
		victim  *verifiedEntry
		victimH tokenHash
		n       int
	)
	for h, e := range s.entries {
		if victim == nil || e.p.Expires.Before(victim.p.Expires) {
			victim, victimH = e, h
		}
		n++
		if n == evictionSample || !now.Before(e.p.Expires) {
			break
		}
	}
	if victim != nil {
		s.deleteLocked(victimH, victim)
	}
}

func (s *verifiedShard) deleteLocked(h tokenHash, e *verifiedEntry) {
	delete(s.entries, h)
	s.bytes -= e.size
}

func (c *verifiedCache) stats() VerifiedStats {
	st := VerifiedStats{Hits: c.hits.Load(), Evicted: c.evicted.Load()}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		st.Entries += len(s.entries)
		st.Bytes += s.bytes
		s.mu.Unlock()
	}
	return st
}

// principalSize is the estimated size of a cached principal.
func principalSize(p *Principal) int {
	n := entryOverhead + len(p.Subject)
	for k, v := range p.Claims {
		n += claimOverhead + len(k) + len(v)
	}
	return n
}

// cached is the principal of the token hashed to h, if the issuer verified it before
// and it may be trusted now without verifying it again; ok is false when it must be
// verified. When the issuer's keys are too old to be used and cannot be fetched, a
// held token is refused as a new one would be: err is ReasonIssuerUnavailable.
func (i *Issuer) cached(ctx context.Context, h tokenHash, now time.Time) (p Principal, err *Error, ok bool) {
	if i.cache == nil {
		return Principal{}, nil, false
	}
	e, found := i.cache.find(h, now)
	if !found {
		return Principal{}, nil, false
	}
	keys, err := i.keys.current(ctx, now)
	if err != nil {
		return Principal{}, err, true
	}
	if keys.generation != e.generation {
		if !keys.holds(e.key) {
			// The key that verified the token is gone: verifying it again says why
			// it fails now.
			i.cache.drop(h, e.key)
			return Principal{}, nil, false
		}
		i.cache.seen(h, e.key, keys.generation)
	}
	i.cache.hits.Add(1)
	return e.p, nil, true
}

// VerifiedStats is what the issuer's cache of verified tokens holds and has done;
// zero when it has none (CacheSize -1).
func (i *Issuer) VerifiedStats() VerifiedStats {
	if i.cache == nil {
		return VerifiedStats{}
	}
	return i.cache.stats()
}
