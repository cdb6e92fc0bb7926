package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// explainConfigYAML gives alice (clients[1]) a grant per stage a request can fail at.
const explainConfigYAML = `listen: 127.0.0.1:0
s3: {region: us-east-1}
clients:
  - name: bob
    token_sha256: "1111111111111111111111111111111111111111111111111111111111111111"
    grants:
      - {bucket: media, prefixes: [""], methods: [GET], max_ttl: 7d}
  - name: alice
    token_sha256: "2222222222222222222222222222222222222222222222222222222222222222"
    grants:
      - {bucket: media, prefixes: ["uploads/{client}/"], methods: [PUT], max_ttl: 1h, content_types: ["image/*"], max_content_length: 1000}
      - {bucket: media, prefixes: ["public/"], methods: [GET, HEAD], max_ttl: 24h}
`

func writeExplainConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "presignd.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExplainCommandAllows(t *testing.T) {
	cfg := writeExplainConfig(t, explainConfigYAML)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "download",
			args: []string{"explain", "--config", cfg, "--client", "alice", "s3://media/public/css/site.css", "--expires-in", "600"},
			want: "allowed:    GET s3://media/public/css/site.css for client alice\n" +
				"expires_in: 600s (requested 600s)\n" +
				"grant:      clients[1].grants[1] (bucket media, prefix \"public/\", methods GET, HEAD, max_ttl 86400s)\n",
		},
		{
			name: "capped by the policy, target first",
			args: []string{"explain", "s3://media/public/x", "--config", cfg, "--client", "alice", "--http-method", "head", "--expires-in", "100000"},
			want: "allowed:    HEAD s3://media/public/x for client alice\n" +
				"expires_in: 86400s (requested 100000s)\n" +
				"capped_by:  policy\n" +
				"grant:      clients[1].grants[1] (bucket media, prefix \"public/\", methods GET, HEAD, max_ttl 86400s)\n",
		},
		{
			name: "upload within the rules",
			args: []string{"explain", "--config", cfg, "--client", "alice", "--http-method", "PUT", "--content-type", "image/png", "--content-length", "1000", "s3://media/uploads/alice/a b+c.png"},
			want: "allowed:    PUT s3://media/uploads/alice/a b+c.png for client alice\n" +
				"expires_in: 3600s (requested 3600s)\n" +
				"grant:      clients[1].grants[0] (bucket media, prefix \"uploads/alice/\", methods PUT, max_ttl 3600s)\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCommand(t, nil, "", tt.args...)
			if code != 0 || stdout != tt.want || stderr != "" {
				t.Errorf("got exit %d, stdout:\n%s\nstderr: %q\nwant exit 0, stdout:\n%s", code, stdout, stderr, tt.want)
			}
		})
	}
}

func TestExplainCommandDenies(t *testing.T) {
	cfg := writeExplainConfig(t, explainConfigYAML)
	tests := []struct {
		name   string
		args   []string
		reason string
		detail string
	}{
		{"bucket_not_allowed", []string{"s3://archive/x"}, "bucket_not_allowed", `no grant allows bucket "archive"`},
		{"prefix_not_allowed", []string{"s3://media/uploads/bob/x"}, "prefix_not_allowed", `no grant on bucket "media" covers this key`},
		{"method_not_allowed", []string{"--http-method", "DELETE", "s3://media/public/x"}, "method_not_allowed", "method DELETE is not allowed for this key"},
		{"content_type_required", []string{"--http-method", "PUT", "--content-length", "10", "s3://media/uploads/alice/a"}, "content_type_required", "this grant requires content_type"},
		{"content_type_not_allowed", []string{"--http-method", "PUT", "--content-type", "text/html", "--content-length", "10", "s3://media/uploads/alice/a"}, "content_type_not_allowed", `content type "text/html" is not allowed`},
		{"content_length_required", []string{"--http-method", "PUT", "--content-type", "image/png", "s3://media/uploads/alice/a"}, "content_length_required", "this grant requires content_length"},
		{"content_length_too_large", []string{"--http-method", "PUT", "--content-type", "image/png", "--content-length", "1001", "s3://media/uploads/alice/a"}, "content_length_too_large", "content length 1001 is above the limit of 1000 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"explain", "--config", cfg, "--client", "alice"}, tt.args...)
			code, stdout, stderr := runCommand(t, nil, "", args...)
			target := tt.args[len(tt.args)-1]
			method := "GET"
			for i, a := range tt.args {
				if a == "--http-method" {
					method = tt.args[i+1]
				}
			}
			want := "denied:     " + method + " " + target + " for client alice\n" +
				"reason:     " + tt.reason + "\n" +
				"detail:     " + tt.detail + "\n"
			if code != 1 || stdout != want || stderr != "" {
				t.Errorf("got exit %d, stdout:\n%s\nstderr: %q\nwant exit 1, stdout:\n%s", code, stdout, stderr, want)
			}
		})
	}

	t.Run("strict_ttl", func(t *testing.T) {
		code, stdout, _ := runCommand(t, nil, "", "explain", "--config", cfg, "--client", "alice", "--strict-ttl", "--expires-in", "90000", "s3://media/public/x")
		want := "denied:     GET s3://media/public/x for client alice\n" +
			"reason:     ttl_not_satisfiable\n" +
			"detail:     strict_ttl is set and the lifetime would be capped by policy to 86400 seconds\n" +
			"grant:      clients[1].grants[1] (bucket media, prefix \"public/\", methods GET, HEAD, max_ttl 86400s)\n"
		if code != 1 || stdout != want {
			t.Errorf("got exit %d, stdout:\n%s\nwant exit 1, stdout:\n%s", code, stdout, want)
		}
	})
}

