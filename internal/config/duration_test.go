package config_test

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/presignd/presignd/internal/config"
)

func TestParseDuration(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"90m", 90 * time.Minute},
		{"24h", 24 * time.Hour},
		{"1h30m", 90 * time.Minute},
		{"1.5h", 90 * time.Minute},
		{"500ms", 500 * time.Millisecond},
		{"7d", 7 * day},
		{"1d", day},
		{"0d", 0},
		{"1d12h", day + 12*time.Hour},
		{"6d23h59m59s", 7*day - time.Second},
		{" 7d ", 7 * day},
		{"-1h", -time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := config.ParseDuration(tt.in)
			if err != nil {
				t.Fatalf("ParseDuration(%q): got error %v, want %v", tt.in, err, tt.want)
			}
			if got != tt.want {
				t.Errorf("ParseDuration(%q): got %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseDurationRejects(t *testing.T) {
	for _, in := range []string{
		"", " ", "7", "d", "7x", "7 d", "seven days", "1.5d", "-1d", "+1d", "1d-1h", "1d+1h",
		"1dfoo", "12h1d", "1d1d", "0x7d", "10001d", "1w",
	} {
		t.Run(in, func(t *testing.T) {
			got, err := config.ParseDuration(in)
			if err == nil {
				t.Fatalf("ParseDuration(%q): got %v, want an error", in, got)
			}
			// The message quotes what was written, not what was left after the days.
			if want := strings.TrimSpace(in); !strings.Contains(err.Error(), want) {
				t.Errorf("got error %q, want it to quote %q", err, want)
			}
		})
	}
}

func TestDurationYAML(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{7 * 24 * time.Hour, "7d"},
		{24 * time.Hour, "1d"},
		{36 * time.Hour, "36h0m0s"},
		{90 * time.Minute, "1h30m0s"},
		{0, "0s"},
	}
	for _, tt := range tests {
		d := config.Duration{D: tt.d}
		if got := d.String(); got != tt.want {
			t.Errorf("Duration{%v}.String(): got %q, want %q", tt.d, got, tt.want)
		}
		out, err := yaml.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back config.Duration
		if err := yaml.Unmarshal(out, &back); err != nil {
			t.Fatalf("unmarshal %q: %v", out, err)
		}
		if back.D != tt.d {
			t.Errorf("round trip of %v through %q: got %v", tt.d, out, back.D)
		}
	}
	var d config.Duration
	if err := yaml.Unmarshal([]byte("[1h]"), &d); err == nil {
		t.Error("unmarshal of a list: got no error, want one")
	}
	if err := yaml.Unmarshal([]byte("forever"), &d); err == nil {
		t.Error("unmarshal of forever: got no error, want one")
	}
}
