package config

import (
	"fmt"
	"strings"
	"time"
)

// DevToken is the bearer token the development config accepts for client "dev".
const DevToken = "dev-token"

// DevOrigins are the browser origins the development config allows: loopback pages
// on any port. The dev token is public and the dev signer uses the developer's own
// credentials, so any other web page must not be able to call it.
var DevOrigins = []string{"http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"}

// Dev is the embedded development config: listen on 127.0.0.1:8080, client "dev" with
// token "dev-token", every method under bucket (default "dev") for up to 7 days, the
// S3 endpoint from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL and the region from
// AWS_REGION (default us-east-1), CORS open to loopback pages only, and no drain delay.
func Dev(getenv func(string) string) (*Config, error) {
	bucket := getenv("PRESIGND_DEV_BUCKET")
	if bucket == "" {
		bucket = "dev"
	}
	region := getenv("AWS_REGION")
	if region == "" {
		region = "us-east-1"
	}
	endpoint := getenv("AWS_ENDPOINT_URL_S3")
	if endpoint == "" {
		endpoint = getenv("AWS_ENDPOINT_URL")
	}
	week := Duration{D: 7 * 24 * time.Hour}
	c := &Config{
		Listen: "127.0.0.1:8080",
		S3: S3{
			Region:   region,
			Endpoint: strings.TrimRight(endpoint, "/"),
			// Local S3-compatible servers rarely resolve bucket subdomains.
			PathStyle: endpoint != "",
		},
		// Pages on this machine may call the development API (the browser upload
		// example); no other web origin may, since its token is public.
		CORS: CORS{AllowedOrigins: DevOrigins},
		// No load balancer to drain from: stop at once.
		Shutdown: Shutdown{DrainDelay: &Duration{}},
		Clients: []Client{{
			Name:        "dev",
			TokenSHA256: Secret(HashToken(DevToken)),
			Grants: []Grant{{
				Bucket:   bucket,
				Prefixes: []string{""},
				Methods:  []string{"GET", "PUT", "HEAD", "DELETE"},
				MaxTTL:   &week,
			}},
		}},
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("the development config is not valid with this environment: %w", err)
	}
	return c, nil
}
