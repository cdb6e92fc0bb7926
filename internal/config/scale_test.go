package config_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/policy"
)

// largeConfig is a config with clients clients of grantsPerClient grants each, in the
// block style an operator would write, with placeholders, upload rules and several
// buckets per client.
func largeConfig(clients, grantsPerClient int) []byte {
	var b strings.Builder
	b.Grow(clients * grantsPerClient * 200)
	b.WriteString("listen: 127.0.0.1:8080\nadmin_listen: 127.0.0.1:9090\ns3:\n  region: us-east-1\nbuckets:\n  logs-eu: {region: eu-west-1}\nclients:\n")
	for i := range clients {
		sum := sha256.Sum256([]byte(fmt.Sprintf("token-%d", i)))
		fmt.Fprintf(&b, "  - name: tenant-%05d\n    token_sha256: %q\n", i, hex.EncodeToString(sum[:]))
		if i%10 == 0 {
			b.WriteString("    rate_limit: {rps: 50, burst: 100}\n")
		}
		b.WriteString("    grants:\n")
		for j := range grantsPerClient {
			switch j % 5 {
			case 0:
				fmt.Fprintf(&b, "      - bucket: media-%d\n        prefixes: [\"uploads/{client}/\", \"shared/t%d/\"]\n        methods: [PUT, GET]\n        max_ttl: 1h\n        content_types: [\"image/*\", \"application/pdf\"]\n        max_content_length: 10485760\n", i%50, j)
			case 1:
				fmt.Fprintf(&b, "      - bucket: media-%d\n        prefixes: [\"public/\"]\n        methods: [GET, HEAD]\n        max_ttl: 7d\n", i%50)
			case 2:
				fmt.Fprintf(&b, "      - bucket: reports\n        prefixes: [\"daily/{client}/\", \"monthly/{client}/\"]\n        methods: [GET]\n        max_ttl: 24h\n")
			case 3:
				fmt.Fprintf(&b, "      - bucket: logs-eu\n        prefixes: [\"tenants/{client}/g%d/\"]\n        methods: [GET, PUT, DELETE]\n        max_ttl: 90m\n", j)
			default:
				fmt.Fprintf(&b, "      - bucket: archive-%d\n        prefixes: [\"\"]\n        methods: [GET]\n        max_ttl: 2d\n", j)
			}
		}
	}
	return []byte(b.String())
}

// TestLoadLargeConfig loads a config of 10,000 clients and 50,000 grants the way
// presignd does (parse, validate, build the policy) and checks that it decides for the
// last client. The time it takes is logged, not asserted.
func TestLoadLargeConfig(t *testing.T) {
	const clients, grants = 10000, 5
	data := largeConfig(clients, grants)

	start := time.Now()
	cfg, err := config.Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	parsed := time.Now()
	pol, err := cfg.Policy()
	if err != nil {
		t.Fatalf("Policy: %v", err)
	}
	built := time.Now()
	warnings := cfg.Warnings()
	warned := time.Now()
	t.Logf("%d clients, %d grants, %d bytes: parse and validate %v, policy %v (load %v); warnings %v",
		clients, clients*grants, len(data), parsed.Sub(start), built.Sub(parsed), built.Sub(start), warned.Sub(built))

	if got := len(cfg.Clients); got != clients {
		t.Fatalf("got %d clients, want %d", got, clients)
	}
	n := 0
	for _, c := range cfg.Clients {
		n += len(c.Grants)
	}
	if n != clients*grants {
		t.Fatalf("got %d grants, want %d", n, clients*grants)
	}
	if len(warnings) != 0 {
		t.Errorf("got %d warnings, want none; the first: %s", len(warnings), warnings[0])
	}
	last := fmt.Sprintf("tenant-%05d", clients-1)
	req := policy.Request{Bucket: "logs-eu", Key: "tenants/" + last + "/g3/x.log", Method: "DELETE", TTL: 3600, ContentLength: -1}
	d, err := pol.Decide(last, req, policy.Env{Now: time.Date(2026, 11, 22, 20, 0, 0, 0, time.UTC)})
	if err != nil || d.GrantIndex != 3 || d.Prefix != "tenants/"+last+"/g3/" {
		t.Errorf("got decision %+v, error %v; want grant 3 under tenants/%s/g3/", d, err, last)
	}
	other := req
	other.Key = "tenants/tenant-00000/g3/x.log"
	var denied *policy.DeniedError
	if _, err := pol.Decide(last, other, policy.Env{}); !errors.As(err, &denied) || denied.Reason != policy.ReasonPrefixNotAllowed {
		t.Errorf("another tenant's key: got %v, want prefix_not_allowed", err)
	}
}

// BenchmarkLoadLargeConfig is the load of 10,000 clients and 50,000 grants: YAML
// parse, validation and the policy.
func BenchmarkLoadLargeConfig(b *testing.B) {
	data := largeConfig(10000, 5)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		cfg, err := config.Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := cfg.Policy(); err != nil {
			b.Fatal(err)
		}
	}
}
