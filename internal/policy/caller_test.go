package policy_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/presignd/presignd/internal/policy"
)

// subjectUploads is the grant of a client whose every caller has a prefix of their own.
var subjectUploads = policy.Grant{Bucket: "media", Prefixes: []string{"uploads/{subject}/"}, Methods: []string{policy.MethodGet, policy.MethodPut}, MaxTTL: time.Hour}

func callerEnv(caller policy.Attributes) policy.Env {
	env := staticEnv
	env.Caller = caller
	return env
}

func subject(s string) policy.Attributes { return policy.Attributes{policy.AttrSubject: s} }

// wantDenied fails unless err is a DeniedError for reason.
func wantDenied(t *testing.T, err error, reason policy.Reason) *policy.DeniedError {
	t.Helper()
	var denied *policy.DeniedError
	if !errors.As(err, &denied) {
		t.Fatalf("got error %v (%T), want a denial (%s)", err, err, reason)
	}
	if denied.Reason != reason {
		t.Fatalf("got denial %v, want reason %s", err, reason)
	}
	return denied
}

// TestCallerSubjectHostile: a subject that is not one safe key segment leaves its
// prefix out (a request under it is denied as identity_not_usable, one elsewhere as
// no grant allows it), and a usable one allows its own prefix and nothing beside.
func TestCallerSubjectHostile(t *testing.T) {
	tests := []struct {
		name    string
		subject string
		usable  bool
	}{
		{name: "empty", subject: ""},
		{name: "dot", subject: "."},
		{name: "dot dot", subject: ".."},
		{name: "slash", subject: "/"},
		{name: "two segments", subject: "a/b"},
		{name: "parent then segment", subject: "../other"},
		{name: "leading slash", subject: "/alice"},
		{name: "trailing slash", subject: "alice/"},
		{name: "backslash dot dot", subject: "..\\"},
		{name: "backslash inside", subject: "a\\b"},
		{name: "NUL", subject: "a\x00b"},
		{name: "newline", subject: "alice\n"},
		{name: "tab", subject: "a\tb"},
		{name: "unit separator", subject: "a\x1fb"},
		{name: "DEL", subject: "a\x7fb"},
		{name: "C1 first", subject: "a\u0080b"},
		{name: "C1 next line", subject: "a\u0085b"},
		{name: "C1 last", subject: "a\u009fb"},
		{name: "invalid UTF-8", subject: "a\xffb"},
		{name: "truncated UTF-8", subject: "caf\xc3"},
		{name: "overlong slash", subject: "a\xc0\xafb"},
		{name: "surrogate half", subject: "a\xed\xa0\x80b"},
		{name: "129 bytes", subject: strings.Repeat("a", 129)},
		{name: "130 bytes of two-byte runes", subject: strings.Repeat("é", 65)},
		{name: "128 bytes", subject: strings.Repeat("a", 128), usable: true},
		{name: "128 bytes of two-byte runes", subject: strings.Repeat("é", 64), usable: true},
		{name: "e-mail", subject: "alice@example.com", usable: true},
		{name: "service account", subject: "system:serviceaccount:reports:backend", usable: true},
		{name: "accented", subject: "café", usable: true},
		{name: "CJK", subject: "日本語", usable: true},
		{name: "emoji", subject: "🎉", usable: true},
		{name: "no-break space is not C1", subject: "a\u00a0b", usable: true},
		{name: "three dots", subject: "...", usable: true},
		{name: "dots inside", subject: "a..b", usable: true},
		{name: "leading dot", subject: ".alice", usable: true},
		{name: "percent-encoded dots", subject: "%2e%2e", usable: true},
		{name: "space", subject: "alice smith", usable: true},
	}
	p := newPolicy(t,
		policy.Client{Name: "web", Grants: []policy.Grant{subjectUploads}},
		policy.Client{Name: "other", Grants: []policy.Grant{{Bucket: "media", Prefixes: []string{""}, Methods: []string{"GET"}, MaxTTL: time.Hour}}},
	)
	// Keys under "uploads/" that no usable subject's prefix covers but "uploads/x/".
	outside := []string{"uploads/x", "uploads/zz-other/file", "uploads/a/b/file", "shared/file"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := callerEnv(subject(tt.subject))
			for _, key := range outside {
				_, err := p.Decide("web", request("GET", "media", key), env)
				if !tt.usable {
					if !strings.HasPrefix(key, "uploads/") {
						wantDenied(t, err, policy.ReasonBucketNotAllowed) // its one grant covers nothing for this caller
						continue
					}
					d := wantDenied(t, err, policy.ReasonIdentityNotUsable)
					if !strings.Contains(d.Detail, "{subject}") {
						t.Errorf("got detail %q, want it to name {subject}", d.Detail)
					}
					continue
				}
				wantDenied(t, err, policy.ReasonPrefixNotAllowed)
			}

			own := "uploads/" + tt.subject + "/file"
			d, err := p.Decide("web", request("PUT", "media", own), env)
			switch {
			case policy.ValidateKey(own) != nil:
				var inv *policy.InvalidError
				if !errors.As(err, &inv) {
					t.Errorf("key %q: got %v, want an InvalidError", own, err)
				}
			case !tt.usable:
				wantDenied(t, err, policy.ReasonIdentityNotUsable)
			case err != nil:
				t.Errorf("key %q: got error %v, want it allowed", own, err)
			case d.Prefix != "uploads/"+tt.subject+"/":
				t.Errorf("key %q: got prefix %q, want %q", own, d.Prefix, "uploads/"+tt.subject+"/")
			}

			// The subject plays no part for a client whose prefixes do not name it.
			if _, err := p.Decide("other", request("GET", "media", "uploads/x"), env); err != nil {
				t.Errorf("other client: got error %v, want it allowed", err)
			}
		})
	}
}

