// Package config reads and validates presignd's YAML configuration.
//
// Decoding is strict: an unknown key is an error. Validation reports every problem at
// once, each with its path in the file (clients[2].grants[0].max_ttl).
package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/presignd/presignd/internal/policy"
)

// Defaults for optional settings. The limits keep presignd within a 256 MiB
// container under a surge of connections; see Limits.
const (
	DefaultDrainDelay     = 5 * time.Second
	DefaultShutdownGrace  = 20 * time.Second
	DefaultMaxConnections = 4096
	DefaultCloseIdleAbove = 2048
	DefaultMaxInFlight    = 256
	DefaultS3CallTimeout  = 10 * time.Second
)

// The HTTP server's timeouts (ReadHeader, Read, Write, Idle), in one place with the
// S3 call timeout they bound.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 10 * time.Second
	WriteTimeout      = 15 * time.Second
	IdleTimeout       = 60 * time.Second
)

// S3AnswerMargin is the time a request keeps, after its S3 calls have given up, to
// write its problem before the server's WriteTimeout closes the connection.
const S3AnswerMargin = 5 * time.Second

// MaxS3CallTimeout is the longest s3.call_timeout: the S3 calls of a request must give
// up S3AnswerMargin before WriteTimeout, or a caller of an S3 that never answers
// would see the connection closed instead of a 504 problem.
const MaxS3CallTimeout = WriteTimeout - S3AnswerMargin

// MaxLimit is the largest value any of the limits takes.
const MaxLimit = 1 << 20

// Config is the whole configuration file.
type Config struct {
	Listen      string            `yaml:"listen"`
	AdminListen string            `yaml:"admin_listen"`
	S3          S3                `yaml:"s3"`
	Buckets     map[string]Bucket `yaml:"buckets"`
	CORS        CORS              `yaml:"cors"`
	Shutdown    Shutdown          `yaml:"shutdown"`
	Limits      Limits            `yaml:"limits"`
	Clients     []Client          `yaml:"clients"`
	Identity    Identity          `yaml:"identity"`
	TLS         *TLS              `yaml:"tls"`
}

// S3 is where and how URLs are signed by default.
type S3 struct {
	Region         string `yaml:"region"`
	Endpoint       string `yaml:"endpoint"`
	PathStyle      bool   `yaml:"path_style"`
	Profile        string `yaml:"profile"`
	PublicEndpoint string `yaml:"public_endpoint"`
	// CallTimeout bounds the S3 calls one request makes (multipart create, list,
	// complete, abort), all of them together; at most MaxS3CallTimeout.
	CallTimeout *Duration `yaml:"call_timeout"`
}

// Bucket overrides the s3 block for one bucket. Unset fields inherit.
type Bucket struct {
	Region         string `yaml:"region"`
	Endpoint       string `yaml:"endpoint"`
	PathStyle      *bool  `yaml:"path_style"`
	PublicEndpoint string `yaml:"public_endpoint"`
}

// CORS lists the browser origins allowed to call the API.
type CORS struct {
	AllowedOrigins []string `yaml:"allowed_origins"`
}

// Shutdown tunes the graceful drain on SIGTERM.
type Shutdown struct {
	// DrainDelay is how long presignd keeps serving with /readyz at 503.
	DrainDelay *Duration `yaml:"drain_delay"`
	// Grace is how long in-flight requests get to finish once the listeners close.
	Grace *Duration `yaml:"grace"`
}

// Limits bound what a surge of callers can make presignd hold at once, and so its
// memory. Each unset limit takes its default.
type Limits struct {
	// MaxConnections bounds the open connections of the API listener. When it is
	// reached, presignd closes idle keep-alive connections to make room, and further
	// connections wait in the kernel's accept queue until one closes.
	MaxConnections *int `yaml:"max_connections"`
	// CloseIdleAbove: while more connections than this are open, presignd closes
	// idle keep-alive connections, those idle longest first.
	CloseIdleAbove *int `yaml:"close_idle_above"`
	// MaxInFlight bounds the /v1 requests being served at once; over it, requests are
	// answered 503 overloaded with Retry-After. A batch counts as 16 requests.
	MaxInFlight *int `yaml:"max_in_flight"`
}

// Client is one caller.
type Client struct {
	Name        string `yaml:"name"`
	TokenSHA256 Secret `yaml:"token_sha256"`
	// Match lists the principals of other identity sources that are this client.
	Match     []Match    `yaml:"match"`
	RateLimit *RateLimit `yaml:"rate_limit"`
	Grants    []Grant    `yaml:"grants"`
	// Uploads is where browser upload widgets (Uppy, /v1/uppy) put the client's
	// objects; it must sit inside one of its PUT grants.
	Uploads *Uploads `yaml:"uploads"`
}

// Uploads is a client's upload location: a bucket and a prefix ending in "/", which
// may hold placeholders like a grant prefix ({subject}, {claims.NAME}, {client}).
type Uploads struct {
	Bucket string `yaml:"bucket"`
	Prefix string `yaml:"prefix"`
}

// RateLimit is a token bucket: rps tokens a second, up to burst at once.
type RateLimit struct {
	RPS   float64 `yaml:"rps"`
	Burst int     `yaml:"burst"`
}

// Grant allows a client some methods under some prefixes of one bucket.
type Grant struct {
	Bucket           string    `yaml:"bucket"`
	Prefixes         []string  `yaml:"prefixes"`
	Methods          []string  `yaml:"methods"`
	MaxTTL           *Duration `yaml:"max_ttl"`
	ContentTypes     []string  `yaml:"content_types"`
	MaxContentLength *int64    `yaml:"max_content_length"`
}

