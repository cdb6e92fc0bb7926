package policy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/presignd/presignd/internal/policy"
)

func TestPlaceKey(t *testing.T) {
	const prefix = "uploads/alice/"
	tests := []struct {
		name, proposed, want string
	}{
		{"plain name", "photo.png", "uploads/alice/photo.png"},
		{"uppy's default key", "0d6c1e5e-1c2b-4b43-9a55-3a7a2c7a1f00-photo.png", "uploads/alice/0d6c1e5e-1c2b-4b43-9a55-3a7a2c7a1f00-photo.png"},
		{"sub folders kept", "album/2026/photo.png", "uploads/alice/album/2026/photo.png"},
		{"dot dot dropped", "../../etc/passwd", "uploads/alice/etc/passwd"},
		{"dot dot in the middle", "a/../../b", "uploads/alice/a/b"},
		{"dot segments and empties", "./a//./b/", "uploads/alice/a/b"},
		{"leading slash", "/etc/passwd", "uploads/alice/etc/passwd"},
		{"only dots", ".../x", "uploads/alice/x"},
		{"backslash is no separator", `..\..\x`, "uploads/alice/.._.._x"},
		{"control characters", "a\x00b\nc\u0085d", "uploads/alice/a_b_c_d"},
		{"dots inside a name stay", "archive..tar.gz", "uploads/alice/archive..tar.gz"},
		{"spaces trimmed", " a / b ", "uploads/alice/a/b"},
		{"unicode kept", "Grüße (1) + =.txt", "uploads/alice/Grüße (1) + =.txt"},
		{"percent escapes are text", "%2e%2e/x", "uploads/alice/%2e%2e/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := policy.PlaceKey(prefix, tt.proposed)
			if err != nil {
				t.Fatalf("PlaceKey(%q): got error %v, want %q", tt.proposed, err, tt.want)
			}
			if got != tt.want {
				t.Errorf("PlaceKey(%q) = %q, want %q", tt.proposed, got, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "/", "..", "../..", "./.", " / ", strings.Repeat("a", 513), "\xff\xfe"} {
		t.Run("refused "+bad, func(t *testing.T) {
			got, err := policy.PlaceKey(prefix, bad)
			var ie *policy.InvalidError
			if !errors.As(err, &ie) || ie.Field != policy.FieldKey {
				t.Errorf("PlaceKey(%q) = %q, %v; want an invalid key error", bad, got, err)
			}
		})
	}
	t.Run("too long once placed", func(t *testing.T) {
		long := strings.Repeat("p/", 300) // 600 bytes of prefix
		if _, err := policy.PlaceKey(long, strings.Repeat("a/", 250)); err == nil {
			t.Error("got no error for a key above 1024 bytes, want one")
		}
	})
}

func FuzzPlaceKey(f *testing.F) {
	for _, s := range []string{"a", "../x", "a/./b", `\..\`, "\x00", "a//b"} {
		f.Add(s)
	}
	const prefix = "uploads/alice/"
	f.Fuzz(func(t *testing.T, proposed string) {
		key, err := policy.PlaceKey(prefix, proposed)
		if err != nil {
			return
		}
		if !strings.HasPrefix(key, prefix) || len(key) == len(prefix) {
			t.Fatalf("PlaceKey(%q) = %q, not below %q", proposed, key, prefix)
		}
		if err := policy.ValidateKey(key); err != nil {
			t.Fatalf("PlaceKey(%q) = %q, which breaks the key rules: %v", proposed, key, err)
		}
		if !policy.UnderPrefix(prefix, key) {
			t.Fatalf("UnderPrefix(%q, %q) = false", prefix, key)
		}
	})
}

func TestUnderPrefix(t *testing.T) {
	for _, tt := range []struct {
		key  string
		want bool
	}{
		{"uploads/alice/a", true},
		{"uploads/alice/a/b", true},
		{"uploads/alice/", false},
		{"uploads/alice", false},
		{"uploads/alice-evil/a", false},
		{"uploads/alice/../bob/a", false},
		{"uploads/alice//a", false},
		{"uploads/bob/a", false},
	} {
		if got := policy.UnderPrefix("uploads/alice/", tt.key); got != tt.want {
			t.Errorf("UnderPrefix(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestUploadLocationFor(t *testing.T) {
	grant := policy.Grant{Bucket: "media", Prefixes: []string{"uploads/{subject}/"}, Methods: []string{policy.MethodPut}, MaxTTL: 3600e9}
	p, err := policy.New([]policy.Client{
		{Name: "app", Grants: []policy.Grant{grant}, Uploads: &policy.UploadLocation{Bucket: "media", Prefix: "uploads/{subject}/{client}/"}},
		{Name: "plain", Grants: []policy.Grant{grant}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.UploadLocationFor("app", policy.Attributes{"subject": "alice"})
	if err != nil || got != (policy.UploadLocation{Bucket: "media", Prefix: "uploads/alice/app/"}) {
		t.Errorf("got %+v, %v; want media uploads/alice/app/", got, err)
	}
	for name, tt := range map[string]struct {
		client string
		caller policy.Attributes
		reason policy.Reason
	}{
		"no location":        {"plain", policy.Attributes{"subject": "alice"}, policy.ReasonNoUploadLocation},
		"no subject":         {"app", nil, policy.ReasonIdentityNotUsable},
		"subject with slash": {"app", policy.Attributes{"subject": "a/b"}, policy.ReasonIdentityNotUsable},
		"subject dot dot":    {"app", policy.Attributes{"subject": ".."}, policy.ReasonIdentityNotUsable},
		"unknown client":     {"nobody", nil, policy.ReasonNoUploadLocation},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := p.UploadLocationFor(tt.client, tt.caller)
			var de *policy.DeniedError
			if !errors.As(err, &de) || de.Reason != tt.reason {
				t.Errorf("got %v, want a denial %s", err, tt.reason)
			}
		})
	}
}