func TestExplainCommandJSON(t *testing.T) {
	cfg := writeExplainConfig(t, explainConfigYAML)
	type answer struct {
		Allowed bool   `json:"allowed"`
		Client  string `json:"client"`
		Grant   *struct {
			Index   int      `json:"index"`
			Bucket  string   `json:"bucket"`
			Prefix  string   `json:"prefix"`
			Methods []string `json:"methods"`
			MaxTTL  int64    `json:"max_ttl"`
		} `json:"grant"`
		ExpiresIn int64            `json:"expires_in"`
		CappedBy  string           `json:"capped_by"`
		Limits    map[string]int64 `json:"limits"`
		Code      string           `json:"code"`
		Reason    string           `json:"reason"`
		Detail    string           `json:"detail"`
	}
	decode := func(t *testing.T, stdout string) answer {
		t.Helper()
		dec := json.NewDecoder(strings.NewReader(stdout))
		dec.DisallowUnknownFields()
		var a answer
		if err := dec.Decode(&a); err != nil {
			t.Fatalf("stdout is not the explanation as JSON: %v:\n%s", err, stdout)
		}
		return a
	}

	code, stdout, _ := runCommand(t, nil, "", "explain", "--json", "--config", cfg, "--client", "alice", "--expires-in", "100000", "s3://media/public/x")
	a := decode(t, stdout)
	if code != 0 || !a.Allowed || a.Client != "alice" || a.Grant == nil || a.Grant.Index != 1 || a.Grant.Prefix != "public/" ||
		a.ExpiresIn != 86400 || a.CappedBy != "policy" || a.Limits["policy"] != 86400 || a.Limits["s3_max"] != 604800 {
		t.Errorf("allowed: got exit %d, %+v", code, a)
	}
	if _, ok := a.Limits["credentials"]; ok {
		t.Errorf("got a credentials limit %v, want none: explain reads no credentials", a.Limits)
	}

	code, stdout, _ = runCommand(t, nil, "", "explain", "--json", "--config", cfg, "--client", "alice", "s3://media/private/x")
	a = decode(t, stdout)
	if code != 1 || a.Allowed || a.Code != "forbidden" || a.Reason != "prefix_not_allowed" || a.Detail == "" || a.Grant != nil {
		t.Errorf("denied: got exit %d, %+v", code, a)
	}
}