// TestCallerHostileSubjectDeniesTheWholeClient: a client whose prefixes name the
// subject is denied entirely for a caller whose subject is unusable, its literal
// prefixes included.
// TestCallerHostileSubjectLeavesOutItsPrefixOnly: the client's other prefixes still
// serve a caller whose subject cannot fill a template.
func TestCallerHostileSubjectLeavesOutItsPrefixOnly(t *testing.T) {
	p := newPolicy(t, policy.Client{Name: "web", Grants: []policy.Grant{
		{Bucket: "media", Prefixes: []string{"public/"}, Methods: []string{"GET"}, MaxTTL: time.Hour},
		subjectUploads,
	}})
	if _, err := p.Decide("web", request("GET", "media", "public/a"), callerEnv(subject("alice"))); err != nil {
		t.Fatalf("usable subject: got error %v, want it allowed", err)
	}
	if _, err := p.Decide("web", request("GET", "media", "public/a"), callerEnv(subject(".."))); err != nil {
		t.Fatalf("a fixed prefix, unusable subject: got error %v, want it allowed", err)
	}
	_, err := p.Decide("web", request("GET", "media", "uploads/../a"), callerEnv(subject("..")))
	if err == nil {
		t.Fatal("a key under the template, unusable subject: allowed")
	}
	_, err = p.Decide("web", request("GET", "media", "uploads/x/a"), callerEnv(subject("..")))
	wantDenied(t, err, policy.ReasonIdentityNotUsable)
}

func TestCallerMissingAttributes(t *testing.T) {
	teams := policy.Grant{Bucket: "media", Prefixes: []string{"teams/{claims.team}/"}, Methods: []string{"GET"}, MaxTTL: time.Hour}
	tests := []struct {
		name   string
		grant  policy.Grant
		caller policy.Attributes
		detail string
	}{
		{name: "no caller attributes", grant: subjectUploads, caller: nil, detail: "the prefix names {subject}, and the caller's identity has no subject"},
		{name: "claims but no subject", grant: subjectUploads, caller: policy.Attributes{"claims.team": "red"}, detail: "has no subject"},
		{name: "no claim", grant: teams, caller: subject("alice"), detail: `the prefix names {claims.team}, and the caller's identity has no string claim "team"`},
		{name: "another claim", grant: teams, caller: policy.Attributes{"subject": "alice", "claims.group": "red"}, detail: `has no string claim "team"`},
		{name: "claim name compared with case", grant: teams, caller: policy.Attributes{"subject": "alice", "claims.Team": "red"}, detail: `has no string claim "team"`},
		{name: "empty claim", grant: teams, caller: policy.Attributes{"claims.team": ""}, detail: "the caller's {claims.team} cannot stand as one key segment in a prefix: it is empty"},
		{name: "claim with a slash", grant: teams, caller: policy.Attributes{"claims.team": "red/blue"}, detail: "cannot stand as one key segment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPolicy(t, policy.Client{Name: "web", Grants: []policy.Grant{tt.grant}})
			key := strings.Replace(strings.Replace(tt.grant.Prefixes[0], "{subject}", "alice", 1), "{claims.team}", "red", 1) + "file"
			_, err := p.Decide("web", request("GET", "media", key), callerEnv(tt.caller))
			d := wantDenied(t, err, policy.ReasonIdentityNotUsable)
			if !strings.Contains(d.Detail, tt.detail) {
				t.Errorf("got detail %q, want it to contain %q", d.Detail, tt.detail)
			}
		})
	}
}

