package policy_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/policy"
)

// benchGrants are a tenant's five grants: its own upload area, a shared public area,
// reports, a second upload area with rules, and a whole archive bucket.
func benchGrants(i int) []policy.Grant {
	media := fmt.Sprintf("media-%d", i%50)
	return []policy.Grant{
		{Bucket: media, Prefixes: []string{"uploads/{client}/", "shared/t0/"}, Methods: []string{"PUT", "GET"}, MaxTTL: time.Hour, ContentTypes: []string{"image/*", "application/pdf"}, MaxContentLength: 10 << 20},
		{Bucket: media, Prefixes: []string{"public/"}, Methods: []string{"GET", "HEAD"}, MaxTTL: 7 * 24 * time.Hour},
		{Bucket: "reports", Prefixes: []string{"daily/{client}/", "monthly/{client}/"}, Methods: []string{"GET"}, MaxTTL: 24 * time.Hour},
		{Bucket: "logs-eu", Prefixes: []string{"tenants/{client}/g3/"}, Methods: []string{"GET", "PUT", "DELETE"}, MaxTTL: 90 * time.Minute},
		{Bucket: fmt.Sprintf("archive-%d", i%7), Prefixes: []string{""}, Methods: []string{"GET"}, MaxTTL: 48 * time.Hour},
	}
}

type benchCall struct {
	client string
	req    policy.Request
}

// benchCalls are requests of every kind (allowed downloads and uploads, a denial)
// from callers distinct clients, spread evenly over the n configured.
func benchCalls(n, callers int) []benchCall {
	calls := make([]benchCall, 1<<14)
	for i := range calls {
		c := (i * 7919) % callers * (n / callers)
		name := fmt.Sprintf("tenant-%05d", c)
		media := fmt.Sprintf("media-%d", c%50)
		var req policy.Request
		switch i % 4 {
		case 0:
			req = policy.Request{Bucket: media, Key: "uploads/" + name + "/2026/11/photo.png", Method: "PUT", ContentType: "image/png", ContentLength: 123456}
		case 1:
			req = policy.Request{Bucket: media, Key: "public/css/site.css", Method: "GET", ContentLength: -1}
		case 2:
			req = policy.Request{Bucket: "reports", Key: "daily/" + name + "/2026-11-22.csv", Method: "GET", ContentLength: -1}
		case 3:
			req = policy.Request{Bucket: "reports", Key: "daily/someone-else/2026-11-22.csv", Method: "GET", ContentLength: -1}
		}
		req.TTL = 3600
		calls[i] = benchCall{client: name, req: req}
	}
	return calls
}

func benchPolicy(tb testing.TB, n int) *policy.Policy {
	tb.Helper()
	clients := make([]policy.Client, n)
	for i := range clients {
		clients[i] = policy.Client{Name: fmt.Sprintf("tenant-%05d", i), Grants: benchGrants(i)}
	}
	p, err := policy.New(clients)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// BenchmarkDecide is a decision with 10 and with 10,000 clients of five grants each,
// for the same ten callers: what the size of the policy costs a decision. The two
// should cost the same.
func BenchmarkDecide(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			benchDecide(b, n, 10)
		})
	}
}

// BenchmarkDecideSpread has every configured client call in turn. With 10,000 clients
// the index no longer fits in the processor's caches, and that shows; the work done
// per decision is the same.
func BenchmarkDecideSpread(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			benchDecide(b, n, n)
		})
	}
}

func benchDecide(b *testing.B, n, callers int) {
	env := policy.Env{Now: now, CredentialsExpire: true, CredentialsExpiry: now.Add(6 * time.Hour)}
	p := benchPolicy(b, n)
	calls := benchCalls(n, callers)
	for _, c := range calls[:4] {
		if _, err := p.Decide(c.client, c.req, env); (err == nil) != (c.req.Key != "daily/someone-else/2026-11-22.csv") {
			b.Fatalf("%s %s: got error %v", c.client, c.req.Key, err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c := &calls[i&(len(calls)-1)]
		_, _ = p.Decide(c.client, c.req, env)
		i++
	}
}

// BenchmarkNew builds the policy of 10,000 clients with 50,000 grants.
func BenchmarkNew(b *testing.B) {
	clients := make([]policy.Client, 10000)
	for i := range clients {
		clients[i] = policy.Client{Name: fmt.Sprintf("tenant-%05d", i), Grants: benchGrants(i)}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := policy.New(clients); err != nil {
			b.Fatal(err)
		}
	}
}