// Secret is a string that never prints: fmt, logs and JSON see "[redacted]".
type Secret string

// String hides the value.
func (Secret) String() string { return "[redacted]" }

// GoString hides the value from %#v.
func (Secret) GoString() string { return `"[redacted]"` }

// MarshalJSON hides the value.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// MarshalYAML hides the value.
func (Secret) MarshalYAML() (any, error) { return "[redacted]", nil }

// Format hides the value from every fmt verb, including those that bypass String
// (%d and %t print a string's bytes as "%!d(config.Secret=...)").
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' || verb == 'v' && f.Flag('#') {
		io.WriteString(f, `"[redacted]"`)
		return
	}
	io.WriteString(f, "[redacted]")
}

// Reveal returns the value itself.
func (s Secret) Reveal() string { return string(s) }

// Load reads and validates the file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the config file: %w", err)
	}
	return Parse(data)
}

// Parse decodes strictly and validates. The error, when there is one, is a *Problems
// listing every problem found: unknown keys, values of the wrong type and every
// validation problem, each with its path.
func Parse(data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &Problems{List: []string{yamlError(err)}}
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = doc.Content[0]
	}
	if doc.Kind == 0 || doc.Kind == yaml.DocumentNode || isNull(doc) {
		return nil, &Problems{List: []string{"the file is empty"}}
	}
	if doc.Kind != yaml.MappingNode {
		return nil, &Problems{List: []string{fmt.Sprintf("the file must be a mapping of keys such as listen, s3 and clients (line %d)", doc.Line)}}
	}
	var probs Problems
	bad := checkTree(doc, &probs)
	var c Config
	if err := doc.Decode(&c); err != nil {
		// checkTree has removed everything that cannot decode; this is a safety net.
		probs.List = append(probs.List, yamlError(err))
		return nil, &probs
	}
	if err := c.Validate(); err != nil {
		var vp *Problems
		if !errors.As(err, &vp) {
			return nil, err
		}
		for _, msg := range vp.List {
			// A value already reported as undecodable is not reported again as missing.
			if !under(msg, bad) {
				probs.List = append(probs.List, msg)
			}
		}
	}
	if len(probs.List) > 0 {
		return nil, &probs
	}
	return &c, nil
}

func yamlError(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return strings.Join(te.Errors, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// Problems is every validation problem of a config, each "path: message".
type Problems struct {
	List     []string
	Warnings []string
}

func (p *Problems) Error() string {
	if len(p.List) == 1 {
		return "invalid config: " + p.List[0]
	}
	return fmt.Sprintf("invalid config, %d problems:\n  %s", len(p.List), strings.Join(p.List, "\n  "))
}

func (p *Problems) add(path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	p.List = append(p.List, msg)
}

// DrainDelay is the configured drain delay or its default.
func (c *Config) DrainDelay() time.Duration {
	if c.Shutdown.DrainDelay != nil {
		return c.Shutdown.DrainDelay.D
	}
	return DefaultDrainDelay
}

// ShutdownGrace is the configured grace period or its default.
func (c *Config) ShutdownGrace() time.Duration {
	if c.Shutdown.Grace != nil {
		return c.Shutdown.Grace.D
	}
	return DefaultShutdownGrace
}

// S3CallTimeout is s3.call_timeout or its default.
func (c *Config) S3CallTimeout() time.Duration {
	if c.S3.CallTimeout != nil {
		return c.S3.CallTimeout.D
	}
	return DefaultS3CallTimeout
}

// MaxConnections is limits.max_connections or its default.
func (c *Config) MaxConnections() int {
	if c.Limits.MaxConnections != nil {
		return *c.Limits.MaxConnections
	}
	return DefaultMaxConnections
}

// CloseIdleAbove is limits.close_idle_above or its default, which is never above
// max_connections.
func (c *Config) CloseIdleAbove() int {
	if c.Limits.CloseIdleAbove != nil {
		return *c.Limits.CloseIdleAbove
	}
	return min(DefaultCloseIdleAbove, c.MaxConnections())
}

// MaxInFlight is limits.max_in_flight or its default, which is never above
// max_connections.
func (c *Config) MaxInFlight() int {
	if c.Limits.MaxInFlight != nil {
		return *c.Limits.MaxInFlight
	}
	return min(DefaultMaxInFlight, c.MaxConnections())
}

// Policy builds the policy the config describes.
func (c *Config) Policy() (*policy.Policy, error) {
	clients := make([]policy.Client, len(c.Clients))
	for i, cl := range c.Clients {
		pc := policy.Client{Name: cl.Name, Grants: make([]policy.Grant, len(cl.Grants))}
		for j, g := range cl.Grants {
			pg := policy.Grant{
				Bucket:       g.Bucket,
				Prefixes:     g.Prefixes,
				Methods:      g.Methods,
				ContentTypes: g.ContentTypes,
			}
			if g.MaxTTL != nil {
				pg.MaxTTL = g.MaxTTL.D
			}
			if g.MaxContentLength != nil {
				pg.MaxContentLength = *g.MaxContentLength
			}
			pc.Grants[j] = pg
		}
		if u := cl.Uploads; u != nil {
			pc.Uploads = &policy.UploadLocation{Bucket: u.Bucket, Prefix: u.Prefix}
		}
		clients[i] = pc
	}
	return policy.New(clients)
}

// HashToken is the hex SHA-256 of a bearer token, as token_sha256 holds it.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
