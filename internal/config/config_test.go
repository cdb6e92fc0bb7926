package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/policy"
)

const (
	reportsHash  = "9977737324eb08124a53f52ef39ca0fa9382aa3e8576bb411e084020fb46bfdd" // reports-token
	uploaderHash = "f7c64ca0879611fc7271985c771ca6531abfc673a5eef0e8e9af39db052985c1" // uploader-token
)

// validConfig uses every key of the configuration. Each mutation below changes one
// thing in it; the text each one replaces occurs exactly once.
const validConfig = `
listen: 127.0.0.1:8080
admin_listen: 127.0.0.1:9090
s3:
  region: us-east-1
  endpoint: http://127.0.0.1:7070
  path_style: true
  profile: presignd
  public_endpoint: https://s3.example.com
  call_timeout: 8s
buckets:
  logs-eu: {region: eu-west-1}
  internal-media: {endpoint: "http://10.0.0.5:9000", public_endpoint: "https://media.example.com", path_style: true}
cors:
  allowed_origins: ["https://app.example.com", "http://localhost:5173"]
shutdown:
  drain_delay: 5s
  grace: 20s
limits:
  max_connections: 3000
  close_idle_above: 1500
  max_in_flight: 100
clients:
  - name: reports-backend
    token_sha256: "` + reportsHash + `"
    rate_limit: {rps: 50, burst: 100}
    grants:
      - bucket: demo
        prefixes: ["reports/"]
        methods: [GET, HEAD]
        max_ttl: 24h
  - name: uploader
    token_sha256: "` + uploaderHash + `"
    grants:
      - bucket: media.example
        prefixes: ["uploads/{client}/", "shared/"]
        methods: [PUT, GET, DELETE]
        max_ttl: 7d
        content_types: ["image/png", "image/*", "application/pdf"]
        max_content_length: 10485760
`

func TestValidConfig(t *testing.T) {
	c, err := config.Parse([]byte(validConfig))
	if err != nil {
		t.Fatalf("got error %v, want the valid config to parse", err)
	}
	yes := true
	maxLen := int64(10485760)
	want := &config.Config{
		Listen:      "127.0.0.1:8080",
		AdminListen: "127.0.0.1:9090",
		S3: config.S3{
			Region:         "us-east-1",
			Endpoint:       "http://127.0.0.1:7070",
			PathStyle:      true,
			Profile:        "presignd",
			PublicEndpoint: "https://s3.example.com",
			CallTimeout:    &config.Duration{D: 8 * time.Second},
		},
		Buckets: map[string]config.Bucket{
			"logs-eu":        {Region: "eu-west-1"},
			"internal-media": {Endpoint: "http://10.0.0.5:9000", PublicEndpoint: "https://media.example.com", PathStyle: &yes},
		},
		CORS:     config.CORS{AllowedOrigins: []string{"https://app.example.com", "http://localhost:5173"}},
		Shutdown: config.Shutdown{DrainDelay: &config.Duration{D: 5 * time.Second}, Grace: &config.Duration{D: 20 * time.Second}},
		Limits:   config.Limits{MaxConnections: ptr(3000), CloseIdleAbove: ptr(1500), MaxInFlight: ptr(100)},
		Clients: []config.Client{
			{
				Name:        "reports-backend",
				TokenSHA256: reportsHash,
				RateLimit:   &config.RateLimit{RPS: 50, Burst: 100},
				Grants: []config.Grant{{
					Bucket:   "demo",
					Prefixes: []string{"reports/"},
					Methods:  []string{"GET", "HEAD"},
					MaxTTL:   &config.Duration{D: 24 * time.Hour},
				}},
			},
			{
				Name:        "uploader",
				TokenSHA256: uploaderHash,
				Grants: []config.Grant{{
					Bucket:           "media.example",
					Prefixes:         []string{"uploads/{client}/", "shared/"},
					Methods:          []string{"PUT", "GET", "DELETE"},
					MaxTTL:           &config.Duration{D: 7 * 24 * time.Hour},
					ContentTypes:     []string{"image/png", "image/*", "application/pdf"},
					MaxContentLength: &maxLen,
				}},
			},
		},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("config mismatch:\n%s", diff)
	}
	if got := c.Warnings(); len(got) != 0 {
		t.Errorf("got warnings %q, want none", got)
	}
	if got, want := c.DrainDelay(), 5*time.Second; got != want {
		t.Errorf("DrainDelay: got %v, want %v", got, want)
	}
	if got, want := c.ShutdownGrace(), 20*time.Second; got != want {
		t.Errorf("ShutdownGrace: got %v, want %v", got, want)
	}
	if got, want := [3]int{c.MaxConnections(), c.CloseIdleAbove(), c.MaxInFlight()}, [3]int{3000, 1500, 100}; got != want {
		t.Errorf("limits: got %v, want %v", got, want)
	}
}

