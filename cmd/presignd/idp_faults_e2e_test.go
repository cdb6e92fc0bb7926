package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/identity"
	"github.com/presignd/presignd/internal/testenv"
)

// The caller kinds of TestE2EIdentityProviderFaults.
const (
	idpStatic  = "static"      // a static token
	idpRS256   = "jwt-rs256"   // RS256 tokens of the key presignd cached before the phase
	idpES256   = "jwt-es256"   // ES256 tokens of the key presignd cached before the phase
	idpNewKey  = "jwt-newkey"  // RS256 and ES256 tokens of keys presignd has not fetched yet
	idpUnknown = "unknown-kid" // tokens signed by keys the issuer never published
)

var idpKinds = []string{idpStatic, idpRS256, idpES256, idpNewKey, idpUnknown}

const (
	// idpQuota is the requests each caller kind sends at least, per phase.
	idpQuota = 120
	// idpAfterSwitch is the requests each JWT caller kind sends at least after the
	// first success with a new key, in a phase that waits for one.
	idpAfterSwitch = 30
	// idpRefetchWindow is the longest a new key may take to work once the issuer
	// serves it: the wait for the next fetch (identity.DefaultMissInterval, not
	// configurable) and one fetch (identity.DefaultFetchTimeout).
	idpRefetchWindow = identity.DefaultMissInterval + identity.DefaultFetchTimeout
)

// idpPool is tokens minted with one generation of the issuer's keys, used in turn.
type idpPool struct {
	gen  int
	toks []string
	next atomic.Int64
}

func (p *idpPool) take() string { return p.toks[int(p.next.Add(1)-1)%len(p.toks)] }

// mintPool mints n tokens for sub with the issuer's current key for alg, each with
// its own jti so that each is verified once before presignd's cache serves it.
func mintPool(iss *testenv.OIDCIssuer, gen int, sub, alg string, n int) *idpPool {
	p := &idpPool{gen: gen}
	for i := range n {
		p.toks = append(p.toks, iss.Token(sub, testenv.TokenAlg(alg), testenv.TokenClaim("jti", fmt.Sprintf("%s-%d-%d", alg, gen, i))))
	}
	return p
}

// idpRecord is one request of the load and its answer.
type idpRecord struct {
	kind    string
	gen     int // key generation of the token; -1 for static and unknown-kid
	started time.Time
	latency time.Duration
	outcome string // "200", "401 <reason>", "503 <code>", or "error: ..."
}

// idpPhase is one state of the issuer and what each caller must get in it.
type idpPhase struct {
	name string
	mode testenv.OIDCMode
	// switchGen is the key generation presignd is to move to in this phase: tokens
	// of it are refused (unknown_key) until presignd has fetched it, tokens of older
	// generations are served until then and refused after. -1: none.
	switchGen int
	// allowSwitch says whether presignd can fetch switchGen in this phase; if not,
	// tokens of switchGen are refused throughout and older ones served throughout.
	allowSwitch bool
	// fault says the phase lasts until a fetch reached the issuer in its mode.
	fault bool
	// before runs before the load starts, midway once half the quota is sent.
	before, midway func()
}