func TestCallerPlaceholdersExpand(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		caller policy.Attributes
		key    string
		want   string // the decision's prefix
	}{
		{name: "subject", prefix: "uploads/{subject}/", caller: subject("alice"), key: "uploads/alice/a.png", want: "uploads/alice/"},
		{name: "client beside subject", prefix: "home/{client}/{subject}/", caller: subject("alice"), key: "home/web/alice/a", want: "home/web/alice/"},
		{name: "claim", prefix: "teams/{claims.team}/", caller: policy.Attributes{"claims.team": "red"}, key: "teams/red/x", want: "teams/red/"},
		{name: "claim and subject", prefix: "teams/{claims.team}/{subject}/", caller: policy.Attributes{"subject": "alice", "claims.team": "red"}, key: "teams/red/alice/x", want: "teams/red/alice/"},
		{name: "inside a segment", prefix: "u/{client}-{subject}/", caller: subject("alice"), key: "u/web-alice/x", want: "u/web-alice/"},
		{name: "subject twice", prefix: "{subject}/{subject}/", caller: subject("alice"), key: "alice/alice/x", want: "alice/alice/"},
		{name: "attributes no template names", prefix: "uploads/{subject}/", caller: policy.Attributes{"subject": "alice", "claims.team": "../x"}, key: "uploads/alice/x", want: "uploads/alice/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPolicy(t, policy.Client{Name: "web", Grants: []policy.Grant{{Bucket: "media", Prefixes: []string{tt.prefix}, Methods: []string{"GET"}, MaxTTL: time.Hour}}})
			d, err := p.Decide("web", request("GET", "media", tt.key), callerEnv(tt.caller))
			if err != nil {
				t.Fatalf("got error %v, want it allowed", err)
			}
			if d.Prefix != tt.want {
				t.Errorf("got prefix %q, want %q", d.Prefix, tt.want)
			}
			if d.Client != "web" || d.GrantIndex != 0 {
				t.Errorf("got client %q grant %d, want web grant 0", d.Client, d.GrantIndex)
			}
		})
	}
}

// TestCallersAreKeptApart: each caller's index is its own, whichever was compiled first.
func TestCallersAreKeptApart(t *testing.T) {
	p := newPolicy(t, policy.Client{Name: "web", Grants: []policy.Grant{
		subjectUploads,
		{Bucket: "media", Prefixes: []string{"teams/{claims.team}/"}, Methods: []string{"GET"}, MaxTTL: time.Hour},
	}})
	bob := callerEnv(policy.Attributes{"subject": "bob", "claims.team": "blue"})
	alice := callerEnv(policy.Attributes{"subject": "alice", "claims.team": "red"})
	aliceBlue := callerEnv(policy.Attributes{"subject": "alice", "claims.team": "blue"})

	if _, err := p.Decide("web", request("GET", "media", "uploads/bob/x"), bob); err != nil {
		t.Fatalf("bob in his prefix: got error %v, want it allowed", err)
	}
	_, err := p.Decide("web", request("GET", "media", "uploads/bob/x"), alice)
	wantDenied(t, err, policy.ReasonPrefixNotAllowed)
	_, err = p.Decide("web", request("GET", "media", "teams/blue/x"), alice)
	wantDenied(t, err, policy.ReasonPrefixNotAllowed)
	if _, err := p.Decide("web", request("GET", "media", "uploads/alice/x"), alice); err != nil {
		t.Errorf("alice in her prefix: got error %v, want it allowed", err)
	}
	// Bob again, after alice was compiled and cached.
	_, err = p.Decide("web", request("GET", "media", "uploads/alice/x"), bob)
	wantDenied(t, err, policy.ReasonPrefixNotAllowed)
	// The same subject with another claim is another caller.
	if _, err := p.Decide("web", request("GET", "media", "teams/blue/x"), aliceBlue); err != nil {
		t.Errorf("alice of team blue: got error %v, want it allowed", err)
	}
	_, err = p.Decide("web", request("GET", "media", "teams/blue/x"), alice)
	wantDenied(t, err, policy.ReasonPrefixNotAllowed)
}

