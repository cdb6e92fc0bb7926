package identity

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
)

// The defaults of IssuerConfig.
const (
	DefaultLeeway          = 30 * time.Second
	DefaultMaxKeyAge       = 24 * time.Hour
	DefaultRefreshInterval = 5 * time.Minute
	DefaultMissInterval    = 10 * time.Second
	DefaultFetchTimeout    = 5 * time.Second

	// MaxLeeway is the largest clock skew an issuer may allow.
	MaxLeeway = 5 * time.Minute
	// MaxJWTSize is the longest token Verify decodes; a longer one is a bad token.
	MaxJWTSize = 16 << 10
)

// allowedAlgorithms are the signature algorithms an issuer may pin: asymmetric
// ones only, so that a public key can never serve as an HMAC secret.
var allowedAlgorithms = []string{
	"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA",
}

// IssuerConfig is one trusted JWT issuer.
type IssuerConfig struct {
	// Name is the issuer's configured name, which Principal.Issuer holds.
	Name string
	// Issuer is the exact iss of its tokens.
	Issuer string
	// JWKSURL is where its keys are; when it and JWKSFile are empty they are found by
	// OIDC discovery at Issuer (/.well-known/openid-configuration, jwks_uri).
	JWKSURL string
	// JWKSFile is a file holding its keys, for clusters that cannot reach the issuer.
	// It is checked for a change (size, modification time, inode) and read again
	// as the issuer would be fetched: when a token names an unknown kid (at most once
	// per MissInterval) and when the keys are older than RefreshInterval.
	JWKSFile string
	// Audiences are the accepted audiences: a token's aud must hold one. Required.
	Audiences []string
	// Algorithms are the signature algorithms accepted (default RS256); only
	// asymmetric ones may be named.
	Algorithms []string
	// CAFile is a PEM bundle of the CAs to trust for the issuer's HTTPS instead of
	// the system's roots.
	CAFile string
	// Leeway is the clock skew allowed for exp, nbf and iat, at most MaxLeeway
	// (default DefaultLeeway).
	Leeway time.Duration
	// MaxKeyAge is how long fetched keys keep verifying tokens while the issuer
	// cannot be reached (default DefaultMaxKeyAge).
	MaxKeyAge time.Duration
	// RefreshInterval is the age past which keys are refetched in the background of
	// a request (default DefaultRefreshInterval).
	RefreshInterval time.Duration
	// MissInterval is the least time between two fetches: a token with an unknown kid,
	// or a failing issuer, starts at most one per interval (default DefaultMissInterval).
	MissInterval time.Duration
	// FetchTimeout bounds one fetch of the keys, discovery included (default
	// DefaultFetchTimeout).
	FetchTimeout time.Duration
	// CacheSize is how many verified tokens are kept, by their SHA-256, so that a
	// token presented again is not verified again (default DefaultCacheSize; -1 keeps
	// none). It is rounded up to a multiple of 16, and the principals kept are also
	// bounded to about 32 MiB. A kept token is trusted until its exp, without leeway,
	// and only while the keys are usable and hold the key that verified it.
	CacheSize int
	// HTTPClient, if set, fetches the keys (CAFile must then be empty).
	HTTPClient *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Issuer verifies the JWTs of one issuer.
type Issuer struct {
	cfg      IssuerConfig
	algs     []string
	keys     *keySet
	verifier *oidc.IDTokenVerifier
	cache    *verifiedCache // nil when CacheSize is -1
}

// NewIssuer checks cfg, reporting every problem at once, and fills in its defaults.
// It makes no network call: keys are fetched when the first token needs them, so
// presignd starts while the issuer is down.
func NewIssuer(cfg IssuerConfig) (*Issuer, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	client := cfg.HTTPClient
	if client == nil {
		var err error
		if client, err = newHTTPClient(cfg.CAFile); err != nil {
			return nil, fmt.Errorf("issuer %s: ca_file: %w", cfg.Name, err)
		}
	}
	var source func(context.Context) ([]byte, error)
	switch {
	case cfg.JWKSFile != "":
		source = fileJWKS(cfg.JWKSFile)
	case cfg.JWKSURL != "":
		source = httpJWKS(client, cfg.JWKSURL)
	default:
		source = discoveredJWKS(client, cfg.Issuer)
	}
	algs := make([]jose.SignatureAlgorithm, len(cfg.Algorithms))
	for n, a := range cfg.Algorithms {
		algs[n] = jose.SignatureAlgorithm(a)
	}
	i := &Issuer{
		cfg:  cfg,
		algs: cfg.Algorithms,
		keys: &keySet{
			source:    source,
			algs:      algs,
			now:       cfg.Now,
			maxAge:    cfg.MaxKeyAge,
			refresh:   cfg.RefreshInterval,
			missEvery: cfg.MissInterval,
			timeout:   cfg.FetchTimeout,
		},
	}
	if cfg.CacheSize > 0 {
		i.cache = newVerifiedCache(cfg.CacheSize)
	}
	i.verifier = oidc.NewVerifier(cfg.Issuer, i.keys, &oidc.Config{
		SkipClientIDCheck:    true, // aud is checked against a list, in claims
		SupportedSigningAlgs: cfg.Algorithms,
		// go-oidc allows no skew for exp: moving its clock back by the leeway
		// allows it. Its own nbf skew is 5 minutes; claims allows only the leeway.
		Now: func() time.Time { return cfg.Now().Add(-cfg.Leeway) },
	})
	return i, nil
}

func (cfg *IssuerConfig) setDefaults() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("issuer %q: %s: %s", cfg.Name, field, fmt.Sprintf(format, args...)))
	}
	if cfg.Name == "" {
		bad("name", "is empty")
	}
	if cfg.Issuer == "" {
		bad("issuer", "is empty")
	}
	switch {
	case cfg.JWKSURL != "" && cfg.JWKSFile != "":
		bad("jwks_url", "and jwks_file are both set")
	case cfg.JWKSURL != "":
		if err := checkFetchURL(cfg.JWKSURL); err != nil {
			bad("jwks_url", "%v", err)
		}
	case cfg.JWKSFile == "" && cfg.Issuer != "":
		if err := checkFetchURL(cfg.Issuer); err != nil {
			bad("issuer", "cannot be discovered: %v", err)
		}
	}
	if len(cfg.Audiences) == 0 {
		bad("audiences", "is empty")
	}
	if slices.Contains(cfg.Audiences, "") {
		bad("audiences", "holds an empty audience")
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = []string{"RS256"}
	}
	for _, a := range cfg.Algorithms {
		if !slices.Contains(allowedAlgorithms, a) {
			bad("algorithms", "%q is not one of %s", a, strings.Join(allowedAlgorithms, ", "))
		}
	}
	if cfg.HTTPClient != nil && cfg.CAFile != "" {
		bad("ca_file", "is set with an HTTP client of the caller's")
	}
	durations := []struct {
		field string
		d     *time.Duration
		def   time.Duration
	}{
		{"leeway", &cfg.Leeway, DefaultLeeway},
		{"max_key_age", &cfg.MaxKeyAge, DefaultMaxKeyAge},
		{"refresh_interval", &cfg.RefreshInterval, DefaultRefreshInterval},
		{"miss_interval", &cfg.MissInterval, DefaultMissInterval},
		{"fetch_timeout", &cfg.FetchTimeout, DefaultFetchTimeout},
	}
	for _, d := range durations {
		if *d.d < 0 {
			bad(d.field, "%v is negative", *d.d)
		}
		if *d.d == 0 {
			*d.d = d.def
		}
	}
	if cfg.Leeway > MaxLeeway {
		bad("leeway", "%v is above %v", cfg.Leeway, MaxLeeway)
	}
	switch {
	case cfg.CacheSize == 0:
		cfg.CacheSize = DefaultCacheSize
	case cfg.CacheSize < -1:
		bad("cache_size", "%d is neither positive nor -1", cfg.CacheSize)
	}
	if cfg.RefreshInterval >= cfg.MaxKeyAge {
		bad("refresh_interval", "%v is not below max_key_age %v", cfg.RefreshInterval, cfg.MaxKeyAge)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return errors.Join(errs...)
}

