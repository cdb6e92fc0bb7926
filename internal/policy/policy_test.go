package policy_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/presignd/presignd/internal/policy"
)

// now is the pinned clock of every decision in these tests.
var now = time.Date(2026, 11, 22, 20, 0, 0, 0, time.UTC)

// staticEnv has credentials that do not expire.
var staticEnv = policy.Env{Now: now}

const week = int64(7 * 24 * 60 * 60)

func request(method, bucket, key string) policy.Request {
	return policy.Request{Bucket: bucket, Key: key, Method: method, TTL: 3600, ContentLength: -1}
}

func upload(bucket, key, contentType string, contentLength int64) policy.Request {
	r := request(policy.MethodPut, bucket, key)
	r.ContentType, r.ContentLength = contentType, contentLength
	return r
}

func newPolicy(t *testing.T, clients ...policy.Client) *policy.Policy {
	t.Helper()
	p, err := policy.New(clients)
	if err != nil {
		t.Fatalf("policy.New: %v", err)
	}
	return p
}

// mediaUploads is the grant most denial cases run against.
var mediaUploads = policy.Grant{
	Bucket:           "media",
	Prefixes:         []string{"uploads/"},
	Methods:          []string{policy.MethodPut, policy.MethodGet},
	MaxTTL:           time.Hour,
	ContentTypes:     []string{"image/png", "image/*"},
	MaxContentLength: 1000,
}

func TestDecideDenies(t *testing.T) {
	tests := []struct {
		name   string
		grants []policy.Grant
		client string // default "alice"
		req    policy.Request
		want   policy.Reason
	}{
		{name: "unknown client", client: "mallory", req: request("GET", "media", "uploads/a"), want: policy.ReasonBucketNotAllowed},
		{name: "other bucket", req: request("GET", "archive", "uploads/a"), want: policy.ReasonBucketNotAllowed},
		{name: "bucket compared exactly", req: request("GET", "media2", "uploads/a"), want: policy.ReasonBucketNotAllowed},
		{name: "no grant at all", grants: []policy.Grant{}, req: request("GET", "media", "uploads/a"), want: policy.ReasonBucketNotAllowed},
		{name: "key outside every prefix", req: request("GET", "media", "private/a"), want: policy.ReasonPrefixNotAllowed},
		{name: "sibling with the prefix as its start", req: request("GET", "media", "uploads-evil/x"), want: policy.ReasonPrefixNotAllowed},
		{name: "prefix without its slash", req: request("GET", "media", "uploads"), want: policy.ReasonPrefixNotAllowed},
		{name: "longer sibling", req: request("GET", "media", "uploadsx/y"), want: policy.ReasonPrefixNotAllowed},
		{name: "prefix compared with case", req: request("GET", "media", "Uploads/a"), want: policy.ReasonPrefixNotAllowed},
		{name: "method not granted", req: request("DELETE", "media", "uploads/a"), want: policy.ReasonMethodNotAllowed},
		{name: "HEAD is not GET", req: request("HEAD", "media", "uploads/a"), want: policy.ReasonMethodNotAllowed},
		{name: "content type missing", req: upload("media", "uploads/a.png", "", 10), want: policy.ReasonContentTypeRequired},
		{name: "content type not allowed", req: upload("media", "uploads/a.html", "text/html", 10), want: policy.ReasonContentTypeNotAllowed},
		{name: "content type wildcard boundary", req: upload("media", "uploads/a", "imagex/png", 10), want: policy.ReasonContentTypeNotAllowed},
		{name: "content length missing", req: upload("media", "uploads/a.png", "image/png", -1), want: policy.ReasonContentLengthRequired},
		{name: "content length above the limit", req: upload("media", "uploads/a.png", "image/png", 1001), want: policy.ReasonContentLengthTooLarge},
		{
			name: "method beats prefix when some grant covers the key",
			grants: []policy.Grant{
				{Bucket: "media", Prefixes: []string{"other/"}, Methods: []string{"DELETE"}, MaxTTL: time.Hour},
				{Bucket: "media", Prefixes: []string{"uploads/"}, Methods: []string{"GET"}, MaxTTL: time.Hour},
			},
			req:  request("DELETE", "media", "uploads/a"),
			want: policy.ReasonMethodNotAllowed,
		},
		{
			name: "upload rule beats method",
			grants: []policy.Grant{
				{Bucket: "media", Prefixes: []string{"uploads/"}, Methods: []string{"GET"}, MaxTTL: time.Hour},
				mediaUploads,
			},
			req:  upload("media", "uploads/a.png", "image/png", 5000),
			want: policy.ReasonContentLengthTooLarge,
		},
		{
			name:   "another client's home",
			grants: []policy.Grant{{Bucket: "home", Prefixes: []string{"home/{client}/"}, Methods: []string{"GET"}, MaxTTL: time.Hour}},
			req:    request("GET", "home", "home/bob/x"),
			want:   policy.ReasonPrefixNotAllowed,
		},
		{
			name:   "home prefix boundary",
			grants: []policy.Grant{{Bucket: "home", Prefixes: []string{"home/{client}/"}, Methods: []string{"GET"}, MaxTTL: time.Hour}},
			req:    request("GET", "home", "home/alicex/y"),
			want:   policy.ReasonPrefixNotAllowed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			grants := tt.grants
			if grants == nil {
				grants = []policy.Grant{mediaUploads}
			}
			client := tt.client
			if client == "" {
				client = "alice"
			}
			p := newPolicy(t,
				policy.Client{Name: "alice", Grants: grants},
				policy.Client{Name: "bob", Grants: grants},
			)
			d, err := p.Decide(client, tt.req, staticEnv)
			var denied *policy.DeniedError
			if !errors.As(err, &denied) {
				t.Fatalf("got decision %+v, error %v; want a DeniedError %s", d, err, tt.want)
			}
			if denied.Reason != tt.want {
				t.Errorf("got reason %s (%v), want %s", denied.Reason, err, tt.want)
			}
			if denied.Detail == "" {
				t.Errorf("got an empty detail, want one that explains the denial")
			}
		})
	}
}

