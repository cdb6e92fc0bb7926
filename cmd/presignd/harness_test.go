package main

// Test harness for the command: a hermetic AWS environment, presignd run in-process
// through run() on ephemeral ports, and a real presignd binary for signal tests.

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/testenv"
	"github.com/presignd/presignd/internal/testenv/s3server"
	"github.com/presignd/presignd/internal/testenv/syncbuf"
)

// Shared-config profiles TestMain writes. There is no default profile.
const (
	// profileStatic signs with versitygw's root key pair (the AWS example keys).
	profileStatic = "vgw"
	// profileShort runs a credential_process that hands out the same keys as
	// temporary credentials expiring shortCredentialsLifetime from when it runs.
	profileShort = "short"

	shortCredentialsLifetime = 10 * time.Minute
	shortSessionToken        = "test-session-token"
)

// credentialFailFile is the file that, while it exists, makes profile "short"'s
// credential_process fail (exit 1, message on stderr). Remove it to heal.
var credentialFailFile string

// testEnvDir holds the shared config, the credential script and built binaries.
var testEnvDir string

func TestMain(m *testing.M) {
	code, err := runTests(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "presignd tests:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runTests(m *testing.M) (int, error) {
	// Nothing from the machine's AWS setup may reach the tests, and nothing may call
	// the instance metadata service.
	testenv.ScrubAWS()

	dir, err := os.MkdirTemp("", "presignd-test-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	testEnvDir = dir
	credentialFailFile = filepath.Join(dir, "fail")

	script := filepath.Join(dir, "credentials.sh")
	if err := os.WriteFile(script, []byte(credentialScript(credentialFailFile)), 0o755); err != nil {
		return 0, err
	}
	awsConfig := filepath.Join(dir, "aws-config")
	if err := os.WriteFile(awsConfig, []byte(sharedConfig(script)), 0o600); err != nil {
		return 0, err
	}
	os.Setenv("AWS_CONFIG_FILE", awsConfig)
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", awsConfig)
	return m.Run(), nil
}

func sharedConfig(script string) string {
	return fmt.Sprintf(`[profile %s]
aws_access_key_id = %s
aws_secret_access_key = %s

[profile %s]
credential_process = %s
`, profileStatic, testenv.AccessKeyID, testenv.SecretAccessKey, profileShort, shellQuote(script))
}

// credentialScript prints temporary credentials in credential_process's format,
// expiring shortCredentialsLifetime after it runs, or fails while failFile exists.
func credentialScript(failFile string) string {
	minutes := int(shortCredentialsLifetime / time.Minute)
	return fmt.Sprintf(`#!/bin/sh
if [ -e %[1]s ]; then
	echo "test credential source is failing on purpose (%[1]s exists)" >&2
	exit 1
fi
exp=$(date -u -d '+%[2]d minutes' '+%%Y-%%m-%%dT%%H:%%M:%%SZ' 2>/dev/null || date -u -v+%[2]dM '+%%Y-%%m-%%dT%%H:%%M:%%SZ')
printf '{"Version":1,"AccessKeyId":"%[3]s","SecretAccessKey":"%[4]s","SessionToken":"%[5]s","Expiration":"%%s"}\n' "$exp"
`, shellQuote(failFile), minutes, testenv.AccessKeyID, testenv.SecretAccessKey, shortSessionToken)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// clientYAML is one entry of a config's clients list. grants is a YAML flow
// sequence, e.g. `[{bucket: media, prefixes: [""], methods: [GET], max_ttl: 1h}]`.
func clientYAML(name, token, grants string) string {
	return fmt.Sprintf("  - name: %s\n    token_sha256: %q\n    grants: %s\n", name, config.HashToken(token), grants)
}

// configOptions are what differs between the configs of the tests. The zero value
// is a presignd whose S3 endpoint is never contacted (issuing a URL makes no network
// call), signing with profileStatic, on ephemeral loopback ports, and stopping
// without a drain delay.
type configOptions struct {
	// S3 is the server to sign for; nil for an endpoint that is never contacted.
	S3 *s3server.Server
	// Profile is the shared-config profile to sign with; "" for profileStatic.
	Profile string
	// AdminListen is the admin listener's address; "" for 127.0.0.1:0.
	AdminListen string
	// Shutdown is the shutdown block; "" for no drain delay and a 5s grace.
	Shutdown string
	// Extra is more top-level YAML, such as a cors, limits or buckets block.
	Extra string
	// S3Endpoint replaces S3's endpoint, e.g. with a fault proxy in front of it.
	S3Endpoint string
	// S3CallTimeout is s3.call_timeout; "" leaves it to its default.
	S3CallTimeout string
}

// testConfig is a config with clients, the YAML of the clients list (e.g. from
// clientYAML), and the rest as o says.
func testConfig(clients string, o configOptions) string {
	region, endpoint := "eu-west-1", "http://127.0.0.1:9"
	if o.S3 != nil {
		region, endpoint = o.S3.Region, o.S3.Endpoint
	}
	endpoint = cmp.Or(o.S3Endpoint, endpoint)
	callTimeout := ""
	if o.S3CallTimeout != "" {
		callTimeout = "  call_timeout: " + o.S3CallTimeout + "\n"
	}
	extra := o.Extra
	if extra != "" && !strings.HasSuffix(extra, "\n") {
		extra += "\n"
	}
	return fmt.Sprintf(`listen: 127.0.0.1:0
admin_listen: %s
shutdown: %s
s3:
  region: %s
  endpoint: %s
  path_style: true
  profile: %q
%s%sclients:
%s`, cmp.Or(o.AdminListen, "127.0.0.1:0"), cmp.Or(o.Shutdown, "{drain_delay: 0s, grace: 5s}"),
		region, endpoint, cmp.Or(o.Profile, profileStatic), callTimeout, extra, clients)
}

// presignd is a presignd running in this process through run().
type presignd struct {
	// URL is the API's base URL, AdminURL the admin listener's.
	URL      string
	AdminURL string
	// ConfigPath is the config file it was started with ("" in dev mode).
	ConfigPath string

	stderr *syncbuf.Buffer
}

// Logs is everything presignd has written to stderr so far.
func (p *presignd) Logs() string { return p.stderr.String() }

// LogLines are the JSON log lines written so far, decoded.
func (p *presignd) LogLines(t testing.TB) []map[string]any {
	t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(p.Logs()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("presignd wrote a log line that is not JSON: %q", sc.Text())
		}
		lines = append(lines, m)
	}
	return lines
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// post sends body (JSON-encoded, unless it is a string or []byte) to the API with
// the bearer token ("" for none) and returns the answer.
func (p *presignd) post(t testing.TB, token, path string, body any) (status int, header http.Header, respBody []byte) {
	t.Helper()
	var data []byte
	switch b := body.(type) {
	case []byte:
		data = b
	case string:
		data = []byte(b)
	default:
		var err error
		if data, err = json.Marshal(body); err != nil {
			t.Fatalf("encoding the request body: %v", err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, p.URL+path, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	respBody, err = io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: reading the answer: %v", path, err)
	}
	return resp.StatusCode, resp.Header, respBody
}

// startPresignd runs `presignd serve --config FILE [extraArgs]` in this process with
// cfgYAML as the file and an empty environment, waits until it listens, and stops
// it when the test ends, expecting exit status 0.
func startPresignd(t testing.TB, cfgYAML string, extraArgs ...string) *presignd {
	t.Helper()
	path := writeConfig(t, cfgYAML)
	args := append([]string{"presignd", "serve", "--config", path}, extraArgs...)
	p := startRun(t, args, nil)
	p.ConfigPath = path
	return p
}

// devPresignd runs `presignd serve --dev --listen 127.0.0.1:0` with env as its whole
// environment (as seen through getenv).
func devPresignd(t testing.TB, env map[string]string) *presignd {
	t.Helper()
	return startRun(t, []string{"presignd", "serve", "--dev", "--listen", "127.0.0.1:0"}, env)
}

func startRun(t testing.TB, args []string, env map[string]string) *presignd {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncbuf.Buffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, args, mapEnv(env), strings.NewReader(""), io.Discard, stderr)
	}()

	p := &presignd{stderr: stderr}
	addr, admin, err := waitListening(stderr, done)
	if err != nil {
		cancel()
		t.Fatalf("presignd did not start: %v; its log:\n%s", err, stderr.String())
	}
	p.URL, p.AdminURL = "http://"+addr, "http://"+admin
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("presignd exited with status %d after its context was cancelled, want 0", code)
			}
		case <-time.After(60 * time.Second):
			t.Errorf("presignd did not stop within 60s of its context being cancelled")
		}
		if t.Failed() {
			t.Logf("presignd log:\n%s", stderr.String())
		}
	})
	return p
}

