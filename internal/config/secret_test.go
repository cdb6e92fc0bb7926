package config_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/presignd/presignd/internal/config"
)

func TestSecretNeverPrints(t *testing.T) {
	c, err := config.Parse([]byte(validConfig))
	if err != nil {
		t.Fatal(err)
	}
	secret := c.Clients[0].TokenSHA256
	if got := secret.Reveal(); got != reportsHash {
		t.Fatalf("Reveal: got %q, want the hash", got)
	}

	render := map[string]func() (string, error){
		"client %+v":  func() (string, error) { return fmt.Sprintf("%+v", c.Clients[0]), nil },
		"error wrap":  func() (string, error) { return fmt.Errorf("client %v", c.Clients[0]).Error(), nil },
		"json":        func() (string, error) { b, err := json.Marshal(c); return string(b), err },
		"json secret": func() (string, error) { b, err := json.Marshal(secret); return string(b), err },
		"yaml":        func() (string, error) { b, err := yaml.Marshal(c); return string(b), err },
		"slog text": func() (string, error) {
			var buf bytes.Buffer
			slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "config", c, "secret", secret)
			return buf.String(), nil
		},
		"slog json": func() (string, error) {
			var buf bytes.Buffer
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", c, "secret", secret)
			return buf.String(), nil
		},
	}
	// Every verb, including those fmt applies to a string's bytes without String.
	for _, verb := range []string{"%v", "%+v", "%s", "%#v", "%q", "%x", "%X", "%d", "%t", "%10.3s"} {
		render["config "+verb] = func() (string, error) { return fmt.Sprintf(verb, c), nil }
		render["config value "+verb] = func() (string, error) { return fmt.Sprintf(verb, *c), nil }
		render["secret "+verb] = func() (string, error) { return fmt.Sprintf(verb, secret), nil }
	}
	for name, f := range render {
		t.Run(name, func(t *testing.T) {
			out, err := f()
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range []string{reportsHash, uploaderHash, fmt.Sprintf("%x", reportsHash), reportsHash[:16]} {
				if strings.Contains(out, h) {
					t.Errorf("got output containing the hash:\n%s", out)
				}
			}
			if !strings.Contains(out, "[redacted]") && !strings.Contains(out, fmt.Sprintf("%x", "[redacted]")) {
				t.Errorf("got output without [redacted]:\n%s", out)
			}
		})
	}
}

func TestSecretYAMLRoundTripIsRedacted(t *testing.T) {
	c, err := config.Parse([]byte(validConfig))
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	// The marshalled config is not a way to recover the hash: it parses back to a
	// config whose hashes are rejected.
	_, err = config.Parse(out)
	paths, _ := problemPaths(t, err)
	want := []string{"clients[0].token_sha256", "clients[1].token_sha256"}
	if strings.Join(paths, ",") != strings.Join(want, ",") {
		t.Errorf("got problems at %q, want %q", paths, want)
	}
}
