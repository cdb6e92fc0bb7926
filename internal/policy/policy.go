// Package policy decides whether a client may have a pre-signed URL and for how long.
//
// It is pure: plain values in (client, bucket, key, method, requested lifetime, the
// current time and the signing credentials' expiry), a Decision or a typed error out.
// It imports only the standard library.
//
// # Matching
//
// New indexes each client's grants by bucket, prefix and method (index.go), so a
// decision looks up the client by name, the bucket, and then only the prefixes that
// can cover the key: "" and the key's slash-terminated starts, up to the bucket's
// longest prefix. Its cost depends on the key and on the grants that cover it, not on
// the number of clients or of grants elsewhere.
//
// # Placeholders
//
// A grant prefix is a template: "home/{client}/" names the client's attribute
// "client", "uploads/{subject}/" and "teams/{claims.team}/" name attributes of the
// caller (Env.Caller: the principal's subject and string claims). Templates are
// expanded before anything is indexed, so the matcher only ever holds literal
// prefixes. A client's own attributes are expanded once, in New. A client whose
// templates name caller attributes is compiled for each distinct caller at its first
// decision, and the result cached (caller.go). A prefix whose caller value is missing
// or is not exactly one key segment (CheckSegment) is left out for that caller, so a
// request under it is denied (identity_not_usable) and a value can never move a
// prefix boundary or widen a prefix.
package policy

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Methods a grant can allow.
const (
	MethodGet    = "GET"
	MethodPut    = "PUT"
	MethodHead   = "HEAD"
	MethodDelete = "DELETE"
)

// Methods lists every method a grant can name, in a stable order.
var Methods = []string{MethodGet, MethodPut, MethodHead, MethodDelete}

// S3MaxTTL is the longest lifetime SigV4 allows for a pre-signed URL.
const S3MaxTTL = 7 * 24 * time.Hour

// CredentialsMargin is kept between a URL's expiry and the expiry of the temporary
// credentials that signed it, so that a URL never outlives its credentials.
const CredentialsMargin = time.Minute

// Cap names the limit that shortened a requested lifetime.
type Cap string

// The limits that can cap a lifetime, in the order that breaks ties.
const (
	CapNone        Cap = ""
	CapPolicy      Cap = "policy"
	CapS3Max       Cap = "s3_max"
	CapCredentials Cap = "credentials"
)

// Grant allows a client some methods on some key prefixes of one bucket.
type Grant struct {
	Bucket   string
	Prefixes []string // "" (whole bucket) or ending in "/"; placeholders already expanded
	Methods  []string
	MaxTTL   time.Duration
	// ContentTypes, when set, requires uploads to declare a matching content type.
	// An entry is a media type ("image/png") or a wildcard ("image/*", "*/*").
	ContentTypes []string
	// MaxContentLength, when above zero, requires uploads to declare a size not above it.
	MaxContentLength int64
}

// Client is a caller and its grants.
type Client struct {
	Name   string
	Grants []Grant
	// Uploads, when set, is where browser upload widgets (Uppy) put this client's
	// objects; its prefix is a template like a grant prefix.
	Uploads *UploadLocation
}

// Request is what a client asks for.
type Request struct {
	Bucket string
	Key    string
	Method string
	// TTL is the requested lifetime in whole seconds.
	TTL       int64
	StrictTTL bool
	// ContentType and ContentLength are the upload's declared type and size;
	// ContentLength is -1 when no size was declared.
	// ContentType must be one media type (ParseContentType); grants match its essence.
	ContentType   string
	ContentLength int64
	// Form marks a browser form upload (POST policy): ContentLength is then an optional
	// maximum, and the grant's max_content_length applies when it is absent.
	Form bool
}

// Env is the state of the world a decision depends on.
type Env struct {
	Now time.Time
	// CredentialsExpire is false for credentials that do not expire.
	CredentialsExpire bool
	CredentialsExpiry time.Time
	// Caller holds the caller's attributes ("subject", "claims.NAME") for the
	// templates that name them.
	Caller Attributes
}

// Decision is an allowed request.
type Decision struct {
	Client string
	// GrantIndex is the position of the allowing grant in the client's grants.
	GrantIndex int
	Grant      *Grant
	Prefix     string // the grant prefix the key sits under
	// TTL is the effective lifetime in whole seconds.
	TTL      int64
	CappedBy Cap
	// Limits holds every limit that applied, in seconds.
	Limits Limits
}