func TestDecideAllows(t *testing.T) {
	home := policy.Grant{Bucket: "home", Prefixes: []string{"home/{client}/"}, Methods: []string{"GET", "PUT"}, MaxTTL: time.Hour}
	whole := policy.Grant{Bucket: "archive", Prefixes: []string{""}, Methods: []string{"GET"}, MaxTTL: 24 * time.Hour}
	nested := policy.Grant{Bucket: "nested", Prefixes: []string{"", "a/", "a/b/"}, Methods: []string{"GET"}, MaxTTL: time.Hour}
	several := []policy.Grant{
		{Bucket: "reports", Prefixes: []string{""}, Methods: []string{"GET"}, MaxTTL: time.Hour},
		{Bucket: "reports", Prefixes: []string{"daily/"}, Methods: []string{"GET"}, MaxTTL: 24 * time.Hour},
		{Bucket: "reports", Prefixes: []string{"daily/"}, Methods: []string{"GET", "HEAD"}, MaxTTL: 24 * time.Hour},
		{Bucket: "reports", Prefixes: []string{"daily/"}, Methods: []string{"DELETE"}, MaxTTL: 7 * 24 * time.Hour},
	}
	tests := []struct {
		name   string
		grants []policy.Grant
		req    policy.Request
		// want is the expected decision; Client, Limits and TTL are filled in when zero.
		want policy.Decision
	}{
		{
			name:   "upload under the prefix",
			grants: []policy.Grant{mediaUploads},
			req:    upload("media", "uploads/a.png", "image/png", 1000),
			want:   policy.Decision{GrantIndex: 0, Prefix: "uploads/"},
		},
		{
			name:   "folder marker equal to the prefix",
			grants: []policy.Grant{mediaUploads},
			req:    request("GET", "media", "uploads/"),
			want:   policy.Decision{GrantIndex: 0, Prefix: "uploads/"},
		},
		{
			name:   "download needs no declared type or size",
			grants: []policy.Grant{mediaUploads},
			req:    request("GET", "media", "uploads/a.png"),
			want:   policy.Decision{GrantIndex: 0, Prefix: "uploads/"},
		},
		{
			name:   "upload type by wildcard, case and parameters ignored",
			grants: []policy.Grant{mediaUploads},
			req:    upload("media", "uploads/a.webp", "IMAGE/WEBP; charset=x", 0),
			want:   policy.Decision{GrantIndex: 0, Prefix: "uploads/"},
		},
		{
			name:   "client placeholder expands to the caller",
			grants: []policy.Grant{home},
			req:    request("GET", "home", "home/alice/x"),
			want:   policy.Decision{GrantIndex: 0, Prefix: "home/alice/"},
		},
		{
			name:   "upload without rules needs nothing declared",
			grants: []policy.Grant{home},
			req:    request("PUT", "home", "home/alice/notes.txt"),
			want:   policy.Decision{GrantIndex: 0, Prefix: "home/alice/"},
		},
		{
			name:   "whole bucket",
			grants: []policy.Grant{whole},
			req:    request("GET", "archive", "any/thing at/all"),
			want:   policy.Decision{GrantIndex: 0, Prefix: ""},
		},
		{
			name:   "longest covering prefix of a grant",
			grants: []policy.Grant{nested},
			req:    request("GET", "nested", "a/b/c"),
			want:   policy.Decision{GrantIndex: 0, Prefix: "a/b/"},
		},
		{
			name:   "longest max_ttl wins, then the first",
			grants: several,
			req:    request("GET", "reports", "daily/x"),
			want:   policy.Decision{GrantIndex: 1, Prefix: "daily/"},
		},
		{
			name:   "only grants allowing the method compete",
			grants: several,
			req:    request("HEAD", "reports", "daily/x"),
			want:   policy.Decision{GrantIndex: 2, Prefix: "daily/"},
		},
		{
			name:   "a shorter grant when the longer does not cover the key",
			grants: several,
			req:    request("GET", "reports", "monthly/x"),
			want:   policy.Decision{GrantIndex: 0, Prefix: ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPolicy(t, policy.Client{Name: "alice", Grants: tt.grants}, policy.Client{Name: "bob", Grants: tt.grants})
			got, err := p.Decide("alice", tt.req, staticEnv)
			if err != nil {
				t.Fatalf("got error %v, want an allowed request", err)
			}
			alice, _ := p.Client("alice")
			want := tt.want
			want.Client = "alice"
			want.Grant = &alice.Grants[want.GrantIndex]
			grantTTL := int64(want.Grant.MaxTTL / time.Second)
			want.Limits = policy.Limits{Policy: grantTTL, S3Max: week}
			want.TTL = min(tt.req.TTL, grantTTL)
			if want.TTL < tt.req.TTL {
				want.CappedBy = policy.CapPolicy
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("decision mismatch:\n%s", diff)
			}
		})
	}
}

