package config_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/policy"
)

// uploadsConfig is validConfig with an upload location for the uploader client.
func uploadsConfig(t *testing.T) string {
	return apply(t, validConfig, edit{"        max_content_length: 10485760\n",
		"        max_content_length: 10485760\n    uploads: {bucket: media.example, prefix: \"uploads/{client}/widget/\"}\n"})
}

func TestUploadsValid(t *testing.T) {
	for _, tt := range []struct {
		name, uploads string
		want          policy.UploadLocation
	}{
		{"under a templated grant prefix", `{bucket: media.example, prefix: "uploads/{client}/widget/"}`, policy.UploadLocation{Bucket: "media.example", Prefix: "uploads/{client}/widget/"}},
		{"the grant prefix itself", `{bucket: media.example, prefix: "shared/"}`, policy.UploadLocation{Bucket: "media.example", Prefix: "shared/"}},
		{"a caller placeholder below a prefix", `{bucket: media.example, prefix: "shared/{subject}/"}`, policy.UploadLocation{Bucket: "media.example", Prefix: "shared/{subject}/"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			text := apply(t, uploadsConfig(t), edit{`{bucket: media.example, prefix: "uploads/{client}/widget/"}`, tt.uploads})
			c, err := config.Parse([]byte(text))
			if err != nil {
				t.Fatalf("got error %v, want the config to parse", err)
			}
			u := c.Clients[1].Uploads
			if diff := cmp.Diff(tt.want, policy.UploadLocation{Bucket: u.Bucket, Prefix: u.Prefix}); diff != "" {
				t.Errorf("uploads mismatch:\n%s", diff)
			}
			if _, err := c.Policy(); err != nil {
				t.Errorf("Policy: got %v, want none", err)
			}
		})
	}
}

func TestUploadsInvalid(t *testing.T) {
	const path = "clients[1].uploads"
	tests := []struct {
		name    string
		uploads string // replaces the uploader's whole uploads value
		edits   []edit // further edits of the config
		want    []string
		msg     string
	}{
		{name: "bucket missing", uploads: `{prefix: "shared/"}`, want: []string{path + ".bucket"}, msg: "is required"},
		{name: "bucket invalid", uploads: `{bucket: Media_Example, prefix: "shared/"}`, want: []string{path + ".bucket"}},
		{name: "prefix missing", uploads: `{bucket: media.example}`, want: []string{path + ".prefix"}, msg: `must end in "/"`},
		{name: "prefix without slash", uploads: `{bucket: media.example, prefix: "shared"}`, want: []string{path + ".prefix"}, msg: `must end in "/"`},
		{name: "prefix unknown placeholder", uploads: `{bucket: media.example, prefix: "shared/{nobody}/"}`, want: []string{path + ".prefix"}, msg: "{nobody}"},
		{name: "prefix unclosed brace", uploads: `{bucket: media.example, prefix: "shared/{subject/"}`, want: []string{path + ".prefix"}, msg: "unclosed"},
		{name: "prefix with a dot segment", uploads: `{bucket: media.example, prefix: "shared/../"}`, want: []string{path + ".prefix"}, msg: "never start a valid key"},
		{name: "prefix starting with a slash", uploads: `{bucket: media.example, prefix: "/shared/"}`, want: []string{path + ".prefix"}, msg: "never start a valid key"},
		{name: "outside every grant prefix", uploads: `{bucket: media.example, prefix: "elsewhere/"}`, want: []string{path}, msg: "not inside any of the client's PUT grants"},
		{name: "prefix boundary", uploads: `{bucket: media.example, prefix: "shared-evil/"}`, want: []string{path}, msg: "not inside"},
		{name: "template boundary", uploads: `{bucket: media.example, prefix: "uploads/{subject}/"}`, want: []string{path}, msg: "not inside"},
		{name: "another bucket", uploads: `{bucket: demo, prefix: "shared/"}`, want: []string{path}, msg: "not inside"},
		{name: "grant without PUT", uploads: `{bucket: media.example, prefix: "shared/"}`, edits: []edit{{"methods: [PUT, GET, DELETE]", "methods: [GET, DELETE]"}}, want: []string{path}, msg: "not inside"},
		{name: "unknown key", uploads: `{bucket: media.example, prefix: "shared/", size: 3}`, want: []string{path + ".size"}, msg: "unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := apply(t, uploadsConfig(t), edit{`{bucket: media.example, prefix: "uploads/{client}/widget/"}`, tt.uploads})
			text = apply(t, text, tt.edits...)
			c, err := config.Parse([]byte(text))
			if err == nil {
				t.Fatalf("got config %+v, want problems at %q", c, tt.want)
			}
			paths, problems := problemPaths(t, err)
			if diff := cmp.Diff(tt.want, paths); diff != "" {
				t.Fatalf("problem paths mismatch:\n%s\nproblems: %q", diff, problems)
			}
			if !strings.Contains(problems[0], tt.msg) {
				t.Errorf("got problem %q, want it to contain %q", problems[0], tt.msg)
			}
		})
	}
}
