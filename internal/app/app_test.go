package app_test

import (
	"encoding/hex"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/presignd/presignd/internal/api"
	"github.com/presignd/presignd/internal/app"
	"github.com/presignd/presignd/internal/config"
)

func TestRuntime(t *testing.T) {
	cfg, err := config.Parse([]byte(`listen: 127.0.0.1:8080
s3: {region: us-east-1}
cors: {allowed_origins: ["https://app.example.com", "http://localhost:*"]}
limits: {max_connections: 100, close_idle_above: 50, max_in_flight: 10}
clients:
  - name: app
    token_sha256: "` + config.HashToken("app-token-0123456789") + `"
    rate_limit: {rps: 5, burst: 10}
    grants: [{bucket: media, prefixes: ["{client}/"], methods: [GET], max_ttl: 1h}]
  - name: ops
    token_sha256: "` + config.HashToken("ops-token-0123456789") + `"
    grants: [{bucket: media, prefixes: [""], methods: [GET], max_ttl: 1h}]
`))
	if err != nil {
		t.Fatal(err)
	}
	rt, err := app.Runtime(cfg, nil, api.Runtime{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rt.Limits, (api.Limits{MaxConnections: 100, CloseIdleAbove: 50, MaxInFlight: 10}); got != want {
		t.Errorf("limits: got %+v, want %+v", got, want)
	}
	if len(rt.Clients) != 2 || rt.Clients[0].Name != "app" || rt.Clients[1].Name != "ops" {
		t.Fatalf("clients: got %+v, want app then ops", rt.Clients)
	}
	if diff := cmp.Diff(&api.RateLimit{RPS: 5, Burst: 10}, rt.Clients[0].RateLimit); diff != "" || rt.Clients[1].RateLimit != nil {
		t.Errorf("rate limits (-want +got):\n%s; ops: %v", diff, rt.Clients[1].RateLimit)
	}
	if got, want := hex.EncodeToString(rt.Clients[0].TokenSHA256[:]), config.HashToken("app-token-0123456789"); got != want {
		t.Errorf("token hash: got %s, want %s", got, want)
	}
	if !rt.Origins.Match("http://localhost:5173") || rt.Origins.Match("https://evil.example") {
		t.Error("origins do not follow cors.allowed_origins")
	}
	if names := rt.Policy.ClientNames(); len(names) != 2 {
		t.Errorf("policy clients: got %v", names)
	}
}
