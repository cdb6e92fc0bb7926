package testenv_test

import (
	"os"
	"strings"
	"testing"

	"github.com/presignd/presignd/internal/testenv"
)

func TestScrubAWS(t *testing.T) {
	t.Setenv("AWS_USE_FIPS_ENDPOINT", "true")
	t.Setenv("AWS_PROFILE", "prod")
	t.Setenv("AWS_CONFIG_FILE", "/home/someone/.aws/config")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
	testenv.ScrubAWS()
	want := map[string]string{
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	}
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "AWS_") {
			continue
		}
		if w, ok := want[name]; !ok || value != w {
			t.Errorf("after ScrubAWS: %s=%q, want it %s", name, value, describe(w, ok))
		}
		delete(want, name)
	}
	for name, value := range want {
		t.Errorf("after ScrubAWS: %s is unset, want %q", name, value)
	}
}

func describe(value string, set bool) string {
	if !set {
		return "unset"
	}
	return "set to " + value
}

func TestClip(t *testing.T) {
	long := strings.Repeat("a", 1<<10) + "TAIL"
	for _, c := range []struct {
		name, got, want string
	}{
		{"short string", testenv.Clip("body"), "body"},
		{"short bytes", testenv.Clip([]byte("body")), "body"},
		{"long", testenv.Clip([]byte(long)), strings.Repeat("a", 1<<10) + "…"},
		{"tail of a short log", testenv.ClipTail("log"), "log"},
		{"tail of a long log", testenv.ClipTail("HEAD" + strings.Repeat("b", 8<<10)), "…" + strings.Repeat("b", 8<<10)},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestRedactSignatures(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{
			"https://h/b/k?X-Amz-Credential=AKID%2F20261122&X-Amz-Signature=0123abcd&x-id=GetObject",
			"https://h/b/k?X-Amz-Credential=AKID%2F20261122&X-Amz-Signature=…&x-id=GetObject",
		},
		{
			`fetch "http://h/k?X-Amz-Signature=ffff" failed; again http://h/j?X-Amz-Signature=not-hex`,
			`fetch "http://h/k?X-Amz-Signature=…" failed; again http://h/j?X-Amz-Signature=…`,
		},
		{"no URL here", "no URL here"},
	} {
		if got := testenv.RedactSignatures(c.in); got != c.want {
			t.Errorf("RedactSignatures(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
