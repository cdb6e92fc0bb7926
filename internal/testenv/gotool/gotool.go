// Package gotool finds, or builds once, the Go programs the tests run for real
// (versitygw, oauth2-proxy). Each is pinned by a nested module of this repository, so
// none of them is ever linked into presignd:
//
//	var proxy = gotool.Program{Name: "oauth2-proxy-v7.15.6", Env: "PRESIGND_OAUTH2_PROXY",
//		ModuleDir: "test/tools/oauth2-proxy", Package: "github.com/oauth2-proxy/oauth2-proxy/v7"}
//	bin := proxy.Path(t)
//
// This package is test support: only tests may import it.
package gotool

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const rootModule = "github.com/presignd/presignd"

// Program is a Go program the tests run, pinned by a nested module.
type Program struct {
	// Name is the file name of the build in the cache, version included
	// (versitygw-v1.8.0), the same name the Makefile builds into .cache/.
	Name string
	// Env names a variable that, when set, is the path of a built binary to use.
	Env string
	// ModuleDir is the directory of the nested module, from the repository's root.
	ModuleDir string
	// Package is the main package to build, as go build names it.
	Package string
	// LDFlags are passed to go build's -ldflags; may be empty.
	LDFlags string
}

// Path returns the path of the program: $Env when set, else the user cache, where it
// is built from ModuleDir when missing. Any failure is fatal: a test that needs the
// program never runs without it.
func (p Program) Path(t testing.TB) string {
	t.Helper()
	if path := os.Getenv(p.Env); path != "" {
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("%s=%s: %v", p.Env, path, err)
		}
		return path
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("no user cache directory to keep %s in (set %s): %v", p.Name, p.Env, err)
	}
	path := filepath.Join(cache, "presignd-tools", p.Name)
	buildMu.Lock()
	defer buildMu.Unlock()
	if _, err := os.Stat(path); err == nil {
		return path
	}
	t.Logf("building %s into %s (set %s, or run make test-deps, to skip this)", p.Name, path, p.Env)
	if err := p.build(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// buildMu serialises builds within one test binary; a lock file serialises them
// across test binaries.
var buildMu sync.Mutex

// build compiles the program into path. It writes a temporary file beside path and
// renames it into place, so no one ever runs half a binary.
func (p Program) build(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(path); err == nil {
		return nil // another process built it while we waited
	}
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+p.Name+"-build-*")
	if err != nil {
		return err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	args := []string{"build", "-o", tmp.Name()}
	if p.LDFlags != "" {
		args = append(args, "-ldflags", p.LDFlags)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, p.Package)...)
	cmd.Dir = filepath.Join(root, p.ModuleDir)
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s in %s: %v\n%s", p.Package, cmd.Dir, err, out)
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// RepoRoot walks up from the working directory to the directory whose go.mod
// declares the presignd module.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if modulePath(filepath.Join(dir, "go.mod")) == rootModule {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of module %s above the working directory", rootModule)
		}
		dir = parent
	}
}

func modulePath(gomod string) string {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return ""
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
