package policy_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsOnlyStandardLibrary keeps the policy pure. A module path always has a dot
// in its first element; a standard library package never does.
func TestImportsOnlyStandardLibrary(t *testing.T) {
	const self = "github.com/presignd/presignd/internal/policy"
	// go test puts $GOROOT/bin first on PATH, so this is the go command running the test.
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("cannot find the go command: %v", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", self).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v\n%s", self, err, stderr)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 2 {
		t.Fatalf("got deps %q, want the package and its standard library imports", deps)
	}
	for _, dep := range deps {
		if dep == self {
			continue
		}
		first, _, _ := strings.Cut(dep, "/")
		if strings.Contains(first, ".") {
			t.Errorf("policy depends on %s, want the standard library only", dep)
		}
	}
	for _, dep := range deps {
		if dep == "net/http" {
			t.Errorf("policy depends on net/http, want plain values in and out")
		}
	}
}