func TestNewExpandsClientPlaceholder(t *testing.T) {
	g := policy.Grant{Bucket: "home", Prefixes: []string{"home/{client}/", "shared/"}, Methods: []string{"GET"}, MaxTTL: time.Hour}
	p := newPolicy(t, policy.Client{Name: "bob", Grants: []policy.Grant{g}}, policy.Client{Name: "alice", Grants: []policy.Grant{g}})
	got, ok := p.Client("alice")
	if !ok {
		t.Fatal("got no client alice, want one")
	}
	want := policy.Client{Name: "alice", Grants: []policy.Grant{{Bucket: "home", Prefixes: []string{"home/alice/", "shared/"}, Methods: []string{"GET"}, MaxTTL: time.Hour}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("client mismatch:\n%s", diff)
	}
	if diff := cmp.Diff([]string{"alice", "bob"}, p.ClientNames()); diff != "" {
		t.Errorf("ClientNames mismatch:\n%s", diff)
	}
	if g.Prefixes[0] != "home/{client}/" {
		t.Errorf("got the caller's grant changed to %q, want it left alone", g.Prefixes[0])
	}
	if _, ok := p.Client("carol"); ok {
		t.Error("got a client carol, want none")
	}
}

func TestNewRejects(t *testing.T) {
	g := policy.Grant{Bucket: "home", Prefixes: []string{"home/{client}/"}, Methods: []string{"GET"}, MaxTTL: time.Hour}
	tests := []struct {
		name    string
		clients []policy.Client
	}{
		{name: "duplicate client", clients: []policy.Client{{Name: "a"}, {Name: "a"}}},
		{name: "unknown placeholder", clients: []policy.Client{{Name: "a", Grants: []policy.Grant{{Bucket: "b", Prefixes: []string{"{team}/"}}}}}},
		{name: "client name with a slash", clients: []policy.Client{{Name: "a/b", Grants: []policy.Grant{g}}}},
		{name: "prefix without its slash", clients: []policy.Client{{Name: "a", Grants: []policy.Grant{{Bucket: "b", Prefixes: []string{"uploads"}, Methods: []string{"GET"}}}}}},
		{name: "placeholder at the end", clients: []policy.Client{{Name: "a", Grants: []policy.Grant{{Bucket: "b", Prefixes: []string{"home/{client}"}, Methods: []string{"GET"}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := policy.New(tt.clients); err == nil {
				t.Error("got no error, want one")
			}
		})
	}
}

func TestDecideRejectsInvalidRequests(t *testing.T) {
	p := newPolicy(t, policy.Client{Name: "alice", Grants: []policy.Grant{mediaUploads}})
	tests := []struct {
		name string
		req  policy.Request
		want policy.Field
	}{
		{name: "bad bucket", req: request("GET", "Media", "uploads/a"), want: policy.FieldBucket},
		{name: "bad key", req: request("GET", "media", "uploads/../a"), want: policy.FieldKey},
		{name: "lowercase method", req: request("get", "media", "uploads/a"), want: policy.FieldMethod},
		{name: "POST is not a grant method", req: request("POST", "media", "uploads/a"), want: policy.FieldMethod},
		{name: "zero lifetime", req: func() policy.Request { r := request("GET", "media", "uploads/a"); r.TTL = 0; return r }(), want: policy.FieldExpiresIn},
		{name: "negative lifetime", req: func() policy.Request { r := request("GET", "media", "uploads/a"); r.TTL = -5; return r }(), want: policy.FieldExpiresIn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Decide("alice", tt.req, staticEnv)
			var inv *policy.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("got error %v, want an InvalidError", err)
			}
			if inv.Field != tt.want {
				t.Errorf("got field %s, want %s", inv.Field, tt.want)
			}
		})
	}
}

func TestDecideTTL(t *testing.T) {
	const hour = int64(3600)
	expiresIn := func(d time.Duration) policy.Env {
		return policy.Env{Now: now, CredentialsExpire: true, CredentialsExpiry: now.Add(d)}
	}
	tests := []struct {
		name      string
		maxTTL    time.Duration
		requested int64
		env       policy.Env
		wantTTL   int64
		wantCap   policy.Cap
		// wantCredLimit is the credentials limit in Limits, or -1 when there is none.
		wantCredLimit int64
	}{
		{name: "below every limit", maxTTL: time.Hour, requested: 600, env: expiresIn(2 * time.Hour), wantTTL: 600, wantCap: policy.CapNone, wantCredLimit: 2*hour - 60},
		{name: "equal to the grant limit", maxTTL: time.Hour, requested: hour, env: staticEnv, wantTTL: hour, wantCap: policy.CapNone, wantCredLimit: -1},
		{name: "policy", maxTTL: time.Hour, requested: 2 * hour, env: staticEnv, wantTTL: hour, wantCap: policy.CapPolicy, wantCredLimit: -1},
		{name: "s3 max", maxTTL: 30 * 24 * time.Hour, requested: week + 1, env: staticEnv, wantTTL: week, wantCap: policy.CapS3Max, wantCredLimit: -1},
		{name: "credentials keep a minute of margin", maxTTL: time.Hour, requested: hour, env: expiresIn(30 * time.Minute), wantTTL: 29 * 60, wantCap: policy.CapCredentials, wantCredLimit: 29 * 60},
		{name: "credentials round down to the second", maxTTL: time.Hour, requested: hour, env: expiresIn(90*time.Second + 500*time.Millisecond), wantTTL: 30, wantCap: policy.CapCredentials, wantCredLimit: 30},
		{name: "credentials leave one second", maxTTL: time.Hour, requested: hour, env: expiresIn(61 * time.Second), wantTTL: 1, wantCap: policy.CapCredentials, wantCredLimit: 1},
		{name: "tie policy and s3 max: policy", maxTTL: 7 * 24 * time.Hour, requested: 10 * 24 * hour, env: staticEnv, wantTTL: week, wantCap: policy.CapPolicy, wantCredLimit: -1},
		{name: "tie policy and credentials: policy", maxTTL: time.Hour, requested: 2 * hour, env: expiresIn(time.Hour + time.Minute), wantTTL: hour, wantCap: policy.CapPolicy, wantCredLimit: hour},
		{name: "tie s3 max and credentials: s3 max", maxTTL: 30 * 24 * time.Hour, requested: 8 * 24 * hour, env: expiresIn(7*24*time.Hour + time.Minute), wantTTL: week, wantCap: policy.CapS3Max, wantCredLimit: week},
		{name: "three-way tie: policy", maxTTL: 7 * 24 * time.Hour, requested: 8 * 24 * hour, env: expiresIn(7*24*time.Hour + time.Minute), wantTTL: week, wantCap: policy.CapPolicy, wantCredLimit: week},
		{name: "credentials below policy", maxTTL: 24 * time.Hour, requested: 24 * hour, env: expiresIn(time.Hour), wantTTL: hour - 60, wantCap: policy.CapCredentials, wantCredLimit: hour - 60},
		{name: "non-expiring credentials ignore a stale expiry", maxTTL: time.Hour, requested: hour, env: policy.Env{Now: now, CredentialsExpiry: now.Add(-time.Hour)}, wantTTL: hour, wantCap: policy.CapNone, wantCredLimit: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, strict := range []bool{false, true} {
				grant := policy.Grant{Bucket: "media", Prefixes: []string{""}, Methods: []string{"GET"}, MaxTTL: tt.maxTTL}
				p := newPolicy(t, policy.Client{Name: "alice", Grants: []policy.Grant{grant}})
				req := request("GET", "media", "a")
				req.TTL, req.StrictTTL = tt.requested, strict
				d, err := p.Decide("alice", req, tt.env)
				if strict && tt.wantCap != policy.CapNone {
					var te *policy.TTLError
					if !errors.As(err, &te) {
						t.Fatalf("strict: got error %v, want a TTLError", err)
					}
					want := &policy.TTLError{Requested: tt.requested, Effective: tt.wantTTL, CappedBy: tt.wantCap}
					if diff := cmp.Diff(want, te); diff != "" {
						t.Errorf("strict: TTLError mismatch:\n%s", diff)
					}
					continue
				}
				if err != nil {
					t.Fatalf("strict=%v: got error %v, want none", strict, err)
				}
				if d.TTL != tt.wantTTL || d.CappedBy != tt.wantCap {
					t.Errorf("strict=%v: got TTL %d capped by %q, want %d capped by %q", strict, d.TTL, d.CappedBy, tt.wantTTL, tt.wantCap)
				}
				wantLimits := map[policy.Cap]int64{policy.CapPolicy: int64(tt.maxTTL / time.Second), policy.CapS3Max: week}
				if tt.wantCredLimit >= 0 {
					wantLimits[policy.CapCredentials] = tt.wantCredLimit
				}
				if diff := cmp.Diff(wantLimits, d.Limits.Map()); diff != "" {
					t.Errorf("strict=%v: limits mismatch:\n%s", strict, diff)
				}
			}
		})
	}
}

func TestDecideCredentialsTooShort(t *testing.T) {
	tests := []struct {
		name string
		left time.Duration
	}{
		{name: "exactly the margin", left: policy.CredentialsMargin},
		{name: "within the margin", left: 30 * time.Second},
		{name: "less than a second past the margin", left: policy.CredentialsMargin + 999*time.Millisecond},
		{name: "already expired", left: -time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, strict := range []bool{false, true} {
				grant := policy.Grant{Bucket: "media", Prefixes: []string{""}, Methods: []string{"GET"}, MaxTTL: time.Hour}
				p := newPolicy(t, policy.Client{Name: "alice", Grants: []policy.Grant{grant}})
				req := request("GET", "media", "a")
				req.StrictTTL = strict
				expiry := now.Add(tt.left)
				_, err := p.Decide("alice", req, policy.Env{Now: now, CredentialsExpire: true, CredentialsExpiry: expiry})
				var ce *policy.CredentialsError
				if !errors.As(err, &ce) {
					t.Fatalf("strict=%v: got error %v, want a CredentialsError", strict, err)
				}
				if !ce.Expiry.Equal(expiry) {
					t.Errorf("got expiry %v, want %v", ce.Expiry, expiry)
				}
			}
		})
	}
}