func ptr[T any](v T) *T { return &v }

// edit replaces old, which must occur exactly once, with new.
type edit struct{ old, new string }

func apply(t *testing.T, s string, edits ...edit) string {
	t.Helper()
	for _, e := range edits {
		if n := strings.Count(s, e.old); n != 1 {
			t.Fatalf("edit %q occurs %d times in the config, want exactly once", e.old, n)
		}
		s = strings.Replace(s, e.old, e.new, 1)
	}
	return s
}

// problemPaths is the path of every problem, in order.
func problemPaths(t *testing.T, err error) (paths []string, problems []string) {
	t.Helper()
	var probs *config.Problems
	if !errors.As(err, &probs) {
		t.Fatalf("got error %v (%T), want *config.Problems", err, err)
	}
	for _, p := range probs.List {
		path, _, _ := strings.Cut(p, ": ")
		paths = append(paths, path)
	}
	return paths, probs.List
}

func TestInvalidConfig(t *testing.T) {
	const (
		c0g0 = "clients[0].grants[0]"
		c1g0 = "clients[1].grants[0]"
	)
	tests := []struct {
		name  string
		edits []edit
		// want is the path of every problem reported, in order.
		want []string
		// msg must appear in the first problem.
		msg string
	}{
		// Listeners.
		{name: "listen missing", edits: []edit{{"listen: 127.0.0.1:8080\n", ""}}, want: []string{"listen"}, msg: "is required"},
		{name: "listen without port", edits: []edit{{"listen: 127.0.0.1:8080", "listen: 127.0.0.1"}}, want: []string{"listen"}, msg: "not host:port"},
		{name: "listen port out of range", edits: []edit{{"listen: 127.0.0.1:8080", "listen: 127.0.0.1:99999"}}, want: []string{"listen"}, msg: "no valid port"},
		{name: "admin_listen bad", edits: []edit{{"admin_listen: 127.0.0.1:9090", "admin_listen: localhost"}}, want: []string{"admin_listen"}},
		{name: "admin_listen same as listen", edits: []edit{{"admin_listen: 127.0.0.1:9090", "admin_listen: 127.0.0.1:8080"}}, want: []string{"admin_listen"}, msg: "must differ"},

		// s3.
		{name: "region missing", edits: []edit{{"  region: us-east-1\n", ""}}, want: []string{"s3.region"}, msg: "is required"},
		{name: "region bad", edits: []edit{{"region: us-east-1", "region: US East 1"}}, want: []string{"s3.region"}},
		{name: "endpoint scheme", edits: []edit{{"endpoint: http://127.0.0.1:7070", "endpoint: ftp://127.0.0.1:7070"}}, want: []string{"s3.endpoint"}},
		{name: "endpoint without scheme", edits: []edit{{"endpoint: http://127.0.0.1:7070", "endpoint: 127.0.0.1:7070"}}, want: []string{"s3.endpoint"}},
		{name: "endpoint without host", edits: []edit{{"endpoint: http://127.0.0.1:7070", "endpoint: http://:7070"}}, want: []string{"s3.endpoint"}},
		{name: "endpoint with credentials", edits: []edit{{"endpoint: http://127.0.0.1:7070", "endpoint: http://user:pw@127.0.0.1:7070"}}, want: []string{"s3.endpoint"}},
		{name: "endpoint with query", edits: []edit{{"endpoint: http://127.0.0.1:7070", "endpoint: http://127.0.0.1:7070/?x=1"}}, want: []string{"s3.endpoint"}},
		{name: "public endpoint bad", edits: []edit{{"public_endpoint: https://s3.example.com", "public_endpoint: s3.example.com"}}, want: []string{"s3.public_endpoint"}},
		{name: "path_style not a bool", edits: []edit{{"  path_style: true\n  profile", "  path_style: sometimes\n  profile"}}, want: []string{"s3.path_style"}, msg: "must be true or false"},
		{name: "s3 not a mapping", edits: []edit{{"s3:\n  region: us-east-1\n  endpoint: http://127.0.0.1:7070\n  path_style: true\n  profile: presignd\n  public_endpoint: https://s3.example.com\n  call_timeout: 8s\n", "s3: us-east-1\n"}}, want: []string{"s3"}, msg: "must be a mapping"},

		// buckets.
		{name: "bucket override name", edits: []edit{{"logs-eu:", "Logs_EU:"}}, want: []string{"buckets.Logs_EU"}},
		{name: "bucket override name is an IP address", edits: []edit{{"logs-eu:", "10.0.0.1:"}}, want: []string{"buckets.10.0.0.1"}, msg: "IP address"},
		{name: "bucket override region", edits: []edit{{"region: eu-west-1", "region: EU"}}, want: []string{"buckets.logs-eu.region"}},
		{name: "bucket override endpoint", edits: []edit{{`endpoint: "http://10.0.0.5:9000"`, `endpoint: "tcp://10.0.0.5:9000"`}}, want: []string{"buckets.internal-media.endpoint"}},
		{name: "bucket override public endpoint", edits: []edit{{`public_endpoint: "https://media.example.com"`, `public_endpoint: "https://"`}}, want: []string{"buckets.internal-media.public_endpoint"}},
		{name: "bucket override unknown key", edits: []edit{{"{region: eu-west-1}", "{regoin: eu-west-1}"}}, want: []string{"buckets.logs-eu.regoin"}, msg: "unknown key"},
		{name: "bucket override profile is not per bucket", edits: []edit{{"{region: eu-west-1}", "{region: eu-west-1, profile: x}"}}, want: []string{"buckets.logs-eu.profile"}, msg: "unknown key"},

		// cors.
		{name: "cors origin without scheme", edits: []edit{{`"https://app.example.com"`, `"app.example.com"`}}, want: []string{"cors.allowed_origins[0]"}},
		{name: "cors origin with a path", edits: []edit{{`"http://localhost:5173"`, `"http://localhost:5173/app"`}}, want: []string{"cors.allowed_origins[1]"}},
		{name: "cors unknown key", edits: []edit{{"  allowed_origins:", "  allowed_origin:"}}, want: []string{"cors.allowed_origin"}, msg: "unknown key"},

		// s3.call_timeout.
		{name: "s3 call timeout as long as the write timeout", edits: []edit{{"call_timeout: 8s", "call_timeout: 15s"}}, want: []string{"s3.call_timeout"}, msg: "between 100ms and 10s"},
		{name: "s3 call timeout just above the longest", edits: []edit{{"call_timeout: 8s", "call_timeout: 10001ms"}}, want: []string{"s3.call_timeout"}, msg: "504 problem"},
		{name: "s3 call timeout zero", edits: []edit{{"call_timeout: 8s", "call_timeout: 0s"}}, want: []string{"s3.call_timeout"}},
		{name: "s3 call timeout without a unit", edits: []edit{{"call_timeout: 8s", "call_timeout: 8"}}, want: []string{"s3.call_timeout"}},

		// shutdown.
		{name: "drain delay too long", edits: []edit{{"drain_delay: 5s", "drain_delay: 10m"}}, want: []string{"shutdown.drain_delay"}},
		{name: "drain delay not a duration", edits: []edit{{"drain_delay: 5s", "drain_delay: soon"}}, want: []string{"shutdown.drain_delay"}, msg: `"soon" is not a duration`},
		{name: "grace negative", edits: []edit{{"grace: 20s", "grace: -1s"}}, want: []string{"shutdown.grace"}},
		{name: "grace too long", edits: []edit{{"grace: 20s", "grace: 1d"}}, want: []string{"shutdown.grace"}},

		// limits.
		{name: "max_connections zero", edits: []edit{{"max_connections: 3000", "max_connections: 0"}}, want: []string{"limits.max_connections"}, msg: "not between 1 and 1048576"},
		{name: "max_connections too large", edits: []edit{{"max_connections: 3000", "max_connections: 2000000"}}, want: []string{"limits.max_connections"}},
		{name: "max_connections not a number", edits: []edit{{"max_connections: 3000", "max_connections: lots"}}, want: []string{"limits.max_connections"}, msg: "must be a whole number"},
		{name: "max_connections below the other limits", edits: []edit{{"max_connections: 3000", "max_connections: 1000"}}, want: []string{"limits.close_idle_above"}, msg: "above limits.max_connections (1000)"},
		{name: "close_idle_above negative", edits: []edit{{"close_idle_above: 1500", "close_idle_above: -1"}}, want: []string{"limits.close_idle_above"}, msg: "not between 0 and"},
		{name: "close_idle_above above max_connections", edits: []edit{{"close_idle_above: 1500", "close_idle_above: 3001"}}, want: []string{"limits.close_idle_above"}, msg: "never be closed"},
		{name: "max_in_flight zero", edits: []edit{{"max_in_flight: 100", "max_in_flight: 0"}}, want: []string{"limits.max_in_flight"}},
		{name: "max_in_flight above max_connections", edits: []edit{{"max_in_flight: 100", "max_in_flight: 3001"}}, want: []string{"limits.max_in_flight"}, msg: "one request at a time"},
		{name: "max_in_flight fractional", edits: []edit{{"max_in_flight: 100", "max_in_flight: 1.5"}}, want: []string{"limits.max_in_flight"}, msg: "must be a whole number"},
		{name: "limits unknown key", edits: []edit{{"  max_in_flight: 100", "  max_in_flight: 100\n  max_idle: 5"}}, want: []string{"limits.max_idle"}, msg: "unknown key"},
		{name: "limits not a mapping", edits: []edit{{"limits:\n  max_connections: 3000\n  close_idle_above: 1500\n  max_in_flight: 100\n", "limits: 3000\n"}}, want: []string{"limits"}, msg: "must be a mapping"},

		// Unknown and duplicate keys.
		{name: "unknown top-level key", edits: []edit{{"listen: 127.0.0.1:8080", "listen: 127.0.0.1:8080\nlisten_tls: true"}}, want: []string{"listen_tls"}, msg: "unknown key (line 3)"},
		{name: "misspelt top-level key", edits: []edit{{"admin_listen:", "admin-listen:"}}, want: []string{"admin-listen"}, msg: "unknown key"},
		{name: "unknown s3 key", edits: []edit{{"  profile: presignd", "  profile: presignd\n  secret_access_key: x"}}, want: []string{"s3.secret_access_key"}, msg: "unknown key"},
		{name: "unknown client key", edits: []edit{{"    rate_limit:", "    role: admin\n    rate_limit:"}}, want: []string{"clients[0].role"}, msg: "unknown key"},
		{name: "unknown rate limit key", edits: []edit{{"{rps: 50, burst: 100}", "{rps: 50, burst: 100, per: minute}"}}, want: []string{"clients[0].rate_limit.per"}, msg: "unknown key"},
		{name: "unknown grant key", edits: []edit{{"methods: [GET, HEAD]", "methods: [GET, HEAD]\n        methodz: [GET]"}}, want: []string{c0g0 + ".methodz"}, msg: "unknown key"},
		{name: "duplicate top-level key", edits: []edit{{"admin_listen: 127.0.0.1:9090", "admin_listen: 127.0.0.1:9090\nlisten: 127.0.0.1:8081"}}, want: []string{"listen"}, msg: "duplicate key (lines 2 and 4)"},
		{name: "duplicate grant key", edits: []edit{{"max_ttl: 24h", "max_ttl: 24h\n        max_ttl: 1h"}}, want: []string{c0g0 + ".max_ttl"}, msg: "duplicate key"},

		// clients.
		{name: "no clients", edits: []edit{{"clients:\n  - name: reports-backend", "clients: []\nold_clients:\n  - name: reports-backend"}}, want: []string{"old_clients", "clients"}},
		{name: "clients not a list", edits: []edit{{"clients:\n  - name: reports-backend", "clients: reports-backend\nold_clients:\n  - name: reports-backend"}}, want: []string{"clients", "old_clients"}, msg: "must be a list"},
		{name: "client name missing", edits: []edit{{"  - name: uploader\n    token", "  - token"}}, want: []string{"clients[1].name"}, msg: "is required"},
		{name: "client name uppercase", edits: []edit{{"name: uploader", "name: Uploader"}}, want: []string{"clients[1].name"}},
		{name: "client name with a slash", edits: []edit{{"name: uploader", "name: up/loader"}}, want: []string{"clients[1].name", c1g0 + ".prefixes[0]"}},
		{name: "duplicate client name", edits: []edit{{"name: uploader", "name: reports-backend"}}, want: []string{"clients[1].name"}, msg: "already the name of clients[0]"},
		{name: "token hash missing", edits: []edit{{`    token_sha256: "` + reportsHash + `"` + "\n", ""}}, want: []string{"clients[0].token_sha256"}, msg: "is required"},
		{name: "token hash too short", edits: []edit{{reportsHash, reportsHash[:63]}}, want: []string{"clients[0].token_sha256"}, msg: "64 lowercase hex"},
		{name: "token hash uppercase", edits: []edit{{reportsHash, strings.ToUpper(reportsHash)}}, want: []string{"clients[0].token_sha256"}},
		{name: "token hash not hex", edits: []edit{{reportsHash, "z" + reportsHash[1:]}}, want: []string{"clients[0].token_sha256"}},
		{name: "token in place of its hash", edits: []edit{{reportsHash, "reports-token"}}, want: []string{"clients[0].token_sha256"}},
		{name: "duplicate token hash", edits: []edit{{uploaderHash, reportsHash}}, want: []string{"clients[1].token_sha256"}, msg: "same as that of clients[0]"},
		{name: "rate limit rps zero", edits: []edit{{"rps: 50", "rps: 0"}}, want: []string{"clients[0].rate_limit.rps"}},
		{name: "rate limit rps negative", edits: []edit{{"rps: 50", "rps: -1"}}, want: []string{"clients[0].rate_limit.rps"}},
		{name: "rate limit rps not a number", edits: []edit{{"rps: 50", "rps: fast"}}, want: []string{"clients[0].rate_limit.rps"}, msg: "must be a number"},
		{name: "rate limit rps NaN", edits: []edit{{"rps: 50", "rps: .nan"}}, want: []string{"clients[0].rate_limit.rps"}},
		{name: "rate limit burst zero", edits: []edit{{"burst: 100", "burst: 0"}}, want: []string{"clients[0].rate_limit.burst"}},
		{name: "rate limit burst fractional", edits: []edit{{"burst: 100", "burst: 1.5"}}, want: []string{"clients[0].rate_limit.burst"}, msg: "must be a whole number"},
		{name: "no grants", edits: []edit{{"    grants:\n      - bucket: demo", "    grants: []\n    old_grants:\n      - bucket: demo"}}, want: []string{"clients[0].old_grants", "clients[0].grants"}},

		// grants.
		{name: "grant bucket missing", edits: []edit{{"      - bucket: demo\n        prefixes", "      - prefixes"}}, want: []string{c0g0 + ".bucket"}, msg: "is required"},
		{name: "grant bucket uppercase", edits: []edit{{"bucket: demo", "bucket: Demo"}}, want: []string{c0g0 + ".bucket"}},
		{name: "grant bucket too short", edits: []edit{{"bucket: demo", "bucket: de"}}, want: []string{c0g0 + ".bucket"}},
		{name: "grant bucket IP address", edits: []edit{{"bucket: demo", "bucket: 192.168.5.4"}}, want: []string{c0g0 + ".bucket"}},
		{name: "grant bucket reserved suffix", edits: []edit{{"bucket: media.example", "bucket: media--x-s3"}}, want: []string{c1g0 + ".bucket"}},
		{name: "prefix without trailing slash", edits: []edit{{`prefixes: ["reports/"]`, `prefixes: ["reports"]`}}, want: []string{c0g0 + ".prefixes[0]"}, msg: `must be "" (the whole bucket) or end in "/"`},
		{name: "prefix with leading slash", edits: []edit{{`prefixes: ["reports/"]`, `prefixes: ["/reports/"]`}}, want: []string{c0g0 + ".prefixes[0]"}, msg: "never match"},
		{name: "prefix with dot segment", edits: []edit{{`prefixes: ["reports/"]`, `prefixes: ["reports/../"]`}}, want: []string{c0g0 + ".prefixes[0]"}},
		{name: "prefix with double slash", edits: []edit{{`prefixes: ["reports/"]`, `prefixes: ["reports//"]`}}, want: []string{c0g0 + ".prefixes[0]"}},
		{name: "prefix with unknown placeholder", edits: []edit{{`"uploads/{client}/"`, `"uploads/{team}/"`}}, want: []string{c1g0 + ".prefixes[0]"}, msg: "{team}"},
		{name: "prefix with unclosed brace", edits: []edit{{`"uploads/{client}/"`, `"uploads/{client/"`}}, want: []string{c1g0 + ".prefixes[0]"}},
		{name: "prefix with stray brace", edits: []edit{{`"uploads/{client}/"`, `"uploads/client}/"`}}, want: []string{c1g0 + ".prefixes[0]"}},
		{name: "prefixes missing", edits: []edit{{`        prefixes: ["reports/"]` + "\n", ""}}, want: []string{c0g0 + ".prefixes"}, msg: "at least one prefix"},
		{name: "prefixes empty", edits: []edit{{`prefixes: ["reports/"]`, `prefixes: []`}}, want: []string{c0g0 + ".prefixes"}},
		{name: "prefixes not a list", edits: []edit{{`prefixes: ["reports/"]`, `prefixes: reports/`}}, want: []string{c0g0 + ".prefixes"}, msg: "must be a list"},
		{name: "methods missing", edits: []edit{{"        methods: [GET, HEAD]\n", ""}}, want: []string{c0g0 + ".methods"}},
		{name: "method unknown", edits: []edit{{"methods: [GET, HEAD]", "methods: [GET, POST]"}}, want: []string{c0g0 + ".methods[1]"}, msg: `"POST" is not one of`},
		{name: "method lowercase", edits: []edit{{"methods: [GET, HEAD]", "methods: [get, HEAD]"}}, want: []string{c0g0 + ".methods[0]"}},
		{name: "method twice", edits: []edit{{"methods: [GET, HEAD]", "methods: [GET, HEAD, GET]"}}, want: []string{c0g0 + ".methods[2]"}, msg: "listed twice"},
		{name: "method not a string", edits: []edit{{"methods: [GET, HEAD]", "methods: [GET, {HEAD: true}]"}}, want: []string{c0g0 + ".methods[1]"}, msg: "must be a string"},
		{name: "max_ttl missing", edits: []edit{{"        max_ttl: 24h\n", ""}}, want: []string{c0g0 + ".max_ttl"}, msg: "is required"},
		{name: "max_ttl 8d", edits: []edit{{"max_ttl: 7d", "max_ttl: 8d"}}, want: []string{c1g0 + ".max_ttl"}, msg: "8d is above 7d"},
		{name: "max_ttl just above 7d", edits: []edit{{"max_ttl: 7d", "max_ttl: 7d1s"}}, want: []string{c1g0 + ".max_ttl"}},
		{name: "max_ttl 169h", edits: []edit{{"max_ttl: 24h", "max_ttl: 169h"}}, want: []string{c0g0 + ".max_ttl"}},
		{name: "max_ttl zero", edits: []edit{{"max_ttl: 24h", "max_ttl: 0s"}}, want: []string{c0g0 + ".max_ttl"}, msg: "below the minimum"},
		{name: "max_ttl below a second", edits: []edit{{"max_ttl: 24h", "max_ttl: 500ms"}}, want: []string{c0g0 + ".max_ttl"}},
		{name: "max_ttl negative", edits: []edit{{"max_ttl: 24h", "max_ttl: -1h"}}, want: []string{c0g0 + ".max_ttl"}},
		{name: "max_ttl without unit", edits: []edit{{"max_ttl: 24h", "max_ttl: 3600"}}, want: []string{c0g0 + ".max_ttl"}, msg: `"3600" is not a duration`},
		{name: "max_ttl words", edits: []edit{{"max_ttl: 24h", "max_ttl: one day"}}, want: []string{c0g0 + ".max_ttl"}, msg: "is not a duration (use 90m, 24h or 7d) (line 31)"},
		{name: "max_ttl days after hours", edits: []edit{{"max_ttl: 24h", "max_ttl: 12h1d"}}, want: []string{c0g0 + ".max_ttl"}},
		{name: "max_ttl a list", edits: []edit{{"max_ttl: 24h", "max_ttl: [24h]"}}, want: []string{c0g0 + ".max_ttl"}, msg: "must be a duration"},
		{name: "content type without subtype", edits: []edit{{`"image/png", "image/*"`, `"image", "image/*"`}}, want: []string{c1g0 + ".content_types[0]"}},
		{name: "content type with parameters", edits: []edit{{`"application/pdf"`, `"application/pdf; q=1"`}}, want: []string{c1g0 + ".content_types[2]"}},
		{name: "content type wildcard type", edits: []edit{{`"image/*"`, `"*/png"`}}, want: []string{c1g0 + ".content_types[1]"}},
		{name: "content type empty", edits: []edit{{`"image/*"`, `""`}}, want: []string{c1g0 + ".content_types[1]"}},
		{name: "max content length zero", edits: []edit{{"max_content_length: 10485760", "max_content_length: 0"}}, want: []string{c1g0 + ".max_content_length"}},
		{name: "max content length above 5 TiB", edits: []edit{{"max_content_length: 10485760", "max_content_length: 5497558138881"}}, want: []string{c1g0 + ".max_content_length"}},
		{name: "max content length fractional", edits: []edit{{"max_content_length: 10485760", "max_content_length: 10485760.5"}}, want: []string{c1g0 + ".max_content_length"}, msg: "must be a whole number"},
		{name: "max content length with a unit", edits: []edit{{"max_content_length: 10485760", "max_content_length: 10MiB"}}, want: []string{c1g0 + ".max_content_length"}, msg: "must be a whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := apply(t, validConfig, tt.edits...)
			c, err := config.Parse([]byte(text))
			if err == nil {
				t.Fatalf("got config %+v, want problems at %q", c, tt.want)
			}
			paths, problems := problemPaths(t, err)
			if diff := cmp.Diff(tt.want, paths); diff != "" {
				t.Fatalf("problem paths mismatch:\n%s\nproblems: %q", diff, problems)
			}
			if !strings.Contains(problems[0], tt.msg) {
				t.Errorf("got problem %q, want it to contain %q", problems[0], tt.msg)
			}
			for _, secret := range []string{reportsHash, uploaderHash} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("got error %q, want it without the token hash", err)
				}
			}
		})
	}
}