func TestExplainCommandBadInput(t *testing.T) {
	cfg := writeExplainConfig(t, explainConfigYAML)
	broken := writeExplainConfig(t, "listen: 127.0.0.1:0\ns3: {region: us-east-1}\nclients: []\nlisten_typo: x\n")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		// want is a part of the one sentence on stderr.
		want string
	}{
		{name: "unknown flag", args: []string{"--verbose", "s3://media/x"}, code: 2},
		{name: "no target", args: []string{"--client", "alice"}, code: 1, want: "give exactly one s3://BUCKET/KEY"},
		{name: "two targets", args: []string{"--client", "alice", "s3://media/a", "s3://media/b"}, code: 1, want: "give exactly one s3://BUCKET/KEY"},
		{name: "not an s3 URL", args: []string{"--client", "alice", "media/public/x"}, code: 1, want: `"media/public/x" is not of the form s3://BUCKET/KEY`},
		{name: "no key", args: []string{"--client", "alice", "s3://media/"}, code: 1, want: "is not of the form s3://BUCKET/KEY"},
		{name: "no client", args: []string{"s3://media/public/x"}, code: 1, want: "no client given; pass --client NAME"},
		{name: "unknown client", args: []string{"--client", "carol", "s3://media/public/x"}, code: 1, want: `has no client named "carol"`},
		{name: "bad bucket", args: []string{"--client", "alice", "s3://Media/public/x"}, code: 1, want: `bucket "Media" may contain only lowercase letters`},
		{name: "dot segment", args: []string{"--client", "alice", "s3://media/public/../uploads/bob/x"}, code: 1, want: `key must not contain a ".." segment`},
		{name: "bad method", args: []string{"--client", "alice", "--http-method", "POST", "s3://media/public/x"}, code: 1, want: `method "POST" is not one of GET, PUT, HEAD, DELETE`},
		{name: "zero lifetime", args: []string{"--client", "alice", "--expires-in", "0", "s3://media/public/x"}, code: 1, want: "--expires-in must be at least 1 second"},
		{name: "content type on a download", args: []string{"--client", "alice", "--content-type", "image/png", "s3://media/public/x"}, code: 1, want: "--content-type applies only to PUT"},
		{name: "zero length", args: []string{"--client", "alice", "--http-method", "PUT", "--content-length", "0", "s3://media/uploads/alice/x"}, code: 1, want: "--content-length must be between 1 byte and 5 TiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"explain", "--config", cfg}, tt.args...)
			code, stdout, stderr := runCommand(t, tt.env, "", args...)
			if code != tt.code || stdout != "" {
				t.Fatalf("got exit %d, stdout %q, stderr %q; want exit %d and nothing on stdout", code, stdout, stderr, tt.code)
			}
			if tt.code == 2 {
				return // flag has printed the usage
			}
			checkOneSentence(t, stderr, tt.want)
		})
	}

	t.Run("config from the environment", func(t *testing.T) {
		code, stdout, stderr := runCommand(t, map[string]string{"PRESIGND_CONFIG": cfg}, "", "explain", "--client", "alice", "s3://media/public/x")
		if code != 0 || !strings.HasPrefix(stdout, "allowed:") {
			t.Errorf("got exit %d, stdout %q, stderr %q; want it allowed", code, stdout, stderr)
		}
	})
	t.Run("no config", func(t *testing.T) {
		code, _, stderr := runCommand(t, nil, "", "explain", "--client", "alice", "s3://media/public/x")
		if code != 1 {
			t.Errorf("got exit %d, want 1", code)
		}
		checkOneSentence(t, stderr, "no config file given; pass --config FILE")
	})
	t.Run("invalid config", func(t *testing.T) {
		code, stdout, stderr := runCommand(t, nil, "", "explain", "--config", broken, "--client", "alice", "s3://media/public/x")
		if code != 1 || stdout != "" || !strings.Contains(stderr, "listen_typo: unknown key") || !strings.Contains(stderr, "clients: at least one client is required") {
			t.Errorf("got exit %d, stdout %q, stderr %q; want exit 1 and both problems", code, stdout, stderr)
		}
	})
}

// checkOneSentence fails unless stderr is one line, "presignd explain: …." holding want.
func checkOneSentence(t *testing.T, stderr, want string) {
	t.Helper()
	line := strings.TrimSuffix(stderr, "\n")
	if strings.Contains(line, "\n") || !strings.HasPrefix(line, "presignd explain: ") || !strings.HasSuffix(line, ".") || !strings.Contains(line, want) {
		t.Errorf("got stderr %q, want one sentence \"presignd explain: ….\" holding %q", stderr, want)
	}
}

// TestExplainCommandCallerPlaceholders: --subject and --claim fill the caller
// placeholders, and the grant line shows the prefix expanded for that caller.
func TestExplainCommandCallerPlaceholders(t *testing.T) {
	cfg := writeExplainConfig(t, `listen: 127.0.0.1:0
s3: {region: us-east-1}
identity:
  issuers:
    - {name: web, issuer: "https://idp.example.com", audiences: [presignd]}
clients:
  - name: web-users
    match: [{issuer: web}]
    grants:
      - {bucket: media, prefixes: ["uploads/{subject}/", "teams/{claims.team}/"], methods: [GET], max_ttl: 1h}
`)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"subject", []string{"--subject", "alice", "s3://media/uploads/alice/a.txt"}, 0,
			"grant:      clients[0].grants[0] (bucket media, prefix \"uploads/alice/\""},
		{"claim", []string{"--subject", "alice", "--claim", "team=red", "s3://media/teams/red/plan.txt"}, 0,
			"prefix \"teams/red/\""},
		{"another subject's prefix", []string{"--subject", "alice", "--claim", "team=red", "s3://media/uploads/bob/a.txt"}, 1,
			"reason:     prefix_not_allowed"},
		{"no subject", []string{"s3://media/uploads/alice/a.txt"}, 1,
			"reason:     identity_not_usable"},
		{"a subject that is not one segment", []string{"--subject", "../bob", "--claim", "team=red", "s3://media/uploads/bob/a.txt"}, 1,
			"reason:     identity_not_usable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"explain", "--config", cfg, "--client", "web-users"}, tc.args...)
			code, stdout, stderr := runCommand(t, nil, "", args...)
			if code != tc.code || !strings.Contains(stdout, tc.want) {
				t.Errorf("got exit %d, stdout:\n%s\nstderr: %q\nwant exit %d and %q", code, stdout, stderr, tc.code, tc.want)
			}
		})
	}
	code, _, stderr := runCommand(t, nil, "", "explain", "--config", cfg, "--client", "web-users", "--claim", "team", "s3://media/a")
	if code != 2 || !strings.Contains(stderr, `"team" is not NAME=VALUE`) {
		t.Errorf("--claim without a value: got exit %d, stderr %q", code, stderr)
	}
}