// TestE2EIdentityProviderFaults runs static-token and JWT callers (RS256, ES256, keys
// presignd has cached, keys it has not, unknown keys) against presignd while the
// issuer serves, refuses connections, hangs, serves garbage, comes back with rotated
// keys and rotates them again under load. Static callers are always served; callers
// whose key is cached are served while the issuer is down; unknown keys are 401
// unknown_key, never a 5xx (the cached keys are younger than max_key_age); new keys
// work within the refetch window once the issuer serves them, without a restart. The
// figures (requests, refusals, latencies per phase and caller) are logged, not
// asserted; presignd_auth_failures_total must count exactly the refusals seen.
func TestE2EIdentityProviderFaults(t *testing.T) {
	t.Parallel()
	testStart := time.Now()
	iss := testenv.NewOIDCIssuer(t)
	// max_key_age at its least (10m): longer than the test, so the cached keys
	// are trusted throughout and no refusal may be a 503.
	cfg := jwtConfig(nil, iss, "      max_key_age: 10m\n") + clientYAML("app", appToken, `[{bucket: media, prefixes: [""], methods: [GET], max_ttl: 1h}]`)
	p := startPresignd(t, cfg)

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	t.Cleanup(client.CloseIdleConnections)

	// Pools by kind: the cached pool of RS256 and ES256, the new-key pools, and
	// tokens of keys never published (made once: a new RSA key each is slow).
	var rsPool, esPool, newRS, newES atomic.Pointer[idpPool]
	gen := 0
	rsPool.Store(mintPool(iss, gen, "rs-user", "RS256", 64))
	esPool.Store(mintPool(iss, gen, "es-user", "ES256", 64))
	var unknown []string
	for i := range 3 {
		unknown = append(unknown,
			iss.Token("rs-user", testenv.TokenUnknownKey(), testenv.TokenClaim("jti", fmt.Sprint("u-rs-", i))),
			iss.Token("es-user", testenv.TokenAlg("ES256"), testenv.TokenUnknownKey(), testenv.TokenClaim("jti", fmt.Sprint("u-es-", i))))
	}
	var unknownNext atomic.Int64

	// rotate makes the issuer publish new keys and the new-key callers use them.
	var rotatedAt time.Time
	rotate := func() {
		iss.Rotate()
		rotatedAt = time.Now()
		gen++
		newRS.Store(mintPool(iss, gen, "rs-user", "RS256", 32))
		newES.Store(mintPool(iss, gen, "es-user", "ES256", 32))
	}

	phases := []idpPhase{
		{name: "serving", mode: testenv.OIDCServing, switchGen: -1},
		{name: "refusing", mode: testenv.OIDCRefusing, switchGen: 1, fault: true, before: rotate},
		{name: "slow", mode: testenv.OIDCSlow, switchGen: 1, fault: true},
		{name: "garbage", mode: testenv.OIDCGarbage, switchGen: 1, fault: true},
		{name: "recovered", mode: testenv.OIDCServing, switchGen: 1, allowSwitch: true},
		{name: "rotated", mode: testenv.OIDCServing, switchGen: 2, allowSwitch: true, before: func() {
			// The keys presignd now holds are the cached ones; the new-key callers
			// use them too until the issuer rotates midway.
			rsPool.Store(newRS.Load())
			esPool.Store(newES.Load())
		}, midway: rotate},
	}

	var all []idpRecord
	var report strings.Builder
	fmt.Fprintf(&report, "\n%-9s %-11s %5s %5s %-24s %8s %8s %8s\n", "phase", "caller", "reqs", "200", "refused", "p50", "p99", "max")
	for _, ph := range phases {
		if ph.before != nil {
			ph.before()
		}
		iss.SetMode(ph.mode)
		phaseStart := time.Now()
		if ph.mode == testenv.OIDCServing && ph.name == "recovered" {
			rotatedAt = phaseStart // the new keys are served from now on
		}
		fetchesBefore := iss.DiscoveryFetches()

		var (
			mu          sync.Mutex
			records     []idpRecord
			sent        = map[string]*atomic.Int64{}
			afterSwitch = map[string]*atomic.Int64{}
			switchAt    atomic.Int64 // UnixNano of the first 200 for a switchGen token
			stop        atomic.Bool
			wg          sync.WaitGroup
		)
		for _, k := range idpKinds {
			sent[k], afterSwitch[k] = new(atomic.Int64), new(atomic.Int64)
		}
		pick := func(kind string, n int64) (tok string, g int, body map[string]any) {
			jwtBody := func(sub string) map[string]any {
				return map[string]any{"bucket": bucketMain, "key": "uploads/" + sub + "/x", "method": "GET", "expires_in": 60}
			}
			pool := func(pl *idpPool, sub string) (string, int, map[string]any) {
				return pl.take(), pl.gen, jwtBody(sub)
			}
			switch kind {
			case idpStatic:
				return appToken, -1, map[string]any{"bucket": "media", "key": "a", "method": "GET", "expires_in": 60}
			case idpRS256:
				return pool(rsPool.Load(), "rs-user")
			case idpES256:
				return pool(esPool.Load(), "es-user")
			case idpNewKey:
				if n%2 == 0 {
					return pool(newRS.Load(), "rs-user")
				}
				return pool(newES.Load(), "es-user")
			}
			return unknown[int(unknownNext.Add(1))%len(unknown)], -1, jwtBody("rs-user")
		}
		for _, kind := range idpKinds {
			if kind == idpNewKey && newRS.Load() == nil {
				continue // no key has been rotated in yet
			}
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for !stop.Load() {
						n := sent[kind].Add(1)
						tok, g, body := pick(kind, n)
						if switchAt.Load() != 0 {
							afterSwitch[kind].Add(1)
						}
						rec := idpRecord{kind: kind, gen: g, started: time.Now()}
						rec.outcome = idpPost(client, p.URL, tok, body)
						rec.latency = time.Since(rec.started)
						if ph.allowSwitch && g == ph.switchGen && rec.outcome == "200" {
							switchAt.CompareAndSwap(0, time.Now().UnixNano())
						}
						mu.Lock()
						records = append(records, rec)
						mu.Unlock()
						// Past the quota, the load only keeps the phase busy.
						pause := 5 * time.Millisecond
						if n > idpQuota {
							pause = 50 * time.Millisecond
						}
						time.Sleep(pause)
					}
				}()
			}
		}

		// The phase ends when every caller has sent its quota and what the phase
		// waits for has happened.
		deadline := time.Now().Add(40 * time.Second)
		midwayDone := ph.midway == nil
		var why string
		for {
			time.Sleep(20 * time.Millisecond)
			if !midwayDone && sent[idpNewKey].Load() >= idpQuota/2 {
				ph.midway()
				midwayDone = true
			}
			done := midwayDone
			for _, k := range idpKinds {
				if (k != idpNewKey || newRS.Load() != nil) && sent[k].Load() < idpQuota {
					done = false
				}
			}
			if ph.fault && iss.DiscoveryFetches() <= fetchesBefore {
				done, why = false, "no fetch of the keys reached the issuer"
			}
			if ph.allowSwitch {
				if switchAt.Load() == 0 {
					done, why = false, "no token of the new keys was served"
				} else {
					for _, k := range []string{idpRS256, idpES256, idpNewKey} {
						if afterSwitch[k].Load() < idpAfterSwitch {
							done = false
						}
					}
				}
			}
			if done {
				break
			}
			if time.Now().After(deadline) {
				stop.Store(true)
				wg.Wait()
				t.Fatalf("phase %s: not done after 40s: %s", ph.name, why)
			}
		}
		stop.Store(true)
		wg.Wait() // a request waiting for a fetch in flight ends with the fetch
		phaseTime := time.Since(phaseStart)
		fetches := iss.DiscoveryFetches() - fetchesBefore

		// What each request must have got.
		var switched time.Time
		if sa := switchAt.Load(); sa != 0 {
			switched = time.Unix(0, sa)
			if took := switched.Sub(rotatedAt); took > idpRefetchWindow {
				t.Errorf("phase %s: the new keys were first served %v after the issuer served them, want at most %v", ph.name, took.Round(time.Millisecond), idpRefetchWindow)
			}
		}
		var unexpected []string
		for _, r := range records {
			var want []string
			switch {
			case r.kind == idpStatic:
				want = []string{"200"}
			case r.kind == idpUnknown:
				want = []string{"401 unknown_key"}
			case !ph.allowSwitch:
				want = []string{"200"}
				if r.gen == ph.switchGen {
					want = []string{"401 unknown_key"}
				}
			case !switched.IsZero() && r.started.After(switched):
				// presignd held the new keys before this request began.
				want = []string{"401 unknown_key"}
				if r.gen == ph.switchGen {
					want = []string{"200"}
				}
			default:
				want = []string{"200", "401 unknown_key"}
			}
			if !slices.Contains(want, r.outcome) {
				unexpected = append(unexpected, fmt.Sprintf("%s (key generation %d): got %s, want %s", r.kind, r.gen, r.outcome, strings.Join(want, " or ")))
			}
		}
		if len(unexpected) > 0 {
			t.Errorf("phase %s: %d of %d answers were not what they must be, e.g.:\n  %s", ph.name, len(unexpected), len(records), strings.Join(unexpected[:min(len(unexpected), 10)], "\n  "))
		}

		// The figures.
		for _, k := range idpKinds {
			var lat []time.Duration
			refused := map[string]int{}
			ok := 0
			for _, r := range records {
				if r.kind != k {
					continue
				}
				lat = append(lat, r.latency)
				if r.outcome == "200" {
					ok++
				} else {
					refused[r.outcome]++
				}
			}
			if len(lat) == 0 {
				continue
			}
			slices.Sort(lat)
			var rs []string
			for o, n := range refused {
				rs = append(rs, fmt.Sprintf("%s×%d", o, n))
			}
			sort.Strings(rs)
			r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
			fmt.Fprintf(&report, "%-9s %-11s %5d %5d %-24s %8v %8v %8v\n", ph.name, k, len(lat), ok, cmp.Or(strings.Join(rs, ","), "-"),
				r(lat[len(lat)/2]), r(lat[(len(lat)*99)/100]), r(lat[len(lat)-1]))
		}
		note := ""
		if !switched.IsZero() {
			note = fmt.Sprintf(", new keys served %v after the issuer served them", switched.Sub(rotatedAt).Round(time.Millisecond))
		}
		fmt.Fprintf(&report, "%-9s %v, %d key fetches reached the issuer%s\n", ph.name, phaseTime.Round(time.Millisecond), fetches, note)
		all = append(all, records...)
	}

	// presignd_auth_failures_total counts exactly the refusals the callers saw.
	seen := map[string]float64{}
	for _, r := range all {
		switch {
		case strings.HasPrefix(r.outcome, "401 "):
			seen[strings.TrimPrefix(r.outcome, "401 ")]++
		case r.outcome == "503 identity_unavailable":
			seen["issuer_unavailable"]++
		}
	}
	_, fams := scrape(t, p.AdminURL+"/metrics")
	counted := map[string]float64{}
	for _, m := range fams["presignd_auth_failures_total"].GetMetric() {
		counted[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
	}
	if len(counted) == 0 {
		t.Errorf("presignd_auth_failures_total is missing from /metrics")
	}
	for reason, n := range counted {
		if n != seen[reason] {
			t.Errorf("presignd_auth_failures_total{reason=%q} = %v, the callers saw %v", reason, n, seen[reason])
		}
	}
	for reason, n := range seen {
		if _, ok := counted[reason]; !ok {
			t.Errorf("the callers saw %v refusals for %s, presignd_auth_failures_total has no such reason", n, reason)
		}
	}
	t.Logf("identity-provider faults, %d requests in %v:%s", len(all), time.Since(testStart).Round(time.Millisecond), report.String())
}

// idpPost asks presignd for a URL and says what it answered: "200", "401 <reason>",
// "<status> <code>" for another problem, or the error.
func idpPost(client *http.Client, base, token string, body map[string]any) string {
	data, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, base+"/v1/presign", bytes.NewReader(data))
	if err != nil {
		return "error: " + err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "error: reading the answer: " + err.Error()
	}
	if resp.StatusCode == http.StatusOK {
		var res presignResult
		if json.Unmarshal(b, &res) != nil || res.URL == "" {
			return "200 without a URL"
		}
		return "200"
	}
	var pr problem
	if json.Unmarshal(b, &pr) != nil || pr.Status != resp.StatusCode {
		return fmt.Sprintf("%d (not a problem: %.80q)", resp.StatusCode, b)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		if pr.Code != "unauthenticated" {
			return fmt.Sprintf("401 code %s", pr.Code)
		}
		return "401 " + pr.Reason
	}
	if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
		return fmt.Sprintf("503 %s without Retry-After", pr.Code)
	}
	return fmt.Sprintf("%d %s", resp.StatusCode, pr.Code)
}