// waitListening reads the log until the "listening" line, for the real addresses.
func waitListening(stderr *syncbuf.Buffer, done <-chan int) (addr, admin string, err error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		sc := bufio.NewScanner(strings.NewReader(stderr.String()))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var line struct {
				Msg       string `json:"msg"`
				Addr      string `json:"addr"`
				AdminAddr string `json:"admin_addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				if line.Addr == "" || line.AdminAddr == "" {
					return "", "", fmt.Errorf("the listening line has no addr or admin_addr: %s", sc.Text())
				}
				return line.Addr, line.AdminAddr, nil
			}
		}
		select {
		case code := <-done:
			return "", "", fmt.Errorf("run returned %d before listening", code)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return "", "", fmt.Errorf("no listening log line within 30s")
		}
	}
}

// runCommand runs one presignd command through run() and returns its exit status
// and output. env is the whole environment run sees.
func runCommand(t testing.TB, env map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errOut syncbuf.Buffer
	code = run(ctx, append([]string{"presignd"}, args...), mapEnv(env), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func mapEnv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// writeConfig writes cfgYAML to a file of the test's own and returns its path.
func writeConfig(t testing.TB, cfgYAML string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "presignd.yaml")
	writeFile(t, path, cfgYAML)
	return path
}

var binary struct {
	once sync.Once
	path string
	err  error
}

// presigndBinary builds the presignd command once per test binary, with a version
// and revision set by -X as the Makefile and Dockerfile do, and returns the path of
// the executable, for tests that need a real process (signals, exit codes).
func presigndBinary(t testing.TB) string {
	t.Helper()
	binary.once.Do(func() {
		dir, err := os.MkdirTemp(testEnvDir, "bin-")
		if err != nil {
			binary.err = err
			return
		}
		path := filepath.Join(dir, "presignd")
		cmd := exec.Command("go", "build", "-ldflags", "-X main.version=v9.8.7-test -X main.revision=0123abcd", "-o", path, ".")
		cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		binary.path = path
	})
	if binary.err != nil {
		t.Fatalf("building presignd: %v", binary.err)
	}
	return binary.path
}

// process is presignd run as a real process, for signals and exit statuses.
type process struct {
	*presignd
	cmd *exec.Cmd
	// lines are the log lines as they come, decoded; waitFor reads them.
	lines chan map[string]any
	// exited is closed when the process has exited, with exitErr from Wait.
	exited  chan struct{}
	exitErr error
}

// startProcess runs `presignd serve --config FILE` from presigndBinary with cfgYAML
// as the file and this process's environment (TestMain's hermetic AWS setup), waits
// until it listens, and kills it when the test ends.
func startProcess(t testing.TB, cfgYAML string) *process {
	t.Helper()
	return startProcessEnv(t, cfgYAML)
}

// startProcessEnv is startProcess with more variables (NAME=value) in the process's
// environment.
func startProcessEnv(t testing.TB, cfgYAML string, env ...string) *process {
	t.Helper()
	path := writeConfig(t, cfgYAML)
	p := &process{
		presignd: &presignd{ConfigPath: path, stderr: &syncbuf.Buffer{}},
		lines:    make(chan map[string]any, 1024),
		exited:   make(chan struct{}),
	}
	p.cmd = exec.Command(presigndBinary(t), "serve", "--config", path)
	p.cmd.Env = append(os.Environ(), env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintf(p.stderr, "%s\n", sc.Bytes())
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				select {
				case p.lines <- m:
				default:
				}
			}
		}
		p.exitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("presignd log:\n%s", p.Logs())
		}
	})
	m := p.waitFor(t, "listening", 60*time.Second)
	p.URL, p.AdminURL = "http://"+m["addr"].(string), "http://"+m["admin_addr"].(string)
	return p
}

// stop sends SIGTERM and waits up to within for the process to exit, which must be
// with status 0. It returns how long the exit took.
func (p *process) stop(t testing.TB, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		if p.exitErr != nil {
			t.Errorf("after SIGTERM: %v, want exit status 0", p.exitErr)
		}
	case <-time.After(within):
		t.Fatalf("presignd did not exit within %s of SIGTERM", within)
	}
	return time.Since(start)
}

// waitFor returns the next log line whose msg is msg.
func (p *process) waitFor(t testing.TB, msg string, within time.Duration) map[string]any {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case m := <-p.lines:
			if m["msg"] == msg {
				return m
			}
		case <-p.exited:
			t.Fatalf("presignd exited (%v) before logging %q", p.exitErr, msg)
		case <-timeout:
			t.Fatalf("presignd did not log %q within %s", msg, within)
		}
	}
}
