package origin_test

import (
	"testing"

	"github.com/presignd/presignd/internal/origin"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, origin string
		want            bool
	}{
		{"https://app.example.com", "https://app.example.com", true},
		{"https://app.example.com/", "https://app.example.com", true},
		{"https://app.example.com", "https://APP.example.com", true},
		{"https://app.example.com", "http://app.example.com", false},
		{"https://app.example.com", "https://app.example.com:8443", false},
		{"https://app.example.com", "https://app.example.com.evil.test", false},
		{"https://app.example.com", "https://evil.test/https://app.example.com", false},
		{"https://app.example.com", "https://app.example.com/", false},
		{"https://app.example.com", "null", false},
		{"https://app.example.com:8443", "https://app.example.com:8443", true},
		{"http://localhost:*", "http://localhost:5173", true},
		{"http://localhost:*", "http://localhost", true},
		{"http://localhost:*", "https://localhost:5173", false},
		{"http://localhost:*", "http://localhost.evil.test:5173", false},
		{"http://localhost:*", "http://evil.test:5173", false},
		{"http://localhost:*", "http://localhost:5173@evil.test", false},
		{"http://localhost:*", "http://localhost:5173/x", false},
		{"http://localhost:*", "http://localhost:", false},
		{"http://localhost:*", "http://localhost:123456", false},
		{"http://localhost:*", "null", false},
		{"http://127.0.0.1:*", "http://127.0.0.1:8080", true},
		{"http://127.0.0.1:*", "http://127.0.0.2:8080", false},
		{"http://[::1]:*", "http://[::1]:8080", true},
		{"http://[::1]:*", "http://[::2]:8080", false},
		{"http://[::1]:*", "http://[::1]x:8080", false},
		{"*", "https://anything.example", true},
		{"*", "null", false},
		{"*", "", false},
		{"*", "file://", false},
		{"*", "chrome-extension://abc", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.origin, func(t *testing.T) {
			p, err := origin.Parse(tt.pattern)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.pattern, err)
			}
			if got := p.Match(tt.origin); got != tt.want {
				t.Errorf("%q.Match(%q): got %v, want %v", tt.pattern, tt.origin, got, tt.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	for _, s := range []string{"", "null", "app.example.com", "ftp://x", "https://", "https://a/b", "https://a?x", "https://u@a",
		"https://a:*x", "https://a:8080:*", "https://*.example.com", "https://a:99999999", "https://[::1", "https://[zz]"} {
		if _, err := origin.Parse(s); err == nil {
			t.Errorf("Parse(%q): got no error", s)
		}
	}
	if _, err := origin.ParseList([]string{"https://ok.example", "bad"}); err == nil {
		t.Error("ParseList with a bad pattern: got no error")
	}
}