// TestCallerCacheStartsAgain: past MaxCallers distinct callers, the cache empties and
// keeps giving each caller its own prefix.
func TestCallerCacheStartsAgain(t *testing.T) {
	p := newPolicy(t, policy.Client{Name: "web", Grants: []policy.Grant{subjectUploads}})
	n := policy.MaxCallers + 100
	for i := range n {
		s := fmt.Sprintf("user-%d", i)
		d, err := p.Decide("web", request("GET", "media", "uploads/"+s+"/x"), callerEnv(subject(s)))
		if err != nil {
			t.Fatalf("caller %d: got error %v, want it allowed", i, err)
		}
		if want := "uploads/" + s + "/"; d.Prefix != want {
			t.Fatalf("caller %d: got prefix %q, want %q", i, d.Prefix, want)
		}
		if c := policy.CachedCallers(p); c > policy.MaxCallers || c < 1 {
			t.Fatalf("after caller %d: %d callers cached, want 1 to %d", i, c, policy.MaxCallers)
		}
	}
	if got, want := policy.CachedCallers(p), n-policy.MaxCallers; got != want {
		t.Errorf("got %d callers cached, want %d (the cache started again once full)", got, want)
	}
	// Callers from before the cache started again, and from after.
	for _, i := range []int{0, 1, policy.MaxCallers - 1, policy.MaxCallers, n - 1} {
		s := fmt.Sprintf("user-%d", i)
		if _, err := p.Decide("web", request("GET", "media", "uploads/"+s+"/y"), callerEnv(subject(s))); err != nil {
			t.Errorf("caller %d again: got error %v, want it allowed", i, err)
		}
		other := fmt.Sprintf("user-%d", (i+1)%n)
		_, err := p.Decide("web", request("GET", "media", "uploads/"+other+"/y"), callerEnv(subject(s)))
		wantDenied(t, err, policy.ReasonPrefixNotAllowed)
	}
}

