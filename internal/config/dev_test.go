package config_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/policy"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestDev(t *testing.T) {
	week := config.Duration{D: 7 * 24 * time.Hour}
	base := func(bucket, region, endpoint string) *config.Config {
		return &config.Config{
			Listen:   "127.0.0.1:8080",
			S3:       config.S3{Region: region, Endpoint: endpoint, PathStyle: endpoint != ""},
			CORS:     config.CORS{AllowedOrigins: config.DevOrigins},
			Shutdown: config.Shutdown{DrainDelay: &config.Duration{}},
			Clients: []config.Client{{
				Name:        "dev",
				TokenSHA256: config.Secret(config.HashToken("dev-token")),
				Grants: []config.Grant{{
					Bucket:   bucket,
					Prefixes: []string{""},
					Methods:  []string{"GET", "PUT", "HEAD", "DELETE"},
					MaxTTL:   &week,
				}},
			}},
		}
	}
	tests := []struct {
		name string
		vars map[string]string
		want *config.Config
	}{
		{name: "defaults", vars: nil, want: base("dev", "us-east-1", "")},
		{name: "bucket", vars: map[string]string{"PRESIGND_DEV_BUCKET": "media"}, want: base("media", "us-east-1", "")},
		{name: "region", vars: map[string]string{"AWS_REGION": "eu-west-1"}, want: base("dev", "eu-west-1", "")},
		{name: "generic endpoint", vars: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:7070"}, want: base("dev", "us-east-1", "http://127.0.0.1:7070")},
		{name: "S3 endpoint", vars: map[string]string{"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:7071"}, want: base("dev", "us-east-1", "http://127.0.0.1:7071")},
		{
			name: "S3 endpoint over the generic one",
			vars: map[string]string{"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:7071", "AWS_ENDPOINT_URL": "http://127.0.0.1:7070"},
			want: base("dev", "us-east-1", "http://127.0.0.1:7071"),
		},
		{name: "endpoint trailing slash", vars: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:7070/"}, want: base("dev", "us-east-1", "http://127.0.0.1:7070")},
		{name: "unrelated variables ignored", vars: map[string]string{"PRESIGND_CONFIG": "/etc/presignd.yaml", "AWS_DEFAULT_REGION": "ap-south-1"}, want: base("dev", "us-east-1", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.Dev(env(tt.vars))
			if err != nil {
				t.Fatalf("got error %v, want a config", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("config mismatch:\n%s", diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("got an invalid config: %v", err)
			}
		})
	}
}

func TestDevRejectsBadEnvironment(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
	}{
		{name: "bucket", vars: map[string]string{"PRESIGND_DEV_BUCKET": "Not_A_Bucket"}},
		{name: "region", vars: map[string]string{"AWS_REGION": "Mars 1"}},
		{name: "endpoint", vars: map[string]string{"AWS_ENDPOINT_URL_S3": "localhost:7070"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := config.Dev(env(tt.vars)); err == nil {
				t.Errorf("got config %+v, want an error", c)
			}
		})
	}
}

func TestDevPolicyAllowsEverythingInTheBucket(t *testing.T) {
	c, err := config.Dev(env(map[string]string{"PRESIGND_DEV_BUCKET": "scratch"}))
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Policy()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 20, 0, 0, 0, time.UTC)
	for _, m := range policy.Methods {
		req := policy.Request{Bucket: "scratch", Key: "any/key.bin", Method: m, TTL: 7 * 24 * 3600, ContentLength: -1}
		d, err := p.Decide("dev", req, policy.Env{Now: now})
		if err != nil {
			t.Errorf("%s: got error %v, want it allowed", m, err)
			continue
		}
		if d.TTL != 7*24*3600 || d.CappedBy != policy.CapNone {
			t.Errorf("%s: got TTL %d capped by %q, want 604800 uncapped", m, d.TTL, d.CappedBy)
		}
	}
	req := policy.Request{Bucket: "dev", Key: "a", Method: "GET", TTL: 60, ContentLength: -1}
	if _, err := p.Decide("dev", req, policy.Env{Now: now}); !isDenied(err, policy.ReasonBucketNotAllowed) {
		t.Errorf("another bucket: got %v, want bucket_not_allowed", err)
	}
}
