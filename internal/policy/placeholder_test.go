package policy_test

import (
	"testing"

	"github.com/presignd/presignd/internal/policy"
)

func TestExpand(t *testing.T) {
	attrs := policy.Attributes{"client": "alice"}
	tests := []struct {
		name     string
		template string
		attrs    policy.Attributes
		want     string
		wantErr  bool
	}{
		{name: "no placeholder", template: "uploads/", want: "uploads/"},
		{name: "whole bucket", template: "", want: ""},
		{name: "client", template: "home/{client}/", want: "home/alice/"},
		{name: "client at the start", template: "{client}/", want: "alice/"},
		{name: "client twice", template: "{client}/shared-{client}/", want: "alice/shared-alice/"},
		{name: "client inside a segment", template: "home/user-{client}-files/", want: "home/user-alice-files/"},
		{name: "unknown placeholder", template: "home/{team}/", wantErr: true},
		{name: "case matters", template: "home/{Client}/", wantErr: true},
		{name: "empty placeholder", template: "home/{}/", wantErr: true},
		{name: "unclosed brace", template: "home/{client/", wantErr: true},
		{name: "unclosed brace after a placeholder", template: "{client}/{", wantErr: true},
		{name: "stray closing brace", template: "home/}/", wantErr: true},
		{name: "stray closing brace after a placeholder", template: "{client}}/", wantErr: true},
		{name: "nested braces", template: "{{client}}/", wantErr: true},
		{name: "value with a slash", template: "home/{client}/", attrs: policy.Attributes{"client": "alice/../bob"}, wantErr: true},
		{name: "empty value", template: "home/{client}/", attrs: policy.Attributes{"client": ""}, wantErr: true},
		{name: "no attributes", template: "home/{client}/", attrs: policy.Attributes{}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.attrs
			if a == nil {
				a = attrs
			}
			got, err := policy.Expand(tt.template, a)
			if tt.wantErr {
				if err == nil {
					t.Errorf("Expand(%q): got %q, want an error", tt.template, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Expand(%q): got error %v, want %q", tt.template, err, tt.want)
			}
			if got != tt.want {
				t.Errorf("Expand(%q): got %q, want %q", tt.template, got, tt.want)
			}
		})
	}
}