func TestInvalidConfigReportsEveryProblemAtOnce(t *testing.T) {
	text := apply(t, validConfig,
		edit{"listen: 127.0.0.1:8080", "listen: 127.0.0.1:8080\nlisten_tls: true"},
		edit{"region: us-east-1", "region: US"},
		edit{"{region: eu-west-1}", "{regoin: eu-west-1}"},
		edit{"drain_delay: 5s", "drain_delay: soon"},
		edit{"rps: 50", "rps: fast"},
		edit{"name: uploader", "name: reports-backend"},
		edit{`prefixes: ["reports/"]`, `prefixes: ["reports"]`},
		edit{"methods: [GET, HEAD]", "methods: [GET, HEAD]\n        methodz: [GET]"},
		edit{"max_ttl: 24h", "max_ttl: forever"},
		edit{"max_ttl: 7d", "max_ttl: 8d"},
		edit{"max_content_length: 10485760", "max_content_length: 0"},
		edit{`"image/*"`, `"*/png"`},
	)
	_, err := config.Parse([]byte(text))
	paths, problems := problemPaths(t, err)
	// Undecodable and unknown values first, in file order, then validation problems.
	want := []string{
		"listen_tls",
		"buckets.logs-eu.regoin",
		"shutdown.drain_delay",
		"clients[0].rate_limit.rps",
		"clients[0].grants[0].methodz",
		"clients[0].grants[0].max_ttl",
		"s3.region",
		"clients[0].grants[0].prefixes[0]",
		"clients[1].name",
		"clients[1].grants[0].max_ttl",
		"clients[1].grants[0].content_types[1]",
		"clients[1].grants[0].max_content_length",
	}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("problem paths mismatch:\n%s\nproblems: %q", diff, problems)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "invalid config, 12 problems:\n") {
		t.Errorf("got message %q, want it to start with the problem count", msg)
	}
	for _, p := range problems {
		if !strings.Contains(msg, p) {
			t.Errorf("got message %q, want it to list %q", msg, p)
		}
	}
}

