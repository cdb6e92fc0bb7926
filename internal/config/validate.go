package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/presignd/presignd/internal/origin"
	"github.com/presignd/presignd/internal/policy"
	"github.com/presignd/presignd/internal/signer"
)

var (
	clientNameRE = regexp.MustCompile(`^[a-z0-9._-]+$`)
	hexSHA256RE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	regionRE     = regexp.MustCompile(`^[a-z0-9-]+$`)
	mediaRangeRE = regexp.MustCompile(`^([a-z0-9][a-z0-9!#$&^_.+-]*/([a-z0-9][a-z0-9!#$&^_.+-]*|\*)|\*/\*)$`)
)

// Validate reports every problem of the config at once, as a *Problems.
func (c *Config) Validate() error {
	var p Problems
	checkListeners(&p, c)
	checkS3(&p, c)
	checkBuckets(&p, c.Buckets)
	checkCORS(&p, c.CORS.AllowedOrigins)
	checkShutdown(&p, c)
	checkLimits(&p, c)
	checkIdentity(&p, c)
	checkClients(&p, c)
	if len(p.List) > 0 {
		return &p
	}
	return nil
}

func checkListeners(p *Problems, c *Config) {
	checkHostPort(p, "listen", c.Listen, true)
	checkHostPort(p, "admin_listen", c.AdminListen, false)
	if _, port, _ := net.SplitHostPort(c.Listen); c.AdminListen != "" && c.AdminListen == c.Listen && port != "0" {
		p.add("admin_listen", "must differ from listen (leave it empty to serve admin routes on listen)")
	}
}

func checkS3(p *Problems, c *Config) {
	if c.S3.Region == "" {
		p.add("s3.region", "is required")
	} else if !regionRE.MatchString(c.S3.Region) {
		p.add("s3.region", "%q is not a region name", c.S3.Region)
	}
	checkEndpoint(p, "s3.endpoint", c.S3.Endpoint)
	checkEndpoint(p, "s3.public_endpoint", c.S3.PublicEndpoint)
	if t := c.S3.CallTimeout; t != nil && (t.D < minS3CallTimeout || t.D > MaxS3CallTimeout) {
		p.add("s3.call_timeout", "%s must be between %s and %s, so that a caller gets a 504 problem "+
			"%s before the server's write timeout of %s", t.D, minS3CallTimeout, MaxS3CallTimeout, S3AnswerMargin, WriteTimeout)
	}
}

// minS3CallTimeout is the shortest s3.call_timeout taken; anything shorter is
// surely a mistake (a unit left out).
const minS3CallTimeout = 100 * time.Millisecond

func checkBuckets(p *Problems, buckets map[string]Bucket) {
	for _, name := range sortedKeys(buckets) {
		b := buckets[name]
		path := "buckets." + name
		if err := policy.ValidateBucket(name); err != nil {
			p.add(path, "%s", detail(err))
		}
		if b.Region != "" && !regionRE.MatchString(b.Region) {
			p.add(path+".region", "%q is not a region name", b.Region)
		}
		checkEndpoint(p, path+".endpoint", b.Endpoint)
		checkEndpoint(p, path+".public_endpoint", b.PublicEndpoint)
	}
}

func checkCORS(p *Problems, allowedOrigins []string) {
	for i, o := range allowedOrigins {
		if _, err := origin.Parse(o); err != nil {
			p.add(fmt.Sprintf("cors.allowed_origins[%d]", i), "%q %s", o, err)
		}
	}
}

func checkShutdown(p *Problems, c *Config) {
	if c.Shutdown.DrainDelay != nil && (c.Shutdown.DrainDelay.D < 0 || c.Shutdown.DrainDelay.D > 5*60e9) {
		p.add("shutdown.drain_delay", "must be between 0s and 5m")
	}
	if c.Shutdown.Grace != nil && (c.Shutdown.Grace.D < 0 || c.Shutdown.Grace.D > 10*60e9) {
		p.add("shutdown.grace", "must be between 0s and 10m")
	}
}

