// Package deploytest checks the container image recipe, the Kubernetes manifests and
// the monitoring rules and dashboard of presignd, against the real tools: kustomize
// (in process), promtool, Prometheus and a running presignd.
package deploytest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The version and revision the test binary is stamped with, as the Dockerfile does.
const (
	testVersion  = "v0.0.0-deploytest"
	testRevision = "0123456789abcdef0123456789abcdef01234567"
)

// workDir holds what the tests share: the presignd binary.
var workDir string

func TestMain(m *testing.M) {
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	dir, err := os.MkdirTemp("", "presignd-deploytest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoRoot is the root of the presignd repository, two levels above this module.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatalf("reading the repository's go.mod: %v", err)
	}
	if !bytes.HasPrefix(mod, []byte("module github.com/presignd/presignd\n")) {
		t.Fatalf("%s is not the presignd repository", root)
	}
	return root
}

// deployPath is a path under deploy/.
func deployPath(t *testing.T, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{repoRoot(t), "deploy"}, elem...)...)
}

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
)

// presigndBinary builds cmd/presignd once per test run, with the version and
// revision set by -X as the Dockerfile sets them. The other build flags are left at
// their defaults so that the build cache of the repository's own tests is reused.
func presigndBinary(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	buildOnce.Do(func() {
		out := filepath.Join(workDir, "presignd")
		cmd := exec.Command("go", "build",
			"-ldflags", "-X main.version="+testVersion+" -X main.revision="+testRevision,
			"-o", out, "github.com/presignd/presignd/cmd/presignd")
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build of cmd/presignd failed: %v\n%s", err, b)
			return
		}
		buildBin = out
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// lookPath finds a tool the tests cannot do without, and fails the test when it is
// missing.
func lookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: it comes with Debian's prometheus package (apt-get install -y prometheus)", name)
	}
	return p
}

// cleanEnv is the environment without AWS or presignd settings, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "PRESIGND_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}
