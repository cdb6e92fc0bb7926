package main

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/signer/s3signer"
	"github.com/presignd/presignd/internal/testenv"
)

// TestStartAndReloadBuildTheSameRuntime: start and SIGHUP make their running parts
// with the same build, so the same file gives the same runtime, whether built fresh
// or over what serves now; only a change of targets makes a new signer.
func TestStartAndReloadBuildTheSameRuntime(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	file := func(t *testing.T, extra string) *config.Config {
		t.Helper()
		cfg, err := config.Parse([]byte(`listen: 127.0.0.1:8080
admin_listen: 127.0.0.1:9090
s3: {region: us-east-1, endpoint: "http://127.0.0.1:7070", path_style: true, profile: ` + profileStatic + `}
buckets:
  logs-eu: {region: eu-west-1}
` + extra + `clients:
  - name: app
    token_sha256: "` + config.HashToken("build-test-token-0123456789") + `"
    grants: [{bucket: media, prefixes: [""], methods: [GET], max_ttl: 1h}]
`))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	targets := func(r *running) map[string]s3signer.Target {
		return map[string]s3signer.Target{"media": r.signer.TargetFor("media"), "logs-eu": r.signer.TargetFor("logs-eu")}
	}

	start, err := build(ctx, file(t, ""), nil, false, log)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := build(ctx, file(t, ""), nil, false, log)
	if err != nil {
		t.Fatal(err)
	}
	reloaded, err := build(ctx, file(t, ""), start, false, log)
	if err != nil {
		t.Fatal(err)
	}
	if reloaded.signer != start.signer {
		t.Error("a reload of the same file made a new signer; want the serving one kept (its credential cache and signing keys)")
	}
	if a, b := targets(fresh), targets(reloaded); a["media"] != b["media"] || a["logs-eu"] != b["logs-eu"] {
		t.Errorf("targets: fresh %+v, reloaded %+v; want the same", a, b)
	}

	t.Run("a changed bucket makes a new signer", func(t *testing.T) {
		next, err := build(ctx, file(t, "  media: {region: eu-central-1}\n"), start, false, log)
		if err != nil {
			t.Fatal(err)
		}
		if next.signer == start.signer || next.signer.TargetFor("media").Region != "eu-central-1" {
			t.Errorf("got the same signer or region %q; want a new signer for eu-central-1", next.signer.TargetFor("media").Region)
		}
	})

	t.Run("listeners stay until restart", func(t *testing.T) {
		cfg := file(t, "")
		cfg.Listen, cfg.AdminListen = "127.0.0.1:18080", ""
		next, err := build(ctx, cfg, start, false, log)
		if err != nil {
			t.Fatal(err)
		}
		if next.cfg.Listen != "127.0.0.1:8080" || next.cfg.AdminListen != "127.0.0.1:9090" {
			t.Errorf("listen %q admin_listen %q; want the serving ones", next.cfg.Listen, next.cfg.AdminListen)
		}
	})

	t.Run("dev mode", func(t *testing.T) {
		// No default profile exists here: the chain finds nothing, and only dev mode
		// falls back to the example key pair, fresh or over what serves.
		env := mapEnv(map[string]string{"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:7070"})
		dev := func() *config.Config {
			cfg, err := config.Dev(env)
			if err != nil {
				t.Fatal(err)
			}
			return cfg
		}
		first, err := build(ctx, dev(), nil, true, log)
		if err != nil {
			t.Fatal(err)
		}
		again, err := build(ctx, dev(), first, true, log)
		if err != nil {
			t.Fatal(err)
		}
		for name, r := range map[string]*running{"start": first, "reload": again} {
			creds, err := r.signer.Credentials(ctx)
			if err != nil || creds.AccessKeyID != testenv.AccessKeyID {
				t.Errorf("%s: credentials %q, %v; want the example key pair", name, creds.AccessKeyID, err)
			}
		}
		notDev, err := build(ctx, dev(), nil, false, log)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := notDev.signer.Credentials(ctx); err == nil {
			t.Error("outside dev mode the signer found credentials; want none (no fallback)")
		}
	})
}