// Limits are the limits on a lifetime, in seconds: the grant's max_ttl, S3's 7 days,
// and what is left of expiring credentials less CredentialsMargin.
type Limits struct {
	Policy, S3Max, Credentials int64
	// CredentialsExpire tells whether the credentials limit applied.
	CredentialsExpire bool
}

// Map returns the limits that applied by cause.
func (l Limits) Map() map[Cap]int64 {
	m := map[Cap]int64{CapPolicy: l.Policy, CapS3Max: l.S3Max}
	if l.CredentialsExpire {
		m[CapCredentials] = l.Credentials
	}
	return m
}

// Policy holds every client and its grants, indexed for decisions.
type Policy struct {
	clients map[string]clientIndex // by value: one place less in memory to reach
	// templated holds the clients whose prefixes name caller attributes.
	templated map[string]*templatedClient
	callers   callerCache
	// uploads holds each client's upload location template, when it has one.
	uploads map[string]UploadLocation
}

// New builds a Policy: each client's grants are expanded with its attributes and
// indexed. A prefix must be "" or end in "/" once expanded.
func New(clients []Client) (*Policy, error) {
	p := &Policy{clients: make(map[string]clientIndex, len(clients)), templated: map[string]*templatedClient{}, uploads: map[string]UploadLocation{}}
	for _, c := range clients {
		if _, dup := p.clients[c.Name]; dup {
			return nil, fmt.Errorf("client %q is defined twice", c.Name)
		}
		if c.Uploads != nil {
			p.uploads[c.Name] = *c.Uploads
		}
		tc, err := newTemplatedClient(c)
		if err != nil {
			return nil, fmt.Errorf("client %q: %w", c.Name, err)
		}
		if tc != nil {
			p.templated[c.Name] = tc
			p.clients[c.Name] = clientIndex{grants: c.Grants}
			continue
		}
		ix, err := compileClient(c.Grants, clientAttributes(c))
		if err != nil {
			return nil, fmt.Errorf("client %q: %w", c.Name, err)
		}
		p.clients[c.Name] = *ix
	}
	return p, nil
}

// clientAttributes are the identity attributes a client's prefixes are expanded
// with. This is where a new attribute gets its value.
func clientAttributes(c Client) Attributes {
	return Attributes{AttrClient: c.Name}
}

// compileClient expands the placeholders of grants with attrs and indexes the result.
// The index, and so every decision, only ever sees literal prefixes. The caller's
// grants are left alone.
func compileClient(grants []Grant, attrs Attributes) (*clientIndex, error) {
	expanded := make([]Grant, len(grants))
	for i, g := range grants {
		ng := g
		ng.Prefixes = make([]string, 0, max(len(g.Prefixes), 1))
		for _, pfx := range g.Prefixes {
			exp, err := Expand(pfx, attrs)
			if err != nil {
				return nil, fmt.Errorf("grants[%d]: %w", i, err)
			}
			ng.Prefixes = append(ng.Prefixes, exp)
		}
		if len(ng.Prefixes) == 0 {
			ng.Prefixes = append(ng.Prefixes, "")
		}
		expanded[i] = ng
	}
	return newClientIndex(expanded)
}

// Client returns a client's grants, with placeholders expanded; the prefixes of a
// client whose templates name caller attributes are its templates (see ClientFor).
func (p *Policy) Client(name string) (Client, bool) {
	c, ok := p.clients[name]
	if !ok {
		return Client{}, false
	}
	return Client{Name: name, Grants: c.grants}, true
}

// Templated reports whether the client's grants name the caller's attributes: only
// such a client's decisions read Env.Caller.
func (p *Policy) Templated(client string) bool { return p.templated[client] != nil }