func TestParseRejectsDocuments(t *testing.T) {
	tests := []struct {
		name string
		text string
		msg  string
	}{
		{name: "empty", text: "", msg: "the file is empty"},
		{name: "only a comment", text: "# nothing here\n", msg: "the file is empty"},
		{name: "null", text: "~\n", msg: "the file is empty"},
		{name: "a list", text: "- listen\n", msg: "must be a mapping"},
		{name: "a scalar", text: "listen\n", msg: "must be a mapping"},
		{name: "syntax error", text: "listen: [127.0.0.1:8080\n", msg: "line"},
		{name: "tab indentation", text: "s3:\n\tregion: x\n", msg: "line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.text))
			var probs *config.Problems
			if !errors.As(err, &probs) || len(probs.List) != 1 {
				t.Fatalf("got error %v, want one problem", err)
			}
			if !strings.Contains(probs.List[0], tt.msg) {
				t.Errorf("got problem %q, want it to contain %q", probs.List[0], tt.msg)
			}
		})
	}
}

func TestParseFollowsAnchors(t *testing.T) {
	text := apply(t, validConfig,
		edit{"        methods: [GET, HEAD]", "        methods: &read [GET, HEAD]"},
		edit{"methods: [PUT, GET, DELETE]", "methods: *read"},
	)
	c, err := config.Parse([]byte(text))
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if diff := cmp.Diff([]string{"GET", "HEAD"}, c.Clients[1].Grants[0].Methods); diff != "" {
		t.Errorf("methods mismatch:\n%s", diff)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "presignd.yaml")
	if err := os.WriteFile(path, []byte(validConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if got, want := len(c.Clients), 2; got != want {
		t.Errorf("got %d clients, want %d", got, want)
	}
	if _, err := config.Load(filepath.Join(dir, "missing.yaml")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got error %v for a missing file, want one that wraps os.ErrNotExist", err)
	}
}

func TestShutdownDefaults(t *testing.T) {
	c, err := config.Parse([]byte(apply(t, validConfig, edit{"shutdown:\n  drain_delay: 5s\n  grace: 20s\n", ""})))
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if got := c.DrainDelay(); got != config.DefaultDrainDelay {
		t.Errorf("DrainDelay: got %v, want %v", got, config.DefaultDrainDelay)
	}
	if got := c.ShutdownGrace(); got != config.DefaultShutdownGrace {
		t.Errorf("ShutdownGrace: got %v, want %v", got, config.DefaultShutdownGrace)
	}
}

// TestS3CallTimeout: the S3 calls of a request give up early enough for its 504
// problem to be written before the server's write timeout closes the connection.
func TestS3CallTimeout(t *testing.T) {
	if got := config.MaxS3CallTimeout + config.S3AnswerMargin; got > config.WriteTimeout {
		t.Errorf("the longest S3 call timeout plus the answer margin is %s, above the write timeout %s", got, config.WriteTimeout)
	}
	if config.DefaultS3CallTimeout > config.MaxS3CallTimeout {
		t.Errorf("the default S3 call timeout %s is above the longest allowed, %s", config.DefaultS3CallTimeout, config.MaxS3CallTimeout)
	}
	for _, tt := range []struct {
		name string
		e    edit
		want time.Duration
	}{
		{"unset", edit{"  call_timeout: 8s\n", ""}, config.DefaultS3CallTimeout},
		{"set", edit{"call_timeout: 8s", "call_timeout: 2500ms"}, 2500 * time.Millisecond},
		{"the longest", edit{"call_timeout: 8s", "call_timeout: 10s"}, config.MaxS3CallTimeout},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse([]byte(apply(t, validConfig, tt.e)))
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got := c.S3CallTimeout(); got != tt.want {
				t.Errorf("S3CallTimeout: got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestLimitsDefaults(t *testing.T) {
	noLimits := edit{"limits:\n  max_connections: 3000\n  close_idle_above: 1500\n  max_in_flight: 100\n", ""}
	tests := []struct {
		name  string
		edits []edit
		want  [3]int // max_connections, close_idle_above, max_in_flight
	}{
		{name: "none set", edits: []edit{noLimits}, want: [3]int{config.DefaultMaxConnections, config.DefaultCloseIdleAbove, config.DefaultMaxInFlight}},
		{name: "a small max_connections caps the defaults of the others", edits: []edit{noLimits, {"shutdown:", "limits: {max_connections: 100}\nshutdown:"}}, want: [3]int{100, 100, 100}},
		{name: "close_idle_above 0 closes every idle connection", edits: []edit{{"close_idle_above: 1500", "close_idle_above: 0"}}, want: [3]int{3000, 0, 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse([]byte(apply(t, validConfig, tt.edits...)))
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got := [3]int{c.MaxConnections(), c.CloseIdleAbove(), c.MaxInFlight()}; got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name  string
		edits []edit
		want  []string
	}{
		{name: "upload rules on an upload grant", want: nil},
		{
			name:  "content types without PUT",
			edits: []edit{{"max_ttl: 24h", "max_ttl: 24h\n        content_types: [text/csv]"}},
			want:  []string{"clients[0].grants[0].content_types: applies to uploads only, and this grant does not allow PUT"},
		},
		{
			name:  "both rules without PUT",
			edits: []edit{{"methods: [PUT, GET, DELETE]", "methods: [GET, DELETE]"}},
			want: []string{
				"clients[1].grants[0].content_types: applies to uploads only, and this grant does not allow PUT",
				"clients[1].grants[0].max_content_length: applies to uploads only, and this grant does not allow PUT",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse([]byte(apply(t, validConfig, tt.edits...)))
			if err != nil {
				t.Fatalf("got error %v, want a config that only warns", err)
			}
			if diff := cmp.Diff(tt.want, c.Warnings()); diff != "" {
				t.Errorf("warnings mismatch:\n%s", diff)
			}
		})
	}
}

func TestPolicy(t *testing.T) {
	c, err := config.Parse([]byte(validConfig))
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Policy()
	if err != nil {
		t.Fatalf("got error %v, want a policy", err)
	}
	now := time.Date(2026, 11, 22, 20, 0, 0, 0, time.UTC)
	env := policy.Env{Now: now}

	put := policy.Request{Bucket: "media.example", Key: "uploads/uploader/cat.png", Method: "PUT", TTL: 8 * 24 * 3600, ContentType: "image/png", ContentLength: 2048}
	d, err := p.Decide("uploader", put, env)
	if err != nil {
		t.Fatalf("uploader PUT: got error %v, want it allowed", err)
	}
	if d.Prefix != "uploads/uploader/" || d.TTL != 7*24*3600 || d.CappedBy != policy.CapPolicy {
		t.Errorf("uploader PUT: got prefix %q, TTL %d capped by %q; want \"uploads/uploader/\", 604800 capped by policy", d.Prefix, d.TTL, d.CappedBy)
	}
	if d.Grant.MaxContentLength != 10485760 {
		t.Errorf("got max content length %d, want 10485760", d.Grant.MaxContentLength)
	}

	tooBig := put
	tooBig.ContentLength = 10485761
	if _, err := p.Decide("uploader", tooBig, env); !isDenied(err, policy.ReasonContentLengthTooLarge) {
		t.Errorf("uploader PUT of 10485761 bytes: got %v, want content_length_too_large", err)
	}

	get := policy.Request{Bucket: "demo", Key: "reports/q3.csv", Method: "GET", TTL: 3600, ContentLength: -1}
	if _, err := p.Decide("reports-backend", get, env); err != nil {
		t.Errorf("reports-backend GET: got error %v, want it allowed", err)
	}
	write := get
	write.Method = "PUT"
	if _, err := p.Decide("reports-backend", write, env); !isDenied(err, policy.ReasonMethodNotAllowed) {
		t.Errorf("reports-backend PUT: got %v, want method_not_allowed", err)
	}
	other := get
	other.Key = "reports-archive/q3.csv"
	if _, err := p.Decide("reports-backend", other, env); !isDenied(err, policy.ReasonPrefixNotAllowed) {
		t.Errorf("reports-backend GET outside its prefix: got %v, want prefix_not_allowed", err)
	}
}

func isDenied(err error, reason policy.Reason) bool {
	var denied *policy.DeniedError
	return errors.As(err, &denied) && denied.Reason == reason
}

func TestHashToken(t *testing.T) {
	tests := []struct{ token, want string }{
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"reports-token", reportsHash},
	}
	for _, tt := range tests {
		if got := config.HashToken(tt.token); got != tt.want {
			t.Errorf("HashToken(%q): got %s, want %s", tt.token, got, tt.want)
		}
	}
}
