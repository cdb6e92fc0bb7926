package policy_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/presignd/presignd/internal/policy"
)

// The indexed matcher behind Decide is checked against referenceDecide: the plain
// reading of the rules, a linear scan over every grant of the client in config order.

// referenceDecide decides req for client the simple way. It shares only
// ValidateRequest, Expand and the content type predicates with the package.
func referenceDecide(clients []policy.Client, client string, req policy.Request, env policy.Env) (policy.Decision, error) {
	if err := policy.ValidateRequest(req); err != nil {
		return policy.Decision{}, err
	}
	var grants []policy.Grant
	found := false
	for _, c := range clients {
		if c.Name == client {
			grants, found = c.Grants, true
			break
		}
	}
	if !found {
		return policy.Decision{}, &policy.DeniedError{Reason: policy.ReasonBucketNotAllowed}
	}
	best, bestPrefix := -1, ""
	var uploadErr *policy.DeniedError
	inBucket, coversKey := false, false
	for i, g := range grants {
		if g.Bucket != req.Bucket {
			continue
		}
		inBucket = true
		prefixes := g.Prefixes
		if len(prefixes) == 0 {
			prefixes = []string{""}
		}
		covering, ok := "", false
		for _, tmpl := range prefixes {
			p, err := policy.Expand(tmpl, policy.Attributes{"client": client})
			if err != nil {
				panic(err)
			}
			if strings.HasPrefix(req.Key, p) && (!ok || len(p) > len(covering)) {
				covering, ok = p, true
			}
		}
		if !ok {
			continue
		}
		coversKey = true
		if !slices.Contains(g.Methods, req.Method) {
			continue
		}
		if req.Method == policy.MethodPut {
			if reason := referenceUpload(g, req); reason != "" {
				if uploadErr == nil {
					uploadErr = &policy.DeniedError{Reason: reason, Detail: fmt.Sprintf("grant %d", i)}
				}
				continue
			}
		}
		if best < 0 || g.MaxTTL > grants[best].MaxTTL {
			best, bestPrefix = i, covering
		}
	}
	switch {
	case !inBucket:
		return policy.Decision{}, &policy.DeniedError{Reason: policy.ReasonBucketNotAllowed}
	case best < 0 && uploadErr != nil:
		return policy.Decision{}, uploadErr
	case best < 0 && coversKey:
		return policy.Decision{}, &policy.DeniedError{Reason: policy.ReasonMethodNotAllowed}
	case best < 0:
		return policy.Decision{}, &policy.DeniedError{Reason: policy.ReasonPrefixNotAllowed}
	}

	d := policy.Decision{Client: client, GrantIndex: best, Prefix: bestPrefix}
	limits := []struct {
		cap   policy.Cap
		value int64
	}{
		{policy.CapPolicy, int64(grants[best].MaxTTL / time.Second)},
		{policy.CapS3Max, int64(policy.S3MaxTTL / time.Second)},
	}
	if env.CredentialsExpire {
		left := max(int64((env.CredentialsExpiry.Sub(env.Now)-policy.CredentialsMargin)/time.Second), 0)
		limits = append(limits, struct {
			cap   policy.Cap
			value int64
		}{policy.CapCredentials, left})
	}
	d.TTL = req.TTL
	for _, l := range limits {
		switch l.cap {
		case policy.CapPolicy:
			d.Limits.Policy = l.value
		case policy.CapS3Max:
			d.Limits.S3Max = l.value
		case policy.CapCredentials:
			d.Limits.Credentials, d.Limits.CredentialsExpire = l.value, true
		}
		if l.value < d.TTL {
			d.TTL, d.CappedBy = l.value, l.cap
		}
	}
	if d.TTL < 1 {
		return d, &policy.CredentialsError{Expiry: env.CredentialsExpiry}
	}
	if d.CappedBy != policy.CapNone && req.StrictTTL {
		return d, &policy.TTLError{Requested: req.TTL, Effective: d.TTL, CappedBy: d.CappedBy}
	}
	return d, nil
}

// referenceUpload is a grant's upload rules as the contract states them.
func referenceUpload(g policy.Grant, req policy.Request) policy.Reason {
	if len(g.ContentTypes) > 0 {
		switch {
		case req.ContentType == "":
			return policy.ReasonContentTypeRequired
		case !policy.ContentTypeAllowed(g.ContentTypes, req.ContentType):
			return policy.ReasonContentTypeNotAllowed
		}
	}
	if g.MaxContentLength > 0 {
		switch {
		case req.ContentLength < 0 && req.Form:
		case req.ContentLength < 0:
			return policy.ReasonContentLengthRequired
		case req.ContentLength > g.MaxContentLength:
			return policy.ReasonContentLengthTooLarge
		}
	}
	return ""
}

// differentialCase is one set of clients and one request.
type differentialCase struct {
	clients []policy.Client
	client  string
	req     policy.Request
	env     policy.Env
}

