package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/presignd/presignd/internal/identity"
	"github.com/presignd/presignd/internal/policy"
)

// Identity configures the identity sources beside static tokens (which clients'
// token_sha256 turn on): JWT issuers and a trusted auth proxy. Client certificates
// are configured under tls. A source nothing configures is off.
type Identity struct {
	Issuers        []Issuer        `yaml:"issuers"`
	TrustedProxies *TrustedProxies `yaml:"trusted_proxies"`
}

// Issuer is a JWT issuer whose tokens identify callers.
type Issuer struct {
	// Name is how clients[].match refers to the issuer.
	Name string `yaml:"name"`
	// Issuer is the exact iss of its tokens, and the base of OIDC discovery.
	Issuer string `yaml:"issuer"`
	// JWKSURL replaces discovery; JWKSFile replaces both (air-gapped clusters).
	JWKSURL  string `yaml:"jwks_url"`
	JWKSFile string `yaml:"jwks_file"`
	// Audiences are required: a token must be for one of them.
	Audiences []string `yaml:"audiences"`
	// Algorithms are the signature algorithms accepted; default RS256.
	Algorithms []string `yaml:"algorithms"`
	// CAFile is a PEM bundle to trust for the issuer's HTTPS, beside none of the
	// system's roots; empty trusts the system roots.
	CAFile string `yaml:"ca_file"`
	// Leeway is the clock skew allowed on exp, nbf and iat (default 30s, at most 5m).
	Leeway *Duration `yaml:"leeway"`
	// MaxKeyAge is how long keys fetched last keep working while the issuer cannot be
	// reached (default 24h); then its tokens are refused.
	MaxKeyAge *Duration `yaml:"max_key_age"`
}

// TrustedProxies configures an auth proxy (such as oauth2-proxy) whose identity
// headers name the caller. Only requests whose peer address is in From are read;
// the same headers from any other peer are ignored.
type TrustedProxies struct {
	From         []string `yaml:"from"`
	UserHeader   string   `yaml:"user_header"`
	GroupsHeader string   `yaml:"groups_header"`
}

// TLS serves the API over TLS; with ClientCAFile, client certificates signed by
// that CA identify callers (their SPIFFE ID or DNS name).
type TLS struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"`
	// RequireClientCert refuses connections without a client certificate.
	RequireClientCert bool `yaml:"require_client_cert"`
}

// Match says which principals a client is: every field set must hold.
type Match struct {
	// Issuer (a configured issuer's name), optionally with the token's subject and
	// claims that must have exactly these string values.
	Issuer  string            `yaml:"issuer"`
	Subject string            `yaml:"subject"`
	Claims  map[string]string `yaml:"claims"`
	// SPIFFEID or DNSName of a client certificate.
	SPIFFEID string `yaml:"spiffe_id"`
	DNSName  string `yaml:"dns_name"`
	// ProxyUser or ProxyGroup named by the trusted proxy.
	ProxyUser  string `yaml:"proxy_user"`
	ProxyGroup string `yaml:"proxy_group"`
}

// Defaults of the identity settings.
const (
	DefaultLeeway       = 30 * time.Second
	MaxLeeway           = 5 * time.Minute
	DefaultMaxKeyAge    = 24 * time.Hour
	DefaultUserHeader   = "X-Auth-Request-Email"
	DefaultGroupsHeader = "X-Auth-Request-Groups"
	DefaultAlgorithm    = "RS256"
)

// Algorithms lists the JWT signature algorithms an issuer may name: asymmetric only.
var Algorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