func newHTTPClient(caFile string) (*http.Client, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{
		Transport: t,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
				return errors.New("redirect from https to " + req.URL.Scheme)
			}
			return nil
		},
	}, nil
}

// Name is the issuer's configured name.
func (i *Issuer) Name() string { return i.cfg.Name }

// Config is the configuration the issuer was made with, defaults filled in.
func (i *Issuer) Config() IssuerConfig { return i.cfg }

// Issuers lists the issuers, in no particular order.
func (s *Issuers) Issuers() []*Issuer {
	out := make([]*Issuer, 0, len(s.byIss))
	for _, i := range s.byIss {
		out = append(out, i)
	}
	return out
}

// KeyStats is what the issuer's key cache has done.
func (i *Issuer) KeyStats() KeyStats { return i.keys.stats() }

// Verify is the principal of raw, a JWT of this issuer: signed with one of its keys
// under a pinned algorithm, with its exact iss, an accepted aud, an exp not past, nbf
// and iat not ahead (all within the leeway) and a sub. Otherwise it is an *Error.
//
// A token verified before is served from the issuer's cache until its exp (see
// CacheSize): the principal's Claims map is then shared with the calls before, and
// must not be changed.
func (i *Issuer) Verify(ctx context.Context, raw string) (Principal, error) {
	if len(raw) > MaxJWTSize {
		return Principal{}, malformed()
	}
	th := hashToken(raw)
	if p, err, ok := i.cached(ctx, th, i.cfg.Now()); ok {
		return verified(p, err)
	}
	h, err := peek(raw)
	if err != nil {
		return Principal{}, err
	}
	return i.verify(ctx, raw, th, h)
}

