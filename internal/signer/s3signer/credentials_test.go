package s3signer_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/presignd/presignd/internal/signer/s3signer"
	"github.com/presignd/presignd/internal/testenv"
)

// countingProvider hands out new credentials on every call and counts the calls.
type countingProvider struct {
	calls atomic.Int64
	err   error
}

func (p *countingProvider) Retrieve(context.Context) (aws.Credentials, error) {
	n := p.calls.Add(1)
	if p.err != nil {
		return aws.Credentials{}, p.err
	}
	return aws.Credentials{
		AccessKeyID:     fmt.Sprintf("ASIAEXAMPLE%d", n),
		SecretAccessKey: testenv.SecretAccessKey,
		SessionToken:    fmt.Sprintf("token-%d", n),
		Source:          "counting",
	}, nil
}

// clock is a controllable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func TestCredentialsProviderError(t *testing.T) {
	errDenied := errors.New("web identity token rejected")
	s := newSigner(t, s3signer.Config{Default: s3signer.Target{Region: "us-east-1"}, Credentials: &countingProvider{err: errDenied}})
	if _, err := s.Credentials(context.Background()); !errors.Is(err, errDenied) {
		t.Fatalf("Credentials error = %v, want one wrapping %v", err, errDenied)
	}
	if _, _, err := s.Refresh(context.Background()); !errors.Is(err, errDenied) {
		t.Fatalf("Refresh error = %v, want one wrapping %v", err, errDenied)
	}
}

func TestCredentialsAreCached(t *testing.T) {
	p := &countingProvider{}
	s := newSigner(t, s3signer.Config{Default: s3signer.Target{Region: "us-east-1"}, Credentials: p})
	for range 3 {
		c, err := s.Credentials(context.Background())
		if err != nil {
			t.Fatalf("Credentials: %v", err)
		}
		if c.AccessKeyID != "ASIAEXAMPLE1" {
			t.Fatalf("AccessKeyID = %q, want the first, cached, ASIAEXAMPLE1", c.AccessKeyID)
		}
	}
	if got := p.calls.Load(); got != 1 {
		t.Fatalf("provider called %d times, want 1", got)
	}
}

func TestRefreshAtMostOncePerInterval(t *testing.T) {
	ctx := context.Background()
	p := &countingProvider{}
	clk := &clock{t: signingTime}
	s := newSigner(t, s3signer.Config{Default: s3signer.Target{Region: "us-east-1"}, Credentials: p, Now: clk.Now})

	if _, err := s.Credentials(ctx); err != nil {
		t.Fatalf("Credentials: %v", err)
	}
	steps := []struct {
		after         time.Duration // since signingTime
		wantRefreshed bool
		wantKey       string
		wantCalls     int64
	}{
		{0, true, "ASIAEXAMPLE2", 2},
		{time.Second, false, "ASIAEXAMPLE2", 2},
		{s3signer.RefreshInterval - time.Nanosecond, false, "ASIAEXAMPLE2", 2},
		{s3signer.RefreshInterval, true, "ASIAEXAMPLE3", 3},
		{s3signer.RefreshInterval + 10*time.Second, false, "ASIAEXAMPLE3", 3},
		{2*s3signer.RefreshInterval + time.Minute, true, "ASIAEXAMPLE4", 4},
	}
	for _, st := range steps {
		clk.Set(signingTime.Add(st.after))
		c, refreshed, err := s.Refresh(ctx)
		if err != nil {
			t.Fatalf("at +%s: Refresh: %v", st.after, err)
		}
		if refreshed != st.wantRefreshed || c.AccessKeyID != st.wantKey {
			t.Errorf("at +%s: Refresh = (%s, %t), want (%s, %t)", st.after, c.AccessKeyID, refreshed, st.wantKey, st.wantRefreshed)
		}
		if got := p.calls.Load(); got != st.wantCalls {
			t.Errorf("at +%s: provider called %d times, want %d", st.after, got, st.wantCalls)
		}
	}

	// Many concurrent callers after the interval: exactly one refreshes.
	clk.Set(signingTime.Add(10 * s3signer.RefreshInterval))
	var wg sync.WaitGroup
	var refreshedCount atomic.Int64
	for range 16 {
		wg.Go(func() {
			if _, refreshed, err := s.Refresh(ctx); err != nil {
				t.Errorf("Refresh: %v", err)
			} else if refreshed {
				refreshedCount.Add(1)
			}
		})
	}
	wg.Wait()
	if got := refreshedCount.Load(); got != 1 {
		t.Errorf("%d concurrent callers refreshed, want exactly 1", got)
	}
	if got := p.calls.Load(); got != 5 {
		t.Errorf("provider called %d times, want 5", got)
	}
}

// TestDecideRefreshesOnceWhenCredentialsLimit: Decide runs the decision against the
// cached credentials, refreshes them only when the decision says they limited it (and
// then at most once per interval), runs it again, and returns the credentials the
// last run saw.
func TestDecideRefreshesOnceWhenCredentialsLimit(t *testing.T) {
	ctx := context.Background()
	p := &countingProvider{}
	clk := &clock{t: signingTime}
	s := newSigner(t, s3signer.Config{Default: s3signer.Target{Region: "us-east-1"}, Credentials: p, Now: clk.Now})

	var runs int
	notLimited := func(bool, time.Time) bool { runs++; return false }
	c, err := s.Decide(ctx, notLimited)
	if err != nil || runs != 1 || c.AccessKeyID != "ASIAEXAMPLE1" || p.calls.Load() != 1 {
		t.Fatalf("not limited: got %s, %v after %d runs and %d retrievals; want ASIAEXAMPLE1 after 1 run and 1 retrieval", c.AccessKeyID, err, runs, p.calls.Load())
	}

	runs = 0
	limited := func(bool, time.Time) bool { runs++; return true }
	c, err = s.Decide(ctx, limited)
	if err != nil || runs != 2 || c.AccessKeyID != "ASIAEXAMPLE2" {
		t.Fatalf("limited: got %s, %v after %d runs; want the fresh ASIAEXAMPLE2 after 2 runs", c.AccessKeyID, err, runs)
	}

	runs = 0
	clk.Set(signingTime.Add(time.Second)) // within the refresh interval
	c, err = s.Decide(ctx, limited)
	if err != nil || runs != 1 || c.AccessKeyID != "ASIAEXAMPLE2" || p.calls.Load() != 2 {
		t.Fatalf("limited again at once: got %s, %v after %d runs and %d retrievals; want ASIAEXAMPLE2 after 1 run, no new retrieval", c.AccessKeyID, err, runs, p.calls.Load())
	}

	failing := newSigner(t, s3signer.Config{Default: s3signer.Target{Region: "us-east-1"}, Credentials: &countingProvider{err: errors.New("no session")}})
	runs = 0
	if _, err := failing.Decide(ctx, limited); err == nil || runs != 0 {
		t.Fatalf("without credentials: got %v after %d runs; want an error before any run", err, runs)
	}
}
