package api_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependsOnNeitherConfigNorAWS: the API serves with what internal/app assembled
// from a config and never depends on the config file's shape; S3 reaches it only as
// package signer's AWS-free vocabulary, never as the SDK's types.
func TestDependsOnNeitherConfigNorAWS(t *testing.T) {
	const self = "github.com/presignd/presignd/internal/api"
	gobin, err := exec.LookPath("go") // go test puts the running go command first on PATH
	if err != nil {
		t.Fatalf("cannot find the go command: %v", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", self).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", self, err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 2 {
		t.Fatalf("got deps %q, want the package and its imports", deps)
	}
	for _, dep := range deps {
		if dep == "github.com/presignd/presignd/internal/config" || dep == "github.com/presignd/presignd/internal/app" {
			t.Errorf("internal/api depends on %s", dep)
		}
		if strings.HasPrefix(dep, "github.com/aws/") {
			t.Errorf("internal/api depends on the AWS package %s", dep)
		}
	}
}
