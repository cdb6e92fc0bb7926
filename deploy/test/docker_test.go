package deploytest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Cmd  string // upper case: FROM, RUN, ...
	Args string
}

func dockerfile(t *testing.T) []instruction {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		if s := cur.String(); s != "" {
			cmd, args, _ := strings.Cut(s, " ")
			out = append(out, instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)})
		}
		cur.Reset()
	}
	return out
}

// dockerfileEntrypoint is the final stage's exec-form ENTRYPOINT.
func dockerfileEntrypoint(t *testing.T) []string {
	t.Helper()
	var ep []string
	for _, in := range dockerfile(t) {
		switch in.Cmd {
		case "FROM":
			ep = nil
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(in.Args), &ep); err != nil {
				t.Fatalf("ENTRYPOINT %s is not in exec form (a JSON array): %v", in.Args, err)
			}
		}
	}
	if len(ep) < 2 {
		t.Fatalf("the final stage's ENTRYPOINT is %q, want presignd serve --config FILE", ep)
	}
	return ep
}

// TestDockerfile checks the image recipe: a static, trimmed build stamped with the
// version and revision, on distroless as a non-root user, with an exec-form
// entrypoint reading the mounted config.
func TestDockerfile(t *testing.T) {
	ins := dockerfile(t)
	var froms []string
	var buildRun string
	var args []string
	var final []instruction
	for _, in := range ins {
		switch in.Cmd {
		case "FROM":
			froms = append(froms, in.Args)
			final = nil
		case "ARG":
			name, _, _ := strings.Cut(in.Args, "=")
			args = append(args, name)
		case "RUN":
			if strings.Contains(in.Args, "go build") {
				buildRun = in.Args
			}
		}
		final = append(final, in)
	}
	if len(froms) < 2 {
		t.Fatalf("FROM %v: want a multi-stage build", froms)
	}
	if got := froms[len(froms)-1]; got != "gcr.io/distroless/static-debian12:nonroot" {
		t.Errorf("final stage FROM %s, want gcr.io/distroless/static-debian12:nonroot", got)
	}
	for _, want := range []string{"CGO_ENABLED=0", "go build", "-trimpath",
		"-X main.version=${VERSION}", "-X main.revision=${REVISION}", "./cmd/presignd"} {
		if !strings.Contains(buildRun, want) {
			t.Errorf("the build step %q lacks %q", buildRun, want)
		}
	}
	for _, a := range []string{"VERSION", "REVISION"} {
		if !slices.Contains(args, a) {
			t.Errorf("no ARG %s: docker build --build-arg %s=... would be ignored", a, a)
		}
	}

	var user string
	var copied bool
	for _, in := range final {
		switch in.Cmd {
		case "USER":
			user = in.Args
		case "COPY":
			copied = copied || strings.HasPrefix(in.Args, "--from=")
		case "CMD":
			t.Errorf("the final stage has CMD %s: its arguments would follow serve --config", in.Args)
		}
	}
	if !copied {
		t.Error("the final stage copies nothing from the build stage")
	}
	// A numeric UID lets the kubelet verify runAsNonRoot without a passwd file.
	if uid, _, _ := strings.Cut(user, ":"); uid != "65532" {
		t.Errorf("USER %q, want 65532 (distroless nonroot, numeric)", user)
	}
	ep := dockerfileEntrypoint(t)
	want := []string{"/usr/local/bin/presignd", "serve", "--config", "/etc/presignd/config.yaml"}
	if !slices.Equal(ep, want) {
		t.Errorf("ENTRYPOINT %q, want %q", ep, want)
	}
}

// TestVersionLdflags checks that the -X flags the Dockerfile passes reach the
// binary: the test binary is built with the same flags.
func TestVersionLdflags(t *testing.T) {
	bin := presigndBinary(t)
	cmd := exec.Command(bin, "version")
	cmd.Env = cleanEnv("AWS_EC2_METADATA_DISABLED=true")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("presignd version: %v", err)
	}
	for _, want := range []string{testVersion, testRevision} {
		if !strings.Contains(string(out), want) {
			t.Errorf("presignd version printed %q, want it to contain %q", out, want)
		}
	}
}

// TestDockerignore checks that the build context keeps every file go build needs
// and leaves out the rest.
func TestDockerignore(t *testing.T) {
	root := repoRoot(t)
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	excluded := func(path string) bool {
		ex, err := pm.MatchesOrParentMatches(path)
		if err != nil {
			t.Fatal(err)
		}
		return ex
	}

	// What go build ./cmd/presignd reads from the repository, as the image builds it.
	cmd := exec.Command("go", "list", "-deps",
		"-f", `{{if .Module}}{{if eq .Module.Path "github.com/presignd/presignd"}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}
{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}
{{end}}{{end}}{{end}}`,
		"./cmd/presignd")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	needed := []string{"go.mod", "go.sum"}
	for _, p := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, p)
		if err != nil {
			t.Fatal(err)
		}
		needed = append(needed, filepath.ToSlash(rel))
	}
	if len(needed) < 10 {
		t.Fatalf("go list found only %v", needed)
	}
	for _, p := range needed {
		if excluded(p) {
			t.Errorf(".dockerignore leaves out %s, which go build needs", p)
		}
	}
	for _, p := range []string{".git/config", "deploy/base/deployment.yaml", "deploy/test/go.mod",
		"bin/presignd", "internal/api/server_test.go", ".cache/x", "Dockerfile", "README.md"} {
		if !excluded(p) {
			t.Errorf(".dockerignore lets %s into the build context", p)
		}
	}
}