// Small alphabets, so that prefixes nest, collide and repeat often.
var (
	diffBuckets  = []string{"media", "logs", "a.b.c"}
	diffSegments = []string{"a", "b", "c", "{client}", "a-b", "é"}
	diffKeySegs  = []string{"a", "b", "c", "alice", "bob", "a-b", "ab", "é", "x.png", ".a"}
	diffTTLs     = []time.Duration{time.Second, time.Hour, 2 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour}
	diffTypes    = [][]string{nil, nil, {"image/*"}, {"image/png"}, {"*/*"}, {"text/plain", "image/*"}, {"IMAGE/PNG"}}
	diffLengths  = []int64{0, 0, 100, 1000}
	diffReqTypes = []string{"", "image/png", "IMAGE/JPEG; q=1", "text/plain", "image/", "application/pdf", "image", "image/png;x=,text/html", "image/*"}
	diffReqLens  = []int64{-1, -1, 0, 50, 100, 500, 1000, 5000}
	diffReqTTLs  = []int64{1, 60, 3600, 7200, 86400, 604800, 700000, 0}
)

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func randomPrefix(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(4) {
		b.WriteString(pick(r, diffSegments))
		b.WriteByte('/')
	}
	return b.String()
}

func randomGrant(r *rand.Rand) policy.Grant {
	g := policy.Grant{Bucket: pick(r, diffBuckets), MaxTTL: pick(r, diffTTLs)}
	for range r.IntN(4) { // none means the whole bucket
		g.Prefixes = append(g.Prefixes, randomPrefix(r))
	}
	for range 1 + r.IntN(4) { // repeats allowed: New must cope
		g.Methods = append(g.Methods, pick(r, policy.Methods))
	}
	g.ContentTypes = pick(r, diffTypes)
	g.MaxContentLength = pick(r, diffLengths)
	return g
}

func randomKey(r *rand.Rand, grants []policy.Grant, client string) string {
	var b strings.Builder
	if len(grants) > 0 && r.IntN(4) > 0 {
		// Start under some grant's prefix, so that most keys reach the later stages.
		g := pick(r, grants)
		if len(g.Prefixes) > 0 {
			p, _ := policy.Expand(pick(r, g.Prefixes), policy.Attributes{"client": client})
			b.WriteString(p)
		}
	}
	for i := range 1 + r.IntN(4) {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(pick(r, diffKeySegs))
	}
	if r.IntN(5) == 0 {
		b.WriteByte('/')
	}
	return b.String()
}

// randomCase builds two clients, alice and bob, and a request of one of them (or of
// an unknown client). Some clients get many grants, so that lists under one prefix
// grow long.
func randomCase(r *rand.Rand) differentialCase {
	var tc differentialCase
	for _, name := range []string{"alice", "bob"} {
		n := 1 + r.IntN(8)
		if r.IntN(8) == 0 {
			n = 20 + r.IntN(40)
		}
		c := policy.Client{Name: name}
		for range n {
			c.Grants = append(c.Grants, randomGrant(r))
		}
		tc.clients = append(tc.clients, c)
	}
	tc.client = pick(r, []string{"alice", "alice", "bob", "carol"})
	grants := tc.clients[0].Grants
	if tc.client == "bob" {
		grants = tc.clients[1].Grants
	}
	bucket := pick(r, diffBuckets)
	if r.IntN(4) > 0 {
		bucket = pick(r, grants).Bucket
	}
	tc.req = policy.Request{
		Bucket:        bucket,
		Key:           randomKey(r, grants, tc.client),
		Method:        pick(r, policy.Methods),
		TTL:           pick(r, diffReqTTLs),
		StrictTTL:     r.IntN(4) == 0,
		ContentType:   pick(r, diffReqTypes),
		ContentLength: pick(r, diffReqLens),
		Form:          r.IntN(4) == 0,
	}
	if r.IntN(20) == 0 {
		tc.req.Method = "POST"
	}
	tc.env = policy.Env{Now: now}
	if r.IntN(2) == 0 {
		tc.env.CredentialsExpire = true
		tc.env.CredentialsExpiry = now.Add(time.Duration(r.IntN(3*3600)) * time.Second)
	}
	return tc
}