// verified is p, or err when it is not nil: an *Error nil is no error.
func verified(p Principal, err *Error) (Principal, error) {
	if err != nil {
		return Principal{}, err
	}
	return p, nil
}

func (i *Issuer) verify(ctx context.Context, raw string, th tokenHash, h peeked) (Principal, error) {
	// The unverified header and iss can only refuse a token early, never accept it.
	if !slices.Contains(i.algs, h.alg) {
		return Principal{}, &Error{Reason: ReasonBadAlgorithm, Detail: "The token is signed with an algorithm its issuer is not trusted to use."}
	}
	if h.iss != i.cfg.Issuer {
		return Principal{}, badIssuer()
	}
	st := new(verifyState)
	_, err := i.verifier.Verify(context.WithValue(ctx, verifyStateKey{}, st), raw)
	if st.err != nil {
		return Principal{}, st.err
	}
	if st.payload == nil {
		// Refused before its signature was checked: go-oidc's message may quote
		// parts of the token, so it is left out.
		return Principal{}, &Error{Reason: ReasonBadToken, Detail: "The token is not a well-formed signed JWT."}
	}
	p, cerr := i.claims(st.payload)
	if cerr != nil {
		return Principal{}, cerr
	}
	if err != nil {
		// go-oidc refused claims that claims accepted; its message may quote them.
		return Principal{}, &Error{Reason: ReasonBadToken, Detail: "The token's claims are refused."}
	}
	if i.cache != nil {
		i.cache.add(th, p, st.key, st.generation, i.cfg.Now())
	}
	return p, nil
}

func badIssuer() *Error {
	return &Error{Reason: ReasonBadIssuer, Detail: "The token is not from a trusted issuer."}
}

// claims checks the claims of a verified payload and makes the principal.
func (i *Issuer) claims(payload []byte) (Principal, *Error) {
	badClaim := func(what string) *Error {
		return &Error{Reason: ReasonBadToken, Detail: "The token's " + what + "."}
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		return Principal{}, badClaim("payload is not a JSON object")
	}
	if iss, _ := m["iss"].(string); iss != i.cfg.Issuer {
		return Principal{}, badIssuer()
	}
	now := i.cfg.Now()
	exp, ok, err := numericDate(m["exp"])
	if err != nil || !ok {
		return Principal{}, badClaim("exp claim is missing or not a number")
	}
	if exp.Before(now.Add(-i.cfg.Leeway)) {
		return Principal{}, &Error{Reason: ReasonExpired, Detail: "The token has expired."}
	}
	for _, name := range []string{"nbf", "iat"} {
		t, ok, err := numericDate(m[name])
		if err != nil {
			return Principal{}, badClaim(name + " claim is not a number")
		}
		if ok && t.After(now.Add(i.cfg.Leeway)) {
			return Principal{}, &Error{Reason: ReasonNotYetValid, Detail: "The token is not valid yet."}
		}
	}
	aud, ok := audiences(m["aud"])
	if !ok {
		return Principal{}, badClaim("aud claim is neither a string nor a list of strings")
	}
	if !slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(i.cfg.Audiences, a) }) {
		return Principal{}, &Error{Reason: ReasonBadAudience, Detail: "The token is not for this service."}
	}
	sub, _ := m["sub"].(string)
	if sub == "" {
		return Principal{}, badClaim("sub claim is missing or empty")
	}
	p := Principal{Kind: KindJWT, Subject: sub, Issuer: i.cfg.Name, Claims: make(map[string]string), Expires: exp}
	for k, v := range m {
		if s, ok := v.(string); ok {
			p.Claims[k] = s
		}
	}
	return p, nil
}

