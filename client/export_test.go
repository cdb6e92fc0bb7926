package client

import (
	"context"
	"time"
)

// WithSleep replaces the wait between attempts, so tests can see the waits without making them.
func WithSleep(f func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) { c.sleep = f }
}

var ParseRetryAfter = parseRetryAfter
