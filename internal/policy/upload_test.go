package policy_test

import (
	"errors"
	"testing"

	"github.com/presignd/presignd/internal/policy"
)

func TestContentTypePrefixAllowed(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		prefix   string
		want     bool
	}{
		{name: "wildcard holds its type", patterns: []string{"image/*"}, prefix: "image/", want: true},
		{name: "wildcard holds a longer start", patterns: []string{"image/*"}, prefix: "image/p", want: true},
		{name: "wildcard holds a whole type", patterns: []string{"image/*"}, prefix: "image/png", want: true},
		{name: "wildcard ignores case", patterns: []string{"IMAGE/*"}, prefix: "Image/", want: true},
		{name: "wildcard does not hold the bare type", patterns: []string{"image/*"}, prefix: "image", want: false},
		{name: "wildcard does not hold a shorter start", patterns: []string{"image/*"}, prefix: "im", want: false},
		{name: "wildcard type boundary", patterns: []string{"image/*"}, prefix: "imagex/", want: false},
		{name: "any type holds anything", patterns: []string{"*/*"}, prefix: "", want: true},
		{name: "any type holds a start", patterns: []string{"*/*"}, prefix: "text/", want: true},
		{name: "exact type holds no start", patterns: []string{"image/png"}, prefix: "image/png", want: false},
		{name: "exact type holds no shorter start", patterns: []string{"image/png"}, prefix: "image/", want: false},
		{name: "second pattern", patterns: []string{"text/csv", "video/*"}, prefix: "video/mp", want: true},
		{name: "no patterns", patterns: nil, prefix: "image/", want: false},
		{name: "empty start needs any type", patterns: []string{"image/*"}, prefix: "", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := policy.ContentTypePrefixAllowed(tt.patterns, tt.prefix); got != tt.want {
				t.Errorf("ContentTypePrefixAllowed(%q, %q): got %v, want %v", tt.patterns, tt.prefix, got, tt.want)
			}
		})
	}
}

// TestDecideFormUploads covers the request fields of browser form uploads (POST
// policies): a content type that is a starts-with condition, and a size that is an
// optional maximum.
func TestDecideFormUploads(t *testing.T) {
	images := policy.Grant{Bucket: "media", Prefixes: []string{"uploads/"}, Methods: []string{"PUT"}, MaxTTL: policy.S3MaxTTL, ContentTypes: []string{"image/*"}, MaxContentLength: 1000}
	exact := policy.Grant{Bucket: "media", Prefixes: []string{"uploads/"}, Methods: []string{"PUT"}, MaxTTL: policy.S3MaxTTL, ContentTypes: []string{"image/png"}}
	free := policy.Grant{Bucket: "media", Prefixes: []string{"uploads/"}, Methods: []string{"PUT"}, MaxTTL: policy.S3MaxTTL}
	form := func(contentType string, prefix bool, length int64) policy.Request {
		r := upload("media", "uploads/a", contentType, length)
		r.ContentTypePrefix, r.Form = prefix, true
		return r
	}
	tests := []struct {
		name  string
		grant policy.Grant
		req   policy.Request
		want  policy.Reason // "" for allowed
	}{
		{name: "form without a size takes the grant's maximum", grant: images, req: form("image/png", false, -1)},
		{name: "form with a maximum below the grant's", grant: images, req: form("image/png", false, 500)},
		{name: "form with the grant's maximum", grant: images, req: form("image/png", false, 1000)},
		{name: "form with a maximum above the grant's", grant: images, req: form("image/png", false, 1001), want: policy.ReasonContentLengthTooLarge},
		{name: "a PUT URL still needs a size", grant: images, req: upload("media", "uploads/a", "image/png", -1), want: policy.ReasonContentLengthRequired},
		{name: "starts-with inside the wildcard", grant: images, req: form("image/", true, -1)},
		{name: "starts-with of part of a subtype", grant: images, req: form("image/pn", true, -1)},
		{name: "starts-with wider than the wildcard", grant: images, req: form("ima", true, -1), want: policy.ReasonContentTypeNotAllowed},
		{name: "starts-with another type", grant: images, req: form("text/", true, -1), want: policy.ReasonContentTypeNotAllowed},
		{name: "starts-with empty is any type", grant: images, req: form("", true, -1), want: policy.ReasonContentTypeRequired},
		{name: "starts-with against an exact type", grant: exact, req: form("image/png", true, -1), want: policy.ReasonContentTypeNotAllowed},
		{name: "exact type against an exact type", grant: exact, req: form("image/png", false, -1)},
		{name: "a prefix flag is not a media type check", grant: images, req: form("image/", false, -1), want: policy.ReasonContentTypeNotAllowed},
		{name: "no rules: anything", grant: free, req: form("", true, -1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPolicy(t, policy.Client{Name: "alice", Grants: []policy.Grant{tt.grant}})
			d, err := p.Decide("alice", tt.req, staticEnv)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got error %v, want the upload allowed", err)
				}
				if d.GrantIndex != 0 || d.Prefix != "uploads/" {
					t.Errorf("got grant %d prefix %q, want grant 0 prefix uploads/", d.GrantIndex, d.Prefix)
				}
				return
			}
			var denied *policy.DeniedError
			if !errors.As(err, &denied) || denied.Reason != tt.want {
				t.Fatalf("got decision %+v, error %v; want a denial %s", d, err, tt.want)
			}
		})
	}
}
