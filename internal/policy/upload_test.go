package policy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/presignd/presignd/internal/policy"
)

func TestParseContentType(t *testing.T) {
	valid := []struct{ in, essence string }{
		{"image/png", "image/png"},
		{"IMAGE/PNG", "image/png"},
		{"text/plain; charset=utf-8", "text/plain"},
		{"text/plain;charset=utf-8", "text/plain"},
		{"text/plain ;\tcharset=utf-8", "text/plain"},
		{`text/plain; charset="utf-8"`, "text/plain"},
		{`multipart/form-data; boundary="a b;c"`, "multipart/form-data"},
		{"application/vnd.api+json", "application/vnd.api+json"},
		{"image/svg+xml", "image/svg+xml"},
		{"text/plain; a=1; b=2", "text/plain"},
	}
	for _, tt := range valid {
		t.Run(tt.in, func(t *testing.T) {
			got, err := policy.ParseContentType(tt.in)
			if err != nil || got != tt.essence {
				t.Fatalf("ParseContentType(%q): got %q, %v; want %q", tt.in, got, err, tt.essence)
			}
		})
	}
	invalid := []string{
		"",
		"image",
		"image/",
		"/png",
		"image/png;x=,text/html",
		"image/x,text/html",
		"image/png, text/html",
		`image/png; x="a,text/html"`,
		`image/png; x="a\"b"`,
		"image/png;",
		"image/png; ",
		"image/png;;x=1",
		"image/png; x",
		"image/png; x=",
		"image/png; =1",
		`image/png; x="open`,
		`image/png; x="a"b`,
		"image/png x",
		"image/png/x",
		" image/png",
		"image/png ",
		"image /png",
		"image/ png",
		"image/*",
		"*/*",
		"unknown/unknown",
		"APPLICATION/UNKNOWN",
		"image/png\r\ntext/html",
		"image/png\x00",
		"image/pn\u00e9",
		"text/html\x7f",
		"image/png; x=" + strings.Repeat("a", 300),
	}
	for _, in := range invalid {
		t.Run(in, func(t *testing.T) {
			if got, err := policy.ParseContentType(in); err == nil {
				t.Fatalf("ParseContentType(%q): got %q, want an error", in, got)
			}
		})
	}
}

// FuzzParseContentType holds the parser to what makes a value safe to sign: an
// accepted value is printable ASCII without a comma, and its essence is the lower-cased
// value up to the first ';' or space.
func FuzzParseContentType(f *testing.F) {
	for _, s := range []string{"image/png", "text/plain; charset=utf-8", `a/b; c="d;e"`, "image/png;x=,text/html", "a/b\t;c=d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		essence, err := policy.ParseContentType(v)
		if err != nil {
			return
		}
		if strings.ContainsAny(v, ",\\\r\n\x00") || strings.Contains(essence, "*") {
			t.Fatalf("accepted %q", v)
		}
		for i := 0; i < len(v); i++ {
			if (v[i] < 0x20 && v[i] != '\t') || v[i] > 0x7e {
				t.Fatalf("accepted %q with byte 0x%02x", v, v[i])
			}
		}
		head := v
		if i := strings.IndexAny(head, "; \t"); i >= 0 {
			head = head[:i]
		}
		if essence != strings.ToLower(head) || strings.Count(essence, "/") != 1 {
			t.Fatalf("ParseContentType(%q): essence %q, want %q", v, essence, strings.ToLower(head))
		}
	})
}

// TestDecideFormUploads covers the request fields of browser form uploads (POST
// policies): a size that is an optional maximum.
func TestDecideFormUploads(t *testing.T) {
	images := policy.Grant{Bucket: "media", Prefixes: []string{"uploads/"}, Methods: []string{"PUT"}, MaxTTL: policy.S3MaxTTL, ContentTypes: []string{"image/*"}, MaxContentLength: 1000}
	exact := policy.Grant{Bucket: "media", Prefixes: []string{"uploads/"}, Methods: []string{"PUT"}, MaxTTL: policy.S3MaxTTL, ContentTypes: []string{"image/png"}}
	free := policy.Grant{Bucket: "media", Prefixes: []string{"uploads/"}, Methods: []string{"PUT"}, MaxTTL: policy.S3MaxTTL}
	form := func(contentType string, length int64) policy.Request {
		r := upload("media", "uploads/a", contentType, length)
		r.Form = true
		return r
	}
	tests := []struct {
		name  string
		grant policy.Grant
		req   policy.Request
		want  policy.Reason // "" for allowed
	}{
		{name: "form without a size takes the grant's maximum", grant: images, req: form("image/png", -1)},
		{name: "form with a maximum below the grant's", grant: images, req: form("image/png", 500)},
		{name: "form with the grant's maximum", grant: images, req: form("image/png", 1000)},
		{name: "form with a maximum above the grant's", grant: images, req: form("image/png", 1001), want: policy.ReasonContentLengthTooLarge},
		{name: "a PUT URL still needs a size", grant: images, req: upload("media", "uploads/a", "image/png", -1), want: policy.ReasonContentLengthRequired},
		{name: "exact type against an exact type", grant: exact, req: form("image/png", -1)},
		{name: "no rules: any type", grant: free, req: form("text/html", -1)},
		{name: "no rules: no type", grant: free, req: form("", -1)},
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