// checkClients checks each client, and that no two share a name or a token.
func checkClients(p *Problems, c *Config) {
	clients := c.Clients
	if len(clients) == 0 {
		p.add("clients", "at least one client is required")
	}
	names := map[string]int{}  // client name → index of the first client with it
	hashes := map[string]int{} // token hash → likewise
	for i, cl := range clients {
		path := fmt.Sprintf("clients[%d]", i)
		checkClientName(p, path, i, cl.Name, names)
		if cl.TokenSHA256 != "" || len(cl.Match) == 0 {
			checkTokenHash(p, path, i, string(cl.TokenSHA256), hashes)
		}
		checkMatches(p, path, c, cl)
		if rl := cl.RateLimit; rl != nil {
			if !(rl.RPS > 0) {
				p.add(path+".rate_limit.rps", "must be above 0")
			}
			if rl.Burst < 1 {
				p.add(path+".rate_limit.burst", "must be at least 1")
			}
		}
		if len(cl.Grants) == 0 {
			p.add(path+".grants", "at least one grant is required")
		}
		for j, g := range cl.Grants {
			checkGrant(p, fmt.Sprintf("%s.grants[%d]", path, j), cl.Name, g)
		}
		if cl.Uploads != nil {
			checkUploads(p, path+".uploads", cl)
		}
	}
}

// checkUploads checks a client's upload location: a valid bucket, a prefix ending in
// "/" whose placeholders expand as a grant prefix's do, inside one of the client's PUT
// grants. Containment is checked on the templates: a grant prefix template that starts
// the upload prefix template covers it for every caller, as both are expanded with the
// same one-segment values, and a grant prefix ends in "/" so no placeholder is cut.
func checkUploads(p *Problems, path string, cl Client) {
	u := cl.Uploads
	ok := true
	if u.Bucket == "" {
		p.add(path+".bucket", "is required")
		ok = false
	} else if err := policy.ValidateBucket(u.Bucket); err != nil {
		p.add(path+".bucket", "%s", detail(err))
		ok = false
	}
	if u.Prefix == "" || !strings.HasSuffix(u.Prefix, "/") {
		p.add(path+".prefix", "%q must end in \"/\" (uploads land below it)", u.Prefix)
		return
	}
	exp, err := policy.Expand(u.Prefix, prefixAttributes(cl.Name, u.Prefix))
	if err != nil {
		p.add(path+".prefix", "%s", err)
		return
	}
	if err := policy.ValidateKey(exp + "x"); err != nil {
		p.add(path+".prefix", "%q can never start a valid key: %s", u.Prefix, detail(err))
		return
	}
	if !ok {
		return
	}
	for _, g := range cl.Grants {
		if g.Bucket != u.Bucket || !contains(g.Methods, policy.MethodPut) {
			continue
		}
		for _, gp := range g.Prefixes {
			if strings.HasPrefix(u.Prefix, gp) {
				return
			}
		}
	}
	p.add(path, "bucket %q prefix %q is not inside any of the client's PUT grants; "+
		"add a grant with method PUT on that bucket and a prefix that starts it", u.Bucket, u.Prefix)
}

// checkClientName checks the name of clients[i]; seen holds the names of the clients
// before it, and it is added there.
func checkClientName(p *Problems, path string, i int, name string, seen map[string]int) {
	switch {
	case name == "":
		p.add(path+".name", "is required")
	case !clientNameRE.MatchString(name):
		p.add(path+".name", "%q may contain only lowercase letters, digits, '.', '_' and '-'", name)
	default:
		if j, dup := seen[name]; dup {
			p.add(path+".name", "%q is already the name of clients[%d]", name, j)
		} else {
			seen[name] = i
		}
	}
}

// checkTokenHash checks the token_sha256 of clients[i]; seen holds the hashes of the
// clients before it, and it is added there.
func checkTokenHash(p *Problems, path string, i int, h string, seen map[string]int) {
	switch {
	case h == "":
		p.add(path+".token_sha256", "is required unless match names the client's principals (presignd hash-token prints it)")
	case !hexSHA256RE.MatchString(h):
		p.add(path+".token_sha256", "must be 64 lowercase hex digits (presignd hash-token prints it)")
	default:
		if j, dup := seen[h]; dup {
			p.add(path+".token_sha256", "is the same as that of clients[%d]; every client needs its own token", j)
		} else {
			seen[h] = i
		}
	}
}