var (
	issuerNameRE = regexp.MustCompile(`^[a-z0-9._-]+$`)
	headerNameRE = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
	claimNameRE  = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// LeewayOf is the issuer's leeway or its default.
func (i Issuer) LeewayOf() time.Duration {
	if i.Leeway != nil {
		return i.Leeway.D
	}
	return DefaultLeeway
}

// MaxKeyAgeOf is the issuer's max_key_age or its default.
func (i Issuer) MaxKeyAgeOf() time.Duration {
	if i.MaxKeyAge != nil {
		return i.MaxKeyAge.D
	}
	return DefaultMaxKeyAge
}

// AlgorithmsOf are the issuer's algorithms or the default.
func (i Issuer) AlgorithmsOf() []string {
	if len(i.Algorithms) > 0 {
		return i.Algorithms
	}
	return []string{DefaultAlgorithm}
}

// UserHeaderOf and GroupsHeaderOf are the proxy's header names or their defaults.
func (t TrustedProxies) UserHeaderOf() string {
	if t.UserHeader != "" {
		return t.UserHeader
	}
	return DefaultUserHeader
}

// GroupsHeaderOf is the groups header's name or its default.
func (t TrustedProxies) GroupsHeaderOf() string {
	if t.GroupsHeader != "" {
		return t.GroupsHeader
	}
	return DefaultGroupsHeader
}

// ProxyPeers parses trusted_proxies.from, which Validate has checked.
func (t TrustedProxies) ProxyPeers() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(t.From))
	for _, f := range t.From {
		if p, err := parsePeer(f); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// parsePeer reads an address or a CIDR prefix, as the peers of requests are compared
// with it: IPv4 (also when written IPv4-mapped), without a zone.
func parsePeer(s string) (netip.Prefix, error) {
	if strings.Contains(s, "%") {
		return netip.Prefix{}, fmt.Errorf("has a zone")
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return netip.Prefix{}, fmt.Errorf("is wider than the IPv4-mapped range")
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

func checkIdentity(p *Problems, c *Config) {
	names := map[string]int{}
	issuers := map[string]int{}
	for i, is := range c.Identity.Issuers {
		checkIssuer(p, fmt.Sprintf("identity.issuers[%d]", i), i, is, names, issuers)
	}
	if tp := c.Identity.TrustedProxies; tp != nil {
		checkTrustedProxies(p, *tp)
	}
	if t := c.TLS; t != nil {
		if t.CertFile == "" {
			p.add("tls.cert_file", "is required with tls")
		}
		if t.KeyFile == "" {
			p.add("tls.key_file", "is required with tls")
		}
		if t.RequireClientCert && t.ClientCAFile == "" {
			p.add("tls.require_client_cert", "needs tls.client_ca_file, the CA that signs client certificates")
		}
	}
}

func checkIssuer(p *Problems, path string, i int, is Issuer, names, issuers map[string]int) {
	switch {
	case is.Name == "":
		p.add(path+".name", "is required (clients[].match refers to it)")
	case !issuerNameRE.MatchString(is.Name):
		p.add(path+".name", "%q may contain only lowercase letters, digits, '.', '_' and '-'", is.Name)
	default:
		if j, dup := names[is.Name]; dup {
			p.add(path+".name", "%q is already the name of identity.issuers[%d]", is.Name, j)
		}
		names[is.Name] = i
	}
	if is.Issuer == "" {
		p.add(path+".issuer", "is required: the exact iss of the tokens")
	} else if err := checkIssuerURL(is.Issuer); err != nil {
		p.add(path+".issuer", "%q %s", is.Issuer, err)
	} else if j, dup := issuers[is.Issuer]; dup {
		p.add(path+".issuer", "is already the issuer of identity.issuers[%d]; a token's iss must lead to one issuer", j)
	} else {
		issuers[is.Issuer] = i
	}
	if is.JWKSURL != "" && is.JWKSFile != "" {
		p.add(path+".jwks_file", "and jwks_url cannot both be set")
	}
	if is.JWKSURL != "" {
		if err := checkIssuerURL(is.JWKSURL); err != nil {
			p.add(path+".jwks_url", "%q %s", is.JWKSURL, err)
		}
	}
	if len(is.Audiences) == 0 {
		p.add(path+".audiences", "at least one audience is required: a token for any audience would do otherwise")
	}
	for k, a := range is.Audiences {
		if strings.TrimSpace(a) == "" {
			p.add(fmt.Sprintf("%s.audiences[%d]", path, k), "is empty")
		}
	}
	for k, a := range is.Algorithms {
		if !slices.Contains(Algorithms, a) {
			p.add(fmt.Sprintf("%s.algorithms[%d]", path, k), "%q is not one of %s (none and HMAC algorithms are never accepted)", a, strings.Join(Algorithms, ", "))
		}
	}
	if is.Leeway != nil && (is.Leeway.D < 0 || is.Leeway.D > MaxLeeway) {
		p.add(path+".leeway", "must be between 0s and 5m")
	}
	if is.MaxKeyAge != nil && (is.MaxKeyAge.D < 10*time.Minute || is.MaxKeyAge.D > 30*24*time.Hour) {
		p.add(path+".max_key_age", "must be between 10m and 30d")
	}
}

// checkIssuerURL accepts https URLs, and http ones on a loopback host only.
func checkIssuerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("is not an https URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		// The hosts the issuer's key fetcher allows plain HTTP to (internal/identity).
		if host := u.Hostname(); host == "localhost" || host == "127.0.0.1" || host == "::1" {
			return nil
		}
		return fmt.Errorf("must be https (http is only allowed on localhost, 127.0.0.1 or ::1)")
	}
	return fmt.Errorf("is not an https URL")
}

func checkTrustedProxies(p *Problems, tp TrustedProxies) {
	const path = "identity.trusted_proxies"
	if len(tp.From) == 0 {
		p.add(path+".from", "at least one peer address or CIDR is required")
	}
	for k, f := range tp.From {
		fp := fmt.Sprintf("%s.from[%d]", path, k)
		pfx, err := parsePeer(f)
		switch {
		case err != nil:
			p.add(fp, "%q is not an IP address or CIDR prefix", f)
		case pfx.Bits() == 0:
			p.add(fp, "%q trusts every peer: anyone could send identity headers", f)
		}
	}
	for _, h := range []struct{ name, v string }{{"user_header", tp.UserHeader}, {"groups_header", tp.GroupsHeader}} {
		if h.v != "" && !headerNameRE.MatchString(h.v) {
			p.add(path+"."+h.name, "%q is not an HTTP header name", h.v)
		}
		for _, reserved := range []string{"Authorization", "Proxy-Authorization", "Cookie", "Host", "Content-Type", "Content-Length", "Origin"} {
			if strings.EqualFold(h.v, reserved) {
				p.add(path+"."+h.name, "cannot be %s, which says something else", h.v)
			}
		}
	}
	if tp.UserHeaderOf() == tp.GroupsHeaderOf() || strings.EqualFold(tp.UserHeaderOf(), tp.GroupsHeaderOf()) {
		p.add(path+".groups_header", "must differ from user_header")
	}
}

// checkMatches checks the match list of clients[i].
func checkMatches(p *Problems, path string, c *Config, cl Client) {
	issuers := map[string]bool{}
	for _, is := range c.Identity.Issuers {
		issuers[is.Name] = true
	}
	for k, m := range cl.Match {
		mp := fmt.Sprintf("%s.match[%d]", path, k)
		kinds := 0
		for _, set := range []bool{m.Issuer != "", m.SPIFFEID != "", m.DNSName != "", m.ProxyUser != "", m.ProxyGroup != ""} {
			if set {
				kinds++
			}
		}
		switch {
		case kinds == 0 && (m.Subject != "" || len(m.Claims) > 0):
			p.add(mp+".issuer", "is required with subject or claims")
		case kinds == 0:
			p.add(mp, "names nothing: give one of issuer, spiffe_id, dns_name, proxy_user, proxy_group")
		case kinds > 1:
			p.add(mp, "names more than one of issuer, spiffe_id, dns_name, proxy_user, proxy_group; list each as a match of its own")
		}
		if m.Issuer != "" && !issuers[m.Issuer] {
			p.add(mp+".issuer", "%q is not the name of any identity.issuers entry", m.Issuer)
		}
		if m.Issuer == "" && kinds == 1 && (m.Subject != "" || len(m.Claims) > 0) {
			p.add(mp, "subject and claims apply to issuer matches only")
		}
		for _, name := range sortedKeys(m.Claims) {
			if !claimNameRE.MatchString(name) {
				p.add(mp+".claims."+name, "%q is not a claim name (letters, digits, '_' and '-')", name)
			}
		}
		if m.SPIFFEID != "" {
			if err := checkSPIFFEID(m.SPIFFEID); err != nil {
				p.add(mp+".spiffe_id", "%q %s", m.SPIFFEID, err)
			}
		}
		if (m.SPIFFEID != "" || m.DNSName != "") && (c.TLS == nil || c.TLS.ClientCAFile == "") {
			p.add(mp, "matches a client certificate, and tls.client_ca_file is not set")
		}
		if (m.ProxyUser != "" || m.ProxyGroup != "") && c.Identity.TrustedProxies == nil {
			p.add(mp, "matches the trusted proxy's headers, and identity.trusted_proxies is not set")
		}
	}
}

// checkSPIFFEID accepts spiffe://trust-domain/path as the SPIFFE standard writes it:
// a lower-case trust domain, path segments of letters, digits, '.', '_' and '-', no
// "." or ".." segment, nothing else (no port, query, fragment or percent-encoding).
func checkSPIFFEID(s string) error {
	if !identity.ValidSPIFFEID(s) {
		return fmt.Errorf("is not a SPIFFE ID such as spiffe://example.org/ns/ops/sa/dashboard")
	}
	return nil
}

// prefixAttributes are the attributes a prefix template of client is checked with:
// its name, and a stand-in for each caller attribute the template names.
func prefixAttributes(client, template string) policy.Attributes {
	attrs := policy.Attributes{policy.AttrClient: nonEmpty(client)}
	names, _ := policy.Names(template)
	for _, n := range names {
		if policy.CallerAttribute(n) {
			attrs[n] = "x"
		}
	}
	return attrs
}