// checkAgainstReference fails when Decide and referenceDecide disagree on tc.
func checkAgainstReference(t *testing.T, tc differentialCase) {
	t.Helper()
	p, err := policy.New(tc.clients)
	if err != nil {
		t.Fatalf("policy.New: %v", err)
	}
	got, gotErr := p.Decide(tc.client, tc.req, tc.env)
	want, wantErr := referenceDecide(tc.clients, tc.client, tc.req, tc.env)
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s\nclient %s, request %+v, env %+v\ngrants: %+v", fmt.Sprintf(format, args...), tc.client, tc.req, tc.env, tc.clients)
	}

	if (gotErr == nil) != (wantErr == nil) {
		fail("got error %v, reference error %v", gotErr, wantErr)
	}
	var gotDenied, wantDenied *policy.DeniedError
	if errors.As(wantErr, &wantDenied) {
		if !errors.As(gotErr, &gotDenied) {
			fail("got error %v, reference denies with %s", gotErr, wantDenied.Reason)
		}
		if gotDenied.Reason != wantDenied.Reason {
			fail("got reason %s (%s), reference %s (%s)", gotDenied.Reason, gotDenied.Detail, wantDenied.Reason, wantDenied.Detail)
		}
		if gotDenied.Reason == policy.ReasonContentLengthTooLarge {
			// The first grant in the config that reached the upload rules names the limit.
			var gi int
			fmt.Sscanf(wantDenied.Detail, "grant %d", &gi)
			limit := fmt.Sprintf("the limit of %d bytes", clientGrants(tc, tc.client)[gi].MaxContentLength)
			if !strings.HasSuffix(gotDenied.Detail, limit) {
				fail("got detail %q, want the limit of grant %d: %q", gotDenied.Detail, gi, limit)
			}
		}
		return
	}
	var gotInvalid, wantInvalid *policy.InvalidError
	if errors.As(wantErr, &wantInvalid) {
		if !errors.As(gotErr, &gotInvalid) || *gotInvalid != *wantInvalid {
			fail("got error %v, reference %v", gotErr, wantErr)
		}
		return
	}
	if wantErr != nil && gotErr.Error() != wantErr.Error() {
		// TTLError and CredentialsError carry every value in their message.
		fail("got error %v, reference %v", gotErr, wantErr)
	}

	// Allowed, or refused for its lifetime: the same grant, prefix and limits.
	if got.GrantIndex != want.GrantIndex || got.Prefix != want.Prefix || got.Client != want.Client {
		fail("got grant %d prefix %q client %q, reference grant %d prefix %q client %q",
			got.GrantIndex, got.Prefix, got.Client, want.GrantIndex, want.Prefix, want.Client)
	}
	if got.TTL != want.TTL || got.CappedBy != want.CappedBy {
		fail("got TTL %d capped by %q, reference %d capped by %q", got.TTL, got.CappedBy, want.TTL, want.CappedBy)
	}
	if diff := cmp.Diff(want.Limits, got.Limits); diff != "" {
		fail("limits differ:\n%s", diff)
	}
	expanded, _ := p.Client(tc.client)
	if got.Grant != &expanded.Grants[got.GrantIndex] {
		fail("got Grant %p, want the client's grant %d", got.Grant, got.GrantIndex)
	}
}

func clientGrants(tc differentialCase, name string) []policy.Grant {
	for _, c := range tc.clients {
		if c.Name == name {
			return c.Grants
		}
	}
	return nil
}

// FuzzDecideMatchesReference builds random grants from the seed and checks Decide
// against the reference on the given key and on keys derived from the grants.
// As a plain test it runs over the seeds below.
func FuzzDecideMatchesReference(f *testing.F) {
	for seed := range uint64(64) {
		f.Add(seed, "", "", false)
	}
	f.Add(uint64(7), "a/b/c", "GET", false)
	f.Add(uint64(9), "alice/x", "PUT", true)
	f.Add(uint64(11), "a-b/", "HEAD", false)
	f.Add(uint64(13), "é/é/x", "DELETE", true)
	f.Fuzz(func(t *testing.T, seed uint64, key, method string, form bool) {
		r := rand.New(rand.NewPCG(seed, seed>>32|1))
		for range 8 {
			tc := randomCase(r)
			checkAgainstReference(t, tc)
			if key != "" {
				tc.req.Key = key
			}
			if method != "" {
				tc.req.Method = method
			}
			tc.req.Form = form
			checkAgainstReference(t, tc)
		}
	})
}

// TestDecideMatchesReference is a deterministic sweep of random cases.
func TestDecideMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(20261122, 1))
	n := 5000
	if testing.Short() {
		n = 500
	}
	allowed, nested := 0, 0
	reasons := map[policy.Reason]int{}
	for range n {
		tc := randomCase(r)
		checkAgainstReference(t, tc)
		p, _ := policy.New(tc.clients)
		d, err := p.Decide(tc.client, tc.req, tc.env)
		var denied *policy.DeniedError
		switch {
		case err == nil:
			allowed++
			if strings.Count(d.Prefix, "/") > 1 {
				nested++
			}
		case errors.As(err, &denied):
			reasons[denied.Reason]++
		}
	}
	// The sweep is only worth something if it reaches every outcome.
	if allowed < n/10 || nested == 0 {
		t.Errorf("got %d allowed cases of %d, %d of them under a nested prefix; want a tenth at least, some nested", allowed, n, nested)
	}
	for _, reason := range []policy.Reason{
		policy.ReasonBucketNotAllowed, policy.ReasonPrefixNotAllowed, policy.ReasonMethodNotAllowed,
		policy.ReasonContentTypeNotAllowed, policy.ReasonContentTypeRequired,
		policy.ReasonContentLengthTooLarge, policy.ReasonContentLengthRequired,
	} {
		if reasons[reason] == 0 {
			t.Errorf("no case was denied with %s; got %v", reason, reasons)
		}
	}
	t.Logf("%d cases: %d allowed (%d under nested prefixes), denials %v", n, allowed, nested, reasons)
}