// TestCallerCacheConcurrent: callers decided at once each get their own prefix.
func TestCallerCacheConcurrent(t *testing.T) {
	p := newPolicy(t, policy.Client{Name: "web", Grants: []policy.Grant{subjectUploads}})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				s := fmt.Sprintf("user-%d", (g*37+i)%300)
				if _, err := p.Decide("web", request("GET", "media", "uploads/"+s+"/x"), callerEnv(subject(s))); err != nil {
					errs <- fmt.Errorf("%s in its prefix: %w", s, err)
					return
				}
				other := fmt.Sprintf("user-%d", (g*37+i+1)%300)
				if _, err := p.Decide("web", request("GET", "media", "uploads/"+other+"/x"), callerEnv(subject(s))); err == nil {
					errs <- fmt.Errorf("%s was allowed the prefix of %s", s, other)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestClientFor(t *testing.T) {
	grants := []policy.Grant{
		{Bucket: "media", Prefixes: []string{"public/", "home/{client}/"}, Methods: []string{"GET"}, MaxTTL: time.Hour},
		{Bucket: "media", Prefixes: []string{"uploads/{subject}/", "teams/{claims.team}/{subject}/"}, Methods: []string{"PUT"}, MaxTTL: time.Hour, ContentTypes: []string{"image/*"}},
	}
	p := newPolicy(t,
		policy.Client{Name: "web", Grants: grants},
		policy.Client{Name: "backend", Grants: []policy.Grant{{Bucket: "media", Prefixes: []string{"home/{client}/"}, Methods: []string{"GET"}, MaxTTL: time.Hour}}},
	)

	got, err := p.ClientFor("web", policy.Attributes{"subject": "alice", "claims.team": "red"})
	if err != nil {
		t.Fatalf("ClientFor(web): got error %v, want its grants", err)
	}
	want := policy.Client{Name: "web", Grants: []policy.Grant{
		{Bucket: "media", Prefixes: []string{"public/", "home/web/"}, Methods: []string{"GET"}, MaxTTL: time.Hour},
		{Bucket: "media", Prefixes: []string{"uploads/alice/", "teams/red/alice/"}, Methods: []string{"PUT"}, MaxTTL: time.Hour, ContentTypes: []string{"image/*"}},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ClientFor(web) mismatch:\n%s", diff)
	}

	// The templates themselves are left alone.
	tmpl, ok := p.Client("web")
	if !ok {
		t.Fatal("Client(web): got no client")
	}
	if diff := cmp.Diff(policy.Client{Name: "web", Grants: grants}, tmpl); diff != "" {
		t.Errorf("Client(web) mismatch after ClientFor:\n%s", diff)
	}

	got, err = p.ClientFor("backend", policy.Attributes{"subject": "../x"})
	if err != nil {
		t.Fatalf("ClientFor(backend): got error %v, want its grants", err)
	}
	if diff := cmp.Diff([]string{"home/backend/"}, got.Grants[0].Prefixes); diff != "" {
		t.Errorf("ClientFor(backend) prefixes mismatch:\n%s", diff)
	}

	// Prefixes the caller's identity cannot fill are left out; the rest are listed.
	got, err = p.ClientFor("web", policy.Attributes{"subject": "..", "claims.team": "red"})
	if err != nil || len(got.Grants) != 2 || len(got.Grants[1].Prefixes) != 0 || len(got.Grants[0].Prefixes) != 2 {
		t.Errorf("ClientFor(web) with subject \"..\": got %+v, %v; want the GET grant whole and the PUT grant without prefixes", got, err)
	}
	got, err = p.ClientFor("web", subject("alice"))
	if err != nil || !slices.Equal(got.Grants[1].Prefixes, []string{"uploads/alice/"}) {
		t.Errorf("ClientFor(web) without a team claim: got %+v, %v; want the PUT grant under uploads/alice/ only", got, err)
	}
	_, err = p.ClientFor("mallory", subject("alice"))
	wantDenied(t, err, policy.ReasonBucketNotAllowed)
}

// TestNewChecksCallerTemplates: a template naming a caller attribute is checked in
// New, before any caller.
func TestNewChecksCallerTemplates(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		msg    string
	}{
		{name: "unknown placeholder beside subject", prefix: "uploads/{subject}/{team}/", msg: "{team}"},
		{name: "no trailing slash", prefix: "uploads/{subject}", msg: `must be "" (the whole bucket) or end in "/"`},
		{name: "unclosed brace", prefix: "uploads/{subject/", msg: "unclosed"},
		{name: "stray closing brace", prefix: "uploads/{subject}}/", msg: "'}' without '{'"},
		{name: "claim without a name", prefix: "teams/{claims.}/", msg: "{claims.}"},
		{name: "claim name with a dot", prefix: "teams/{claims.a.b}/", msg: "{claims.a.b}"},
		{name: "subject with case", prefix: "uploads/{Subject}/", msg: "{Subject}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := policy.New([]policy.Client{{Name: "web", Grants: []policy.Grant{
				{Bucket: "media", Prefixes: []string{"public/"}, Methods: []string{"GET"}, MaxTTL: time.Hour},
				{Bucket: "media", Prefixes: []string{tt.prefix}, Methods: []string{"GET"}, MaxTTL: time.Hour},
			}}})
			if err == nil {
				t.Fatalf("New with prefix %q: got no error, want one", tt.prefix)
			}
			if want := `client "web": grants[1]: `; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("got error %q, want it to start %q", err, want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got error %q, want it to contain %q", err, tt.msg)
			}
		})
	}
}