// numericDate is the time of a NumericDate claim (seconds since the epoch, perhaps
// with a fraction); ok is false when v is absent.
func numericDate(v any) (t time.Time, ok bool, err error) {
	if v == nil {
		return time.Time{}, false, nil
	}
	n, isNum := v.(json.Number)
	if !isNum {
		return time.Time{}, false, errors.New("not a number")
	}
	f, err := n.Float64()
	if err != nil || math.Abs(f) > 1<<40 {
		return time.Time{}, false, errors.New("not a time")
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
}

func audiences(v any) ([]string, bool) {
	switch a := v.(type) {
	case string:
		return []string{a}, true
	case []any:
		out := make([]string, len(a))
		for n, e := range a {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out[n] = s
		}
		return out, true
	}
	return nil, false
}

// Issuers verifies the JWTs of several issuers.
type Issuers struct {
	byIss map[string]*Issuer
}

// NewIssuers routes tokens to issuers by their exact iss. Two issuers with the same
// iss or name are an error.
func NewIssuers(issuers ...*Issuer) (*Issuers, error) {
	s := &Issuers{byIss: make(map[string]*Issuer, len(issuers))}
	names := make(map[string]bool, len(issuers))
	var errs []error
	for _, i := range issuers {
		if _, dup := s.byIss[i.cfg.Issuer]; dup {
			errs = append(errs, fmt.Errorf("issuer %q: iss %q is another issuer's", i.cfg.Name, i.cfg.Issuer))
		}
		if names[i.cfg.Name] {
			errs = append(errs, fmt.Errorf("issuer %q: the name is another issuer's", i.cfg.Name))
		}
		s.byIss[i.cfg.Issuer], names[i.cfg.Name] = i, true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// Verify is the principal of raw, a JWT verified by the issuer whose iss it claims;
// a token claiming no configured issuer's iss is ReasonBadIssuer. A token an issuer
// verified before is served from its cache, as Issuer.Verify says.
func (s *Issuers) Verify(ctx context.Context, raw string) (Principal, error) {
	if len(raw) > MaxJWTSize { // before NewToken, so that an oversized token is never hashed
		return Principal{}, malformed()
	}
	return s.VerifyToken(ctx, NewToken(raw))
}

// VerifyToken is Verify of a token hashed already.
func (s *Issuers) VerifyToken(ctx context.Context, t Token) (Principal, error) {
	raw, th := t.raw, t.hash
	if len(raw) > MaxJWTSize {
		return Principal{}, malformed()
	}
	for _, i := range s.byIss {
		// Only the issuer that verified the token holds its hash.
		if p, err, ok := i.cached(ctx, th, i.cfg.Now()); ok {
			return verified(p, err)
		}
	}
	h, err := peek(raw)
	if err != nil {
		return Principal{}, err
	}
	i, ok := s.byIss[h.iss]
	if !ok {
		return Principal{}, badIssuer()
	}
	return i.verify(ctx, raw, th, h)
}

// peeked is what a token says of itself before anything is verified: enough to
// route it and to refuse it early, never to accept it.
type peeked struct {
	alg, iss string
}

func malformed() *Error {
	return &Error{Reason: ReasonBadToken, Detail: "The token is not a well-formed JWT."}
}

func peek(raw string) (peeked, error) {
	if len(raw) > MaxJWTSize || !LooksLikeJWT(raw) {
		return peeked{}, malformed()
	}
	header, rest, _ := strings.Cut(raw, ".")
	payload, _, _ := strings.Cut(rest, ".")
	var h struct {
		Alg string `json:"alg"`
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if decodeSegment(header, &h) != nil || decodeSegment(payload, &c) != nil {
		return peeked{}, malformed()
	}
	return peeked{alg: h.Alg, iss: c.Iss}, nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// LooksLikeJWT reports whether raw has the shape of a compact JWS: three segments
// of base64url characters separated by dots, the first two not empty (the third is
// empty for an unsigned token, which Verify then refuses for its algorithm). It
// decodes nothing, so it tells a JWT from an opaque token, not a good one from a bad.
func LooksLikeJWT(raw string) bool {
	dots, segLen := 0, 0
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case base64URLByte[c]:
			segLen++
		case c == '.' && segLen > 0 && dots < 2:
			dots++
			segLen = 0
		default:
			return false
		}
	}
	return dots == 2
}

// base64URLByte is whether a byte is of the base64url alphabet.
var base64URLByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
	}
	return t
}()
