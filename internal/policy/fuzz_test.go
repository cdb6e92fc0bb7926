package policy_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/presignd/presignd/internal/policy"
)

// fuzzGrants mix prefix shapes, placeholders, upload rules and lifetimes, including
// one above S3's maximum so that every cap can bind.
var fuzzGrants = []policy.Grant{
	{Bucket: "media", Prefixes: []string{"uploads/", "home/{client}/"}, Methods: []string{"GET", "PUT"}, MaxTTL: time.Hour, ContentTypes: []string{"image/*", "application/pdf"}, MaxContentLength: 1 << 20},
	{Bucket: "media", Prefixes: []string{"public/", "uploads/shared/"}, Methods: []string{"GET", "HEAD"}, MaxTTL: 7 * 24 * time.Hour},
	{Bucket: "media", Prefixes: []string{"uploads/private/"}, Methods: []string{"DELETE", "PUT"}, MaxTTL: 90 * time.Minute},
	{Bucket: "archive", Prefixes: []string{""}, Methods: []string{"GET"}, MaxTTL: 30 * 24 * time.Hour},
	{Bucket: "archive", Prefixes: []string{"in/"}, Methods: []string{"PUT"}, MaxTTL: 24 * time.Hour, ContentTypes: []string{"*/*"}},
}