func TestCallerAttribute(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"subject", true},
		{"claims.team", true},
		{"claims.Team_2-b", true},
		{"client", false},
		{"Subject", false},
		{"claims.", false},
		{"claims", false},
		{"claims.a.b", false},
		{"claims.a b", false},
		{"claims.é", false},
	}
	for _, tt := range tests {
		if got := policy.CallerAttribute(tt.name); got != tt.want {
			t.Errorf("CallerAttribute(%q): got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func FuzzCallerPlaceholder(f *testing.F) {
	for _, s := range []string{
		"alice", "", ".", "..", "...", "a..b", "/", "a/b", "..\\", "a\\b", "\x00", "a\x7f", "\u0085", "\xff",
		"\xc0\xaf", "café", "🎉", strings.Repeat("a", 128), strings.Repeat("a", 129), "%2e%2e", " ", "a b",
	} {
		f.Add(s)
	}
	p, err := policy.New([]policy.Client{{Name: "web", Grants: []policy.Grant{subjectUploads}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, subj string) {
		env := callerEnv(subject(subj))

		// "uploads/file" is under no caller's prefix: never allowed, and denied for the
		// identity exactly when the subject is unusable.
		_, err := p.Decide("web", request("GET", "media", "uploads/file"), env)
		var denied *policy.DeniedError
		if !errors.As(err, &denied) {
			t.Fatalf("subject %q, key uploads/file: got %v, want a denial", subj, err)
		}
		usable := denied.Reason != policy.ReasonIdentityNotUsable
		if usable && denied.Reason != policy.ReasonPrefixNotAllowed {
			t.Fatalf("subject %q, key uploads/file: got %v, want identity_not_usable or prefix_not_allowed", subj, err)
		}
		if usable != (policy.CheckSegment(subj) == nil) {
			t.Fatalf("subject %q: usable is %v, and CheckSegment says %v", subj, usable, policy.CheckSegment(subj))
		}

		key := "uploads/" + subj + "/file"
		d, err := p.Decide("web", request("GET", "media", key), env)
		if policy.ValidateKey(key) != nil {
			var inv *policy.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("subject %q, key %q: got %v, want an InvalidError", subj, key, err)
			}
			return
		}
		if !usable {
			if !errors.As(err, &denied) || denied.Reason != policy.ReasonIdentityNotUsable {
				t.Fatalf("subject %q: got %v, want identity_not_usable", subj, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("subject %q: got %v, want its own prefix allowed", subj, err)
		}
		if want := "uploads/" + subj + "/"; d.Prefix != want {
			t.Fatalf("subject %q: got prefix %q, want %q", subj, d.Prefix, want)
		}
		if !strings.HasPrefix(key, d.Prefix) || strings.Contains(d.Prefix, "//") || strings.Count(d.Prefix, "/") != 2 {
			t.Fatalf("subject %q: key %q under prefix %q, want one segment under uploads/", subj, key, d.Prefix)
		}
		for _, seg := range strings.Split(strings.TrimSuffix(d.Prefix, "/"), "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("subject %q: prefix %q has a dot segment", subj, d.Prefix)
			}
		}
		if !utf8.ValidString(d.Prefix) || len(subj) > policy.MaxSegment {
			t.Fatalf("subject %q: prefix %q allowed", subj, d.Prefix)
		}
	})
}

// TestTemplated checks which clients read the caller's attributes, and that a client
// Templated calls plain decides the same with or without them (the API builds them
// only for templated clients).
func TestTemplated(t *testing.T) {
	p := newPolicy(t,
		policy.Client{Name: "web", Grants: []policy.Grant{{Bucket: "media", Prefixes: []string{"uploads/{subject}/"}, Methods: []string{"PUT"}, MaxTTL: time.Hour}}},
		policy.Client{Name: "team", Grants: []policy.Grant{{Bucket: "media", Prefixes: []string{"teams/{claims.team}/"}, Methods: []string{"GET"}, MaxTTL: time.Hour}}},
		policy.Client{Name: "backend", Grants: []policy.Grant{{Bucket: "media", Prefixes: []string{"home/{client}/", "reports/"}, Methods: []string{"GET"}, MaxTTL: time.Hour}}},
		policy.Client{Name: "plain", Grants: []policy.Grant{{Bucket: "media", Prefixes: []string{"reports/"}, Methods: []string{"GET", "PUT"}, MaxTTL: time.Hour}}},
	)
	for client, want := range map[string]bool{"web": true, "team": true, "backend": false, "plain": false, "nobody": false} {
		if got := p.Templated(client); got != want {
			t.Errorf("Templated(%s) = %v, want %v", client, got, want)
		}
	}
	caller := policy.Attributes{"subject": "alice", "claims.team": "red"}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for _, client := range []string{"backend", "plain", "nobody"} {
		for _, key := range []string{"home/backend/a", "reports/a", "uploads/alice/a", "teams/red/a", "other/a"} {
			for _, method := range []string{"GET", "PUT"} {
				req := policy.Request{Bucket: "media", Key: key, Method: method, TTL: 600, ContentLength: -1}
				d1, err1 := p.Decide(client, req, policy.Env{Now: now, Caller: caller})
				d2, err2 := p.Decide(client, req, policy.Env{Now: now})
				if diff := cmp.Diff(d1, d2); diff != "" || fmt.Sprint(err1) != fmt.Sprint(err2) {
					t.Errorf("%s %s %s: with the caller %v, %v; without %v, %v", client, method, key, d1, err1, d2, err2)
				}
			}
		}
	}
}