func checkLimits(p *Problems, c *Config) {
	l := c.Limits
	inRange := func(path string, v *int, lo int) bool {
		if v != nil && (*v < lo || *v > MaxLimit) {
			p.add(path, "%d is not between %d and %d", *v, lo, MaxLimit)
			return false
		}
		return true
	}
	okConns := inRange("limits.max_connections", l.MaxConnections, 1)
	if inRange("limits.close_idle_above", l.CloseIdleAbove, 0) && okConns && l.CloseIdleAbove != nil && *l.CloseIdleAbove > c.MaxConnections() {
		p.add("limits.close_idle_above", "%d is above limits.max_connections (%d), so idle connections would never be closed", *l.CloseIdleAbove, c.MaxConnections())
	}
	if inRange("limits.max_in_flight", l.MaxInFlight, 1) && okConns && l.MaxInFlight != nil && *l.MaxInFlight > c.MaxConnections() {
		p.add("limits.max_in_flight", "%d is above limits.max_connections (%d); a connection carries one request at a time", *l.MaxInFlight, c.MaxConnections())
	}
}

func checkGrant(p *Problems, path, client string, g Grant) {
	if g.Bucket == "" {
		p.add(path+".bucket", "is required")
	} else if err := policy.ValidateBucket(g.Bucket); err != nil {
		p.add(path+".bucket", "%s", detail(err))
	}
	if len(g.Prefixes) == 0 {
		// A grant without prefixes would otherwise cover the whole bucket by omission.
		p.add(path+".prefixes", "at least one prefix is required (\"\" for the whole bucket)")
	}
	for k, pfx := range g.Prefixes {
		kp := fmt.Sprintf("%s.prefixes[%d]", path, k)
		if pfx != "" && !strings.HasSuffix(pfx, "/") {
			p.add(kp, "%q must be \"\" (the whole bucket) or end in \"/\"", pfx)
			continue
		}
		exp, err := policy.Expand(pfx, prefixAttributes(client, pfx))
		if err != nil {
			p.add(kp, "%s", err)
			continue
		}
		if exp != "" {
			// A prefix must itself be the start of a valid key.
			if err := policy.ValidateKey(exp + "x"); err != nil {
				p.add(kp, "%q can never match a valid key: %s", pfx, detail(err))
			}
		}
	}
	if len(g.Methods) == 0 {
		p.add(path+".methods", "at least one of GET, PUT, HEAD, DELETE is required")
	}
	seen := map[string]bool{}
	for k, m := range g.Methods {
		mp := fmt.Sprintf("%s.methods[%d]", path, k)
		switch {
		case !contains(policy.Methods, m):
			p.add(mp, "%q is not one of GET, PUT, HEAD, DELETE", m)
		case seen[m]:
			p.add(mp, "%s is listed twice", m)
		}
		seen[m] = true
	}
	switch {
	case g.MaxTTL == nil:
		p.add(path+".max_ttl", "is required (a Go duration such as 1h, or days such as 7d)")
	case g.MaxTTL.D < 1e9:
		p.add(path+".max_ttl", "%s is below the minimum of 1s", g.MaxTTL)
	case g.MaxTTL.D > policy.S3MaxTTL:
		p.add(path+".max_ttl", "%s is above 7d, the longest S3 allows", g.MaxTTL)
	}
	for k, ct := range g.ContentTypes {
		if !mediaRangeRE.MatchString(strings.ToLower(ct)) {
			p.add(fmt.Sprintf("%s.content_types[%d]", path, k), "%q is not a media type such as image/png or image/*", ct)
		}
	}
	if g.MaxContentLength != nil && *g.MaxContentLength < 1 {
		p.add(path+".max_content_length", "must be at least 1 byte")
	}
	if g.MaxContentLength != nil && *g.MaxContentLength > signer.MaxObjectSize {
		p.add(path+".max_content_length", "is above 5 TiB, the largest object S3 stores")
	}
}

func nonEmpty(s string) string {
	if s == "" {
		return "client"
	}
	return s
}

func checkHostPort(p *Problems, path, v string, required bool) {
	if v == "" {
		if required {
			p.add(path, "is required (host:port, such as 127.0.0.1:8080)")
		}
		return
	}
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		p.add(path, "%q is not host:port", v)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p.add(path, "%q has no valid port", v)
	}
}

func checkEndpoint(p *Problems, path, v string) {
	if v == "" {
		return
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		p.add(path, "%q must be an http or https URL such as https://s3.example.com", v)
	}
}

func detail(err error) string {
	if ie, ok := err.(*policy.InvalidError); ok {
		return ie.Detail
	}
	return err.Error()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
