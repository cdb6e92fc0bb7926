package policy

import (
	"strings"
	"testing"
)

// TestPlainKeyAgrees checks plainKey against validateKey on every key of up to five
// bytes over an alphabet of the bytes the rules single out, and on longer keys.
func TestPlainKeyAgrees(t *testing.T) {
	alphabet := []byte{'a', '.', '/', ' ', '~', 0x00, 0x1f, 0x7f, 0x80, 0xc3, 0xa9}
	var walk func(k []byte)
	checked := 0
	walk = func(k []byte) {
		checkPlainKey(t, string(k))
		checked++
		if len(k) == 5 {
			return
		}
		for _, c := range alphabet {
			walk(append(k, c))
		}
	}
	walk(nil)
	for _, k := range []string{
		strings.Repeat("a", MaxKeyBytes), strings.Repeat("a", MaxKeyBytes+1),
		"reports/2026/q3 summary.pdf", "a/b/../c", "a/./b", "a/b/.", "a/b/..", "a/b/", "a/.../b", ".a/a.",
	} {
		checkPlainKey(t, k)
	}
	if checked < 170000 {
		t.Fatalf("checked %d keys", checked)
	}
}

// checkPlainKey fails t if plainKey passes k and validateKey does not; and if plainKey
// refuses a printable ASCII key that validateKey passes (the fast path would then
// never be taken for it).
func checkPlainKey(t *testing.T, k string) {
	t.Helper()
	err := validateKey(k)
	plain := plainKey(k)
	if plain && err != nil {
		t.Fatalf("plainKey(%q) = true, validateKey: %v", k, err)
	}
	ascii := true
	for i := 0; i < len(k); i++ {
		ascii = ascii && k[i] >= 0x20 && k[i] <= 0x7e
	}
	if !plain && err == nil && ascii {
		t.Fatalf("plainKey(%q) = false for a printable ASCII key validateKey passes", k)
	}
}

// FuzzValidateKey holds ValidateKey to validateKey, the rules one by one.
func FuzzValidateKey(f *testing.F) {
	for _, k := range []string{"", "a", "/a", "a//b", "a/./b", "a/../b", "a/..", "a/.", "a/", "é/x", "a\x7fb", "a\u0085b", "\xff"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, k string) {
		got, want := ValidateKey(k), validateKey(k)
		if (got == nil) != (want == nil) || got != nil && got.Error() != want.Error() {
			t.Fatalf("ValidateKey(%q) = %v, validateKey: %v", k, got, want)
		}
	})
}