// ClientNames returns the configured client names, sorted.
func (p *Policy) ClientNames() []string {
	names := make([]string, 0, len(p.clients))
	for n := range p.clients {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Decide checks a request against the client's grants and computes its lifetime.
//
// The request is validated first (InvalidError). A request no grant allows gets a
// DeniedError naming the most specific reason. A lifetime that would be capped
// under StrictTTL gets a TTLError; credentials too close to expiry a CredentialsError.
func (p *Policy) Decide(client string, req Request, env Env) (Decision, error) {
	if err := ValidateRequest(req); err != nil {
		return Decision{}, err
	}
	c, ok := p.clients[client]
	if !ok {
		return Decision{}, &DeniedError{Reason: ReasonBucketNotAllowed, Detail: fmt.Sprintf("no grant allows bucket %q", req.Bucket)}
	}
	var ci *callerIndex
	if tc := p.templated[client]; tc != nil {
		var err error
		if ci, err = p.forCaller(tc, env.Caller); err != nil {
			return Decision{}, err
		}
		c = *ci.ix
	}
	gi, prefix, err := c.match(req)
	if err != nil {
		if ci != nil {
			err = ci.deny(req, err)
		}
		return Decision{}, err
	}
	g := &c.grants[gi]
	d := Decision{Client: client, GrantIndex: gi, Grant: g, Prefix: prefix}
	d.TTL, d.CappedBy, d.Limits = effectiveTTL(req.TTL, g.MaxTTL, env)
	if d.TTL < 1 {
		return d, &CredentialsError{Expiry: env.CredentialsExpiry}
	}
	if d.CappedBy != CapNone && req.StrictTTL {
		return d, &TTLError{Requested: req.TTL, Effective: d.TTL, CappedBy: d.CappedBy}
	}
	return d, nil
}

func hasMethod(methods []string, m string) bool {
	for _, x := range methods {
		if x == m {
			return true
		}
	}
	return false
}

// checkUpload applies a grant's content type and size rules to an upload.
func checkUpload(g *Grant, req Request) *DeniedError {
	contentType, contentLength := req.ContentType, req.ContentLength
	if len(g.ContentTypes) > 0 {
		if contentType == "" {
			return &DeniedError{Reason: ReasonContentTypeRequired, Detail: "this grant requires content_type"}
		}
		if !ContentTypeAllowed(g.ContentTypes, contentType) {
			return &DeniedError{Reason: ReasonContentTypeNotAllowed, Detail: fmt.Sprintf("content type %q is not allowed", contentType)}
		}
	}
	if g.MaxContentLength > 0 {
		if contentLength < 0 && req.Form {
			return nil // the form's content-length-range comes from the grant
		}
		if contentLength < 0 {
			return &DeniedError{Reason: ReasonContentLengthRequired, Detail: "this grant requires content_length"}
		}
		if contentLength > g.MaxContentLength {
			return &DeniedError{Reason: ReasonContentLengthTooLarge, Detail: fmt.Sprintf("content length %d is above the limit of %d bytes", contentLength, g.MaxContentLength)}
		}
	}
	return nil
}

// ContentTypeAllowed reports whether contentType matches one of the patterns. The
// value is parsed as one media type (ParseContentType) and its essence, the
// lower-cased type/subtype, is compared: a pattern "type/*" matches any subtype and
// "*/*" any media type. A value that does not parse matches nothing.
func ContentTypeAllowed(patterns []string, contentType string) bool {
	mt, err := ParseContentType(contentType)
	if err != nil {
		return false
	}
	typ, _, _ := strings.Cut(mt, "/")
	for _, p := range patterns {
		p = strings.ToLower(strings.TrimSpace(p))
		switch {
		case p == "*/*", p == mt:
			return true
		case strings.HasSuffix(p, "/*") && p[:len(p)-2] == typ:
			return true
		}
	}
	return false
}

// MaxTTL is the longest lifetime any grant could give a URL in env, in seconds:
// S3MaxTTL, capped by what is left of the signing credentials less
// CredentialsMargin; 0 when they are too close to expiry to sign anything.
func MaxTTL(env Env) int64 {
	ttl, _, _ := effectiveTTL(int64(S3MaxTTL/time.Second), S3MaxTTL, env)
	return max(ttl, 0)
}

// effectiveTTL is min(requested, grant max, S3 max, credentials left - margin), in
// seconds, and the limit that bound it when it is below the request.
func effectiveTTL(requested int64, grantMax time.Duration, env Env) (int64, Cap, Limits) {
	limits := Limits{Policy: int64(grantMax / time.Second), S3Max: int64(S3MaxTTL / time.Second)}
	if env.CredentialsExpire {
		left := env.CredentialsExpiry.Sub(env.Now) - CredentialsMargin
		limits.Credentials, limits.CredentialsExpire = max(int64(left/time.Second), 0), true
	}
	// In this order, so that of equal limits the first binds.
	ttl, capped := requested, CapNone
	if limits.Policy < ttl {
		ttl, capped = limits.Policy, CapPolicy
	}
	if limits.S3Max < ttl {
		ttl, capped = limits.S3Max, CapS3Max
	}
	if limits.CredentialsExpire && limits.Credentials < ttl {
		ttl, capped = limits.Credentials, CapCredentials
	}
	return ttl, capped, limits
}
