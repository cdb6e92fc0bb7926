package config_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/presignd/presignd/internal/config"
)

// grantsConfig is a valid config whose first client, alice, has the grants given as
// YAML flow mappings; a second client, bob, has one grant of its own.
func grantsConfig(grants ...string) string {
	var b strings.Builder
	b.WriteString("listen: 127.0.0.1:8080\ns3: {region: us-east-1}\nclients:\n")
	fmt.Fprintf(&b, "  - name: alice\n    token_sha256: %q\n    grants:\n", config.HashToken("alice-token"))
	for _, g := range grants {
		fmt.Fprintf(&b, "      - %s\n", g)
	}
	fmt.Fprintf(&b, "  - name: bob\n    token_sha256: %q\n    grants:\n", config.HashToken("bob-token"))
	b.WriteString("      - {bucket: media, prefixes: [\"\"], methods: [GET, PUT, HEAD, DELETE], max_ttl: 7d}\n")
	return b.String()
}

func TestWarningsShadowing(t *testing.T) {
	const shadowed = ", which covers all its prefixes, allows all its methods with upload rules no stricter, and is chosen first"
	const prefixShadowed = ", which allows all this grant's methods there with upload rules no stricter, and is chosen first; keys under it never use this grant"
	const never = "; this grant is never used"
	tests := []struct {
		name   string
		grants []string
		want   []string
	}{
		{
			name: "grants that overlap without shadowing",
			grants: []string{
				`{bucket: media, prefixes: ["public/"], methods: [GET, HEAD], max_ttl: 24h}`,
				`{bucket: media, prefixes: ["public/big/"], methods: [GET], max_ttl: 7d}`,
				`{bucket: media, prefixes: ["uploads/{client}/"], methods: [PUT], max_ttl: 1h, content_types: ["image/*"]}`,
				`{bucket: other, prefixes: [""], methods: [GET, HEAD], max_ttl: 7d}`,
			},
		},
		{
			name: "the same grant twice",
			grants: []string{
				`{bucket: media, prefixes: ["public/"], methods: [GET], max_ttl: 1h}`,
				`{bucket: media, prefixes: ["public/"], methods: [GET], max_ttl: 1h}`,
			},
			want: []string{"clients[0].grants[1]: shadowed by clients[0].grants[0]" + shadowed + " (max_ttl 1h0m0s against 1h0m0s)" + never},
		},
		{
			name: "a wider grant with a longer max_ttl later in the file",
			grants: []string{
				`{bucket: media, prefixes: ["public/a/", "public/b/"], methods: [GET], max_ttl: 1h}`,
				`{bucket: media, prefixes: ["public/"], methods: [GET, HEAD], max_ttl: 2h}`,
			},
			want: []string{"clients[0].grants[0]: shadowed by clients[0].grants[1]" + shadowed + " (max_ttl 2h0m0s against 1h0m0s)" + never},
		},
		{
			name: "the whole bucket",
			grants: []string{
				`{bucket: media, prefixes: [""], methods: [GET, PUT, HEAD, DELETE], max_ttl: 7d}`,
				`{bucket: media, prefixes: ["home/{client}/"], methods: [GET], max_ttl: 7d}`,
			},
			want: []string{"clients[0].grants[1]: shadowed by clients[0].grants[0]" + shadowed + " (max_ttl 7d against 7d)" + never},
		},
		{
			name: "the same max_ttl earlier in the file wins",
			grants: []string{
				`{bucket: media, prefixes: ["public/a/"], methods: [GET], max_ttl: 1h}`,
				`{bucket: media, prefixes: ["public/"], methods: [GET], max_ttl: 1h}`,
			},
		},
		{
			name: "a shorter max_ttl never shadows",
			grants: []string{
				`{bucket: media, prefixes: [""], methods: [GET], max_ttl: 1h}`,
				`{bucket: media, prefixes: ["public/"], methods: [GET], max_ttl: 2h}`,
			},
		},
		{
			name: "fewer methods never shadow",
			grants: []string{
				`{bucket: media, prefixes: [""], methods: [GET], max_ttl: 7d}`,
				`{bucket: media, prefixes: ["public/"], methods: [GET, HEAD], max_ttl: 1h}`,
			},
		},
		{
			name: "another bucket never shadows",
			grants: []string{
				`{bucket: media, prefixes: [""], methods: [GET], max_ttl: 7d}`,
				`{bucket: media2, prefixes: ["public/"], methods: [GET], max_ttl: 1h}`,
			},
		},
		{
			name: "a sibling prefix is not covered",
			grants: []string{
				`{bucket: media, prefixes: ["uploads/"], methods: [GET], max_ttl: 7d}`,
				`{bucket: media, prefixes: ["uploads-evil/"], methods: [GET], max_ttl: 1h}`,
			},
		},
		{
			name: "placeholders compare expanded",
			grants: []string{
				`{bucket: media, prefixes: ["home/alice/"], methods: [GET], max_ttl: 7d}`,
				`{bucket: media, prefixes: ["home/{client}/docs/"], methods: [GET], max_ttl: 1h}`,
			},
			want: []string{"clients[0].grants[1]: shadowed by clients[0].grants[0]" + shadowed + " (max_ttl 7d against 1h0m0s)" + never},
		},
		{
			name: "some prefixes shadowed",
			grants: []string{
				`{bucket: media, prefixes: ["public/"], methods: [GET, HEAD], max_ttl: 7d}`,
				`{bucket: media, prefixes: ["private/", "public/img/", "public/"], methods: [GET], max_ttl: 1h}`,
			},
			want: []string{
				`clients[0].grants[1].prefixes[1]: "public/img/" is already covered by prefixes[2] "public/"`,
				`clients[0].grants[1].prefixes[2]: "public/" is shadowed by clients[0].grants[0]` + prefixShadowed,
			},
		},
		{
			name: "prefixes shadowed by different grants leave the grant in use",
			grants: []string{
				`{bucket: media, prefixes: ["a/"], methods: [GET], max_ttl: 7d}`,
				`{bucket: media, prefixes: ["b/"], methods: [GET], max_ttl: 7d}`,
				`{bucket: media, prefixes: ["a/", "b/"], methods: [GET], max_ttl: 1h}`,
			},
			want: []string{
				`clients[0].grants[2].prefixes[0]: "a/" is shadowed by clients[0].grants[0]` + prefixShadowed,
				`clients[0].grants[2].prefixes[1]: "b/" is shadowed by clients[0].grants[1]` + prefixShadowed,
			},
		},
		{
			name: "looser upload rules shadow",
			grants: []string{
				`{bucket: media, prefixes: ["in/"], methods: [PUT], max_ttl: 1h, content_types: ["image/*", "text/plain"], max_content_length: 1000}`,
				`{bucket: media, prefixes: ["in/"], methods: [PUT], max_ttl: 1h, content_types: ["IMAGE/png", "text/plain"], max_content_length: 500}`,
			},
			want: []string{"clients[0].grants[1]: shadowed by clients[0].grants[0]" + shadowed + " (max_ttl 1h0m0s against 1h0m0s)" + never},
		},
		{
			name: "no upload rules shadow any",
			grants: []string{
				`{bucket: media, prefixes: ["in/"], methods: [PUT], max_ttl: 1h}`,
				`{bucket: media, prefixes: ["in/"], methods: [PUT], max_ttl: 1h, content_types: ["*/*"], max_content_length: 500}`,
			},
			want: []string{"clients[0].grants[1]: shadowed by clients[0].grants[0]" + shadowed + " (max_ttl 1h0m0s against 1h0m0s)" + never},
		},
		{
			name: "a narrower content type does not shadow",
			grants: []string{
				`{bucket: media, prefixes: ["in/"], methods: [PUT], max_ttl: 7d, content_types: ["image/png"]}`,
				`{bucket: media, prefixes: ["in/"], methods: [PUT], max_ttl: 1h, content_types: ["image/*"]}`,
			},
		},
		{
			name: "a content type rule does not shadow a grant without one",
			grants: []string{
				`{bucket: media, prefixes: ["in/"], methods: [PUT], max_ttl: 7d, content_types: ["*/*"]}`,
				`{bucket: media, prefixes: ["in/"], methods: [PUT], max_ttl: 1h}`,
			},
		},
		{
			name: "a smaller size limit does not shadow",
			grants: []string{
				`{bucket: media, prefixes: ["in/"], methods: [PUT], max_ttl: 7d, max_content_length: 100}`,
				`{bucket: media, prefixes: ["in/"], methods: [PUT], max_ttl: 1h, max_content_length: 1000}`,
			},
		},
		{
			name: "a size limit does not shadow a grant without one",
			grants: []string{
				`{bucket: media, prefixes: ["in/"], methods: [PUT], max_ttl: 7d, max_content_length: 1000}`,
				`{bucket: media, prefixes: ["in/"], methods: [PUT], max_ttl: 1h}`,
			},
		},
		{
			name: "upload rules do not matter without PUT",
			grants: []string{
				`{bucket: media, prefixes: ["in/"], methods: [GET, PUT], max_ttl: 7d, max_content_length: 10}`,
				`{bucket: media, prefixes: ["in/"], methods: [GET], max_ttl: 1h}`,
			},
			want: []string{"clients[0].grants[1]: shadowed by clients[0].grants[0]" + shadowed + " (max_ttl 7d against 1h0m0s)" + never},
		},
		{
			name: "the same prefix twice",
			grants: []string{
				`{bucket: media, prefixes: ["a/", "b/", "a/"], methods: [GET], max_ttl: 1h}`,
			},
			want: []string{`clients[0].grants[0].prefixes[2]: "a/" is the same prefix as prefixes[0]`},
		},
		{
			name: "the same prefix once expanded",
			grants: []string{
				`{bucket: media, prefixes: ["home/{client}/", "home/alice/"], methods: [GET], max_ttl: 1h}`,
			},
			want: []string{`clients[0].grants[0].prefixes[1]: "home/alice/" is the same prefix as prefixes[0]`},
		},
		{
			name: "a prefix under a shorter one",
			grants: []string{
				`{bucket: media, prefixes: ["a/b/c/", "x/", "a/"], methods: [GET], max_ttl: 1h}`,
			},
			want: []string{`clients[0].grants[0].prefixes[0]: "a/b/c/" is already covered by prefixes[2] "a/"`},
		},
		{
			name: "a prefix under the whole bucket",
			grants: []string{
				`{bucket: media, prefixes: ["", "uploads/{client}/"], methods: [GET], max_ttl: 1h}`,
			},
			want: []string{`clients[0].grants[0].prefixes[1]: "uploads/{client}/" is already covered by prefixes[0] ""`},
		},
		{
			name: "rules that never apply and a shadowed grant",
			grants: []string{
				`{bucket: media, prefixes: [""], methods: [GET], max_ttl: 7d}`,
				`{bucket: media, prefixes: ["a/"], methods: [GET], max_ttl: 1h, content_types: ["image/*"]}`,
			},
			want: []string{
				"clients[0].grants[1].content_types: applies to uploads only, and this grant does not allow PUT",
				"clients[0].grants[1]: shadowed by clients[0].grants[0]" + shadowed + " (max_ttl 7d against 1h0m0s)" + never,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse([]byte(grantsConfig(tt.grants...)))
			if err != nil {
				t.Fatalf("got error %v, want a valid config", err)
			}
			if diff := cmp.Diff(tt.want, c.Warnings()); diff != "" {
				t.Errorf("warnings mismatch:\n%s", diff)
			}
		})
	}
}

// TestWarningsOnlyWithinAClient: a grant of another client never shadows.
func TestWarningsOnlyWithinAClient(t *testing.T) {
	text := fmt.Sprintf(`listen: 127.0.0.1:8080
s3: {region: us-east-1}
clients:
  - name: alice
    token_sha256: %q
    grants:
      - {bucket: media, prefixes: ["a/"], methods: [GET], max_ttl: 1h}
  - name: bob
    token_sha256: %q
    grants:
      - {bucket: media, prefixes: [""], methods: [GET, HEAD], max_ttl: 7d}
`, config.HashToken("alice-token"), config.HashToken("bob-token"))
	c, err := config.Parse([]byte(text))
	if err != nil {
		t.Fatalf("got error %v, want a valid config", err)
	}
	if got := c.Warnings(); len(got) != 0 {
		t.Errorf("got warnings %q, want none", got)
	}
}