func TestContentTypeAllowed(t *testing.T) {
	tests := []struct {
		name        string
		patterns    []string
		contentType string
		want        bool
	}{
		{name: "exact", patterns: []string{"image/png"}, contentType: "image/png", want: true},
		{name: "exact is not a prefix", patterns: []string{"image/png"}, contentType: "image/pngx", want: false},
		{name: "exact ignores case", patterns: []string{"IMAGE/PNG"}, contentType: "image/png", want: true},
		{name: "parameters ignored", patterns: []string{"text/plain"}, contentType: "text/plain; charset=utf-8", want: true},
		{name: "wildcard subtype", patterns: []string{"image/*"}, contentType: "image/png", want: true},
		{name: "wildcard ignores case and parameters", patterns: []string{"image/*"}, contentType: "IMAGE/PNG; charset=x", want: true},
		{name: "wildcard needs a subtype", patterns: []string{"image/*"}, contentType: "image/", want: false},
		{name: "wildcard needs the slash", patterns: []string{"image/*"}, contentType: "image", want: false},
		{name: "wildcard type boundary", patterns: []string{"image/*"}, contentType: "imagex/png", want: false},
		{name: "wildcard other type", patterns: []string{"image/*"}, contentType: "text/plain", want: false},
		{name: "any type", patterns: []string{"*/*"}, contentType: "application/octet-stream", want: true},
		{name: "any type needs a media type", patterns: []string{"*/*"}, contentType: "octet-stream", want: false},
		{name: "any type needs a type", patterns: []string{"*/*"}, contentType: "; charset=x", want: false},
		{name: "second pattern", patterns: []string{"text/csv", "application/*"}, contentType: "application/json", want: true},
		{name: "no patterns", patterns: nil, contentType: "image/png", want: false},
		{name: "empty type", patterns: []string{"*/*"}, contentType: "", want: false},
		{name: "a second type after a parameter", patterns: []string{"image/png"}, contentType: "image/png;x=,text/html", want: false},
		{name: "a second type after the wildcard's type", patterns: []string{"image/*"}, contentType: "image/x,text/html", want: false},
		{name: "a list under any type", patterns: []string{"*/*"}, contentType: "text/plain,text/html", want: false},
		{name: "a wildcard is not a type", patterns: []string{"image/*"}, contentType: "image/*", want: false},
		{name: "a type that makes browsers sniff", patterns: []string{"*/*"}, contentType: "unknown/unknown", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := policy.ContentTypeAllowed(tt.patterns, tt.contentType); got != tt.want {
				t.Errorf("ContentTypeAllowed(%q, %q): got %v, want %v", tt.patterns, tt.contentType, got, tt.want)
			}
		})
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&policy.DeniedError{Reason: policy.ReasonPrefixNotAllowed, Detail: "no grant covers this key"}, "denied (prefix_not_allowed): no grant covers this key"},
		{&policy.InvalidError{Field: policy.FieldKey, Detail: "key must not be empty"}, "invalid key: key must not be empty"},
		{&policy.TTLError{Requested: 7200, Effective: 3600, CappedBy: policy.CapPolicy}, "a lifetime of 7200s cannot be granted: policy caps it at 3600s"},
		{&policy.CredentialsError{Expiry: now}, "the signing credentials expire at 2026-11-22T20:00:00Z, too soon to sign a URL"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}