func FuzzDecide(f *testing.F) {
	keys := []string{
		"uploads/a.png",
		"uploads/a b+c=d&e%f#g?h'i\"j(k)[l]",
		"uploads-evil/x",
		"uploads",
		"uploads/",
		"uploads/../public/x",
		"uploads/./x",
		"uploads/.",
		"uploads//x",
		"/uploads/x",
		"uploads/\x00",
		"uploads/\x7f",
		"uploads/\u0085",
		"uploads/\xff",
		"uploads/\xc3",
		"home/alice/x",
		"home/bob/x",
		"home/alice/../bob/x",
		"home/alice",
		"uploads/café",
		"uploads/cafe\u0301",
		"uploads/日本語/🎉.png",
		"uploads/" + strings.Repeat("k", 1016),
		"uploads/" + strings.Repeat("k", 1017),
		"uploads/.a/..b/a.",
		"public/x",
		"uploads/shared/x",
		"uploads/private/y",
		"UPLOADS/x",
		"in/x",
		"anything",
	}
	methods := []string{"GET", "PUT", "HEAD", "DELETE", "get", "POST", ""}
	for i, k := range keys {
		// Arguments: client, bucket, key, method, requested TTL, credentials left (ms),
		// whether they expire, declared type and size, strict_ttl.
		f.Add("alice", "media", k, "GET", int64(3600), int64(2*3600*1000), true, "", int64(-1), false)
		f.Add("alice", "media", k, "PUT", int64(7200), int64(0), false, "image/png", int64(100), i%2 == 0)
		f.Add("bob", "archive", k, methods[i%len(methods)], int64(week+1), int64(1800*1000), i%3 == 0, "text/plain", int64(-1), false)
	}
	f.Add("alice", "archive", "x", "GET", int64(week*2), int64((week+60)*1000), true, "", int64(-1), false)
	f.Add("alice", "media", "uploads/private/y", "PUT", int64(5400), int64(60500), true, "", int64(-1), false)
	f.Add("alice", "media", "uploads/a.pdf", "PUT", int64(1), int64(61000), true, "Application/PDF; x=y", int64(1<<20), true)
	f.Add("carol", "media", "public/x", "GET", int64(3600), int64(0), false, "", int64(0), false)
	f.Add("alice", "Media", "public/x", "GET", int64(0), int64(-5000), true, "", int64(0), false)

	p, err := policy.New([]policy.Client{{Name: "alice", Grants: fuzzGrants}, {Name: "bob", Grants: fuzzGrants}})
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, client, bucket, key, method string, ttl, credsLeftMs int64, credsExpire bool, contentType string, contentLength int64, strict bool) {
		credsLeftMs %= 30 * 24 * 3600 * 1000 // keep the expiry representable
		env := policy.Env{Now: now, CredentialsExpire: credsExpire, CredentialsExpiry: now.Add(time.Duration(credsLeftMs) * time.Millisecond)}
		req := policy.Request{Bucket: bucket, Key: key, Method: method, TTL: ttl, StrictTTL: strict, ContentType: contentType, ContentLength: contentLength}

		d, err := p.Decide(client, req, env)

		// The limits that apply if some grant allows the request.
		credLimit := int64(-1)
		if credsExpire {
			credLimit = max((credsLeftMs-60_000)/1000, 0)
		}
		if err != nil {
			var (
				inv    *policy.InvalidError
				denied *policy.DeniedError
				te     *policy.TTLError
				ce     *policy.CredentialsError
			)
			switch {
			case errors.As(err, &inv):
				if policy.ValidateRequest(req) == nil {
					t.Fatalf("got %v for a request ValidateRequest accepts", err)
				}
			case errors.As(err, &denied):
				if policy.ValidateRequest(req) != nil {
					t.Fatalf("got a denial (%v) for an invalid request", err)
				}
			case errors.As(err, &te):
				if !strict || te.Effective >= te.Requested || te.CappedBy == policy.CapNone || te.Effective < 1 {
					t.Fatalf("got %+v for strict=%v, want a TTLError only for a strict request capped to at least 1s", te, strict)
				}
			case errors.As(err, &ce):
				if !credsExpire || credLimit >= 1 {
					t.Fatalf("got %v with credentials expiring=%v and a credentials limit of %ds", err, credsExpire, credLimit)
				}
			default:
				t.Fatalf("got an error of type %T: %v", err, err)
			}
			return
		}

		// Allowed: the request is valid and the key is one S3 will see as is.
		checkAllowedKey(t, key)
		if !slices.Contains(policy.Methods, method) {
			t.Fatalf("allowed method %q", method)
		}
		if client != "alice" && client != "bob" {
			t.Fatalf("allowed unknown client %q", client)
		}

		// The decision names the grant that allows it, and it does.
		c, _ := p.Client(client)
		if d.GrantIndex < 0 || d.GrantIndex >= len(c.Grants) {
			t.Fatalf("got grant index %d of %d grants", d.GrantIndex, len(c.Grants))
		}
		g := c.Grants[d.GrantIndex]
		if d.Client != client || d.Grant == nil || d.Grant.Bucket != g.Bucket || g.Bucket != bucket {
			t.Fatalf("got decision %+v for client %q bucket %q, want client and bucket to match grant %d", d, client, bucket, d.GrantIndex)
		}
		if !slices.Contains(g.Methods, method) {
			t.Fatalf("grant %d does not allow %s", d.GrantIndex, method)
		}
		under := false
		for _, pfx := range g.Prefixes {
			if pfx != "" && !strings.HasSuffix(pfx, "/") {
				t.Fatalf("grant %d has prefix %q, want \"\" or ending in /", d.GrantIndex, pfx)
			}
			if strings.HasPrefix(key, pfx) {
				under = true
			}
		}
		if !under || !slices.Contains(g.Prefixes, d.Prefix) || !strings.HasPrefix(key, d.Prefix) {
			t.Fatalf("key %q is not under prefix %q of grant %d (%q)", key, d.Prefix, d.GrantIndex, g.Prefixes)
		}
		if strings.HasPrefix(key, "home/") && !strings.HasPrefix(key, "home/"+client+"/") {
			t.Fatalf("client %s got key %q in another client's home", client, key)
		}
		if method == "PUT" {
			if len(g.ContentTypes) > 0 && !policy.ContentTypeAllowed(g.ContentTypes, contentType) {
				t.Fatalf("upload of type %q allowed by grant %d (%q)", contentType, d.GrantIndex, g.ContentTypes)
			}
			if g.MaxContentLength > 0 && (contentLength < 0 || contentLength > g.MaxContentLength) {
				t.Fatalf("upload of %d bytes allowed by grant %d (max %d)", contentLength, d.GrantIndex, g.MaxContentLength)
			}
		}

		// The lifetime is the smallest limit, named by the first limit that binds.
		limits := []struct {
			cap   policy.Cap
			value int64
		}{
			{policy.CapPolicy, int64(g.MaxTTL / time.Second)},
			{policy.CapS3Max, week},
			{policy.CapCredentials, credLimit},
		}
		wantTTL, wantCap := ttl, policy.CapNone
		for _, l := range limits {
			if l.value >= 0 && l.value < wantTTL {
				wantTTL, wantCap = l.value, l.cap
			}
		}
		if d.TTL < 1 || d.TTL > ttl || d.TTL > int64(g.MaxTTL/time.Second) || d.TTL > week || (credsExpire && d.TTL > credLimit) {
			t.Fatalf("got TTL %d, want between 1 and min(%d requested, %v grant, %d, %d credentials)", d.TTL, ttl, g.MaxTTL, week, credLimit)
		}
		if d.TTL != wantTTL || d.CappedBy != wantCap {
			t.Fatalf("got TTL %d capped by %q, want %d capped by %q", d.TTL, d.CappedBy, wantTTL, wantCap)
		}
		if (d.CappedBy != policy.CapNone) != (d.TTL < ttl) {
			t.Fatalf("got capped_by %q with TTL %d of %d requested", d.CappedBy, d.TTL, ttl)
		}
		if strict && d.CappedBy != policy.CapNone {
			t.Fatalf("strict request allowed with capped_by %q", d.CappedBy)
		}
	})
}

// checkAllowedKey fails when an allowed key breaks a key rule. It restates the rules
// rather than calling ValidateKey, so that a change there cannot pass silently.
func checkAllowedKey(t *testing.T, key string) {
	t.Helper()
	if key == "" || len(key) > 1024 {
		t.Fatalf("allowed a key of %d bytes", len(key))
	}
	if !utf8.ValidString(key) {
		t.Fatalf("allowed key %q that is not UTF-8", key)
	}
	for _, r := range key {
		if r < 0x20 || r >= 0x7f && r <= 0x9f {
			t.Fatalf("allowed key %q with control character %U", key, r)
		}
	}
	if strings.HasPrefix(key, "/") || strings.Contains(key, "//") {
		t.Fatalf("allowed key %q with an empty segment", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "." || seg == ".." {
			t.Fatalf("allowed key %q with a dot segment", key)
		}
	}
}
