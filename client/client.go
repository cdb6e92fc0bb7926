// Package client calls a presignd server from Go.
//
//	c := client.New("https://presignd.internal", client.StaticToken(token))
//	res, err := c.Presign(ctx, client.Request{Bucket: "media", Key: "a/b.png"})
//
// A workload in Kubernetes reads its projected service-account token from a file that the
// kubelet rotates; [TokenFile] follows it:
//
//	c := client.New("https://presignd.internal", client.TokenFile("/var/run/secrets/tokens/presignd"))
//
// Every method sends one request (a JSON body, or a GET) and decodes one JSON answer. A
// refusal comes back as a [*Problem]. Answers 429 and 503 are retried as [Retry] describes.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client calls one presignd server. It is safe for concurrent use.
type Client struct {
	base   string
	tokens TokenSource
	http   *http.Client
	retry  Retry
	sleep  func(ctx context.Context, d time.Duration) error
}

// Option changes how a [Client] works.
type Option func(*Client)

// WithHTTPClient makes the client send its requests through h. The default is an
// [http.Client] with a 30-second timeout per attempt.
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) { c.http = h }
}

// WithRetry replaces the default retry policy ([DefaultRetry]).
func WithRetry(r Retry) Option {
	return func(c *Client) { c.retry = r }
}

// New returns a client for the presignd at baseURL that authenticates with the tokens
// from tokens: a [StaticToken], a [TokenFile] or a source of the caller's own.
func New(baseURL string, tokens TokenSource, opts ...Option) *Client {
	c := &Client{
		base:   strings.TrimRight(baseURL, "/"),
		tokens: tokens,
		http:   &http.Client{Timeout: 30 * time.Second},
		retry:  DefaultRetry,
		sleep:  sleepCtx,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Problem is an error answer of presignd (RFC 9457 application/problem+json).
// Code is the stable, machine-readable part; it is empty when the answer was not a problem
// document (a proxy's error page, say), and then Status and Title still say what came back.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	// Reason says why a well-formed request was denied; only on 403 forbidden.
	Reason string `json:"reason,omitempty"`

	// RetryAfter is the wait the answer's Retry-After header asked for, or 0.
	RetryAfter time.Duration `json:"-"`
	// RequestID is the answer's X-Request-Id, which presignd's logs carry too.
	RequestID string `json:"-"`
}

func (p *Problem) Error() string {
	if p.Code == "" {
		return fmt.Sprintf("presignd answered %d %s", p.Status, p.Title)
	}
	msg := p.Detail
	if msg == "" {
		msg = p.Title
	}
	if p.Reason != "" {
		return fmt.Sprintf("presignd refused (%s, %s): %s", p.Code, p.Reason, msg)
	}
	return fmt.Sprintf("presignd refused (%s): %s", p.Code, msg)
}

// maxAnswer bounds the answer read into memory; a batch of 1000 URLs is well below it.
const maxAnswer = 16 << 20

// post sends in as JSON to path and decodes the answer into out, retrying as c.retry
// allows. repeatable says whether the request may be sent again after a connection error
// that could have happened after presignd got it.
func (c *Client) post(ctx context.Context, path string, repeatable bool, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encoding the request for %s: %w", path, err)
	}
	return c.call(ctx, http.MethodPost, path, body, repeatable, out)
}

// get sends GET path and decodes the answer into out, retrying as c.retry allows; a GET
// may always be sent again.
func (c *Client) get(ctx context.Context, path string, out any) error {
	return c.call(ctx, http.MethodGet, path, nil, true, out)
}

// call sends method path with body (none when nil), retrying as c.retry allows.
func (c *Client) call(ctx context.Context, method, path string, body []byte, repeatable bool, out any) error {
	attempts := max(c.retry.Attempts, 1)
	for attempt := 1; ; attempt++ {
		err := c.send(ctx, method, path, body, out)
		if err == nil {
			return nil
		}
		if attempt >= attempts || ctx.Err() != nil || !retryable(err, repeatable) {
			return err
		}
		wait, ok := c.retry.wait(attempt, err)
		if !ok {
			return err
		}
		if dl, has := ctx.Deadline(); has && time.Until(dl) < wait {
			return err
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return fmt.Errorf("%w (gave up waiting to retry: %w)", err, serr)
		}
	}
}

// send makes one attempt.
func (c *Client) send(ctx context.Context, method, path string, body []byte, out any) error {
	if c.tokens == nil {
		return errors.New("presignd client has no token source")
	}
	token, err := c.tokens.Token(ctx)
	if err != nil {
		return err
	}
	if !validToken(token) {
		return errors.New("the presignd token is empty or holds spaces or control characters")
	}
	r, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return fmt.Errorf("bad presignd address %q: %w", c.base, err)
	}
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		r.Header.Set("Content-Type", "application/json")
	}
	r.Header.Set("Accept", "application/json, application/problem+json")
	r.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(r)
	if err != nil {
		return &connError{base: c.base, err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return &connError{base: c.base, err: err, answered: true}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return problemOf(resp, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("presignd's answer to %s is not the expected JSON: %w", path, err)
	}
	return nil
}

// problemOf turns an error answer into a *Problem.
func problemOf(resp *http.Response, data []byte) *Problem {
	p := &Problem{}
	if json.Unmarshal(data, p) != nil || p.Code == "" {
		p = &Problem{Title: http.StatusText(resp.StatusCode)}
	}
	p.Status = resp.StatusCode
	p.RetryAfter, _ = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	p.RequestID = resp.Header.Get("X-Request-Id")
	return p
}

// connError is a request that got no HTTP answer.
type connError struct {
	base string
	err  error
	// answered is set when presignd answered but the answer could not be read.
	answered bool
}

func (e *connError) Error() string {
	if e.answered {
		return fmt.Sprintf("lost presignd's answer from %s: %v", e.base, e.err)
	}
	return fmt.Sprintf("cannot reach presignd at %s: %v", e.base, e.err)
}
func (e *connError) Unwrap() error { return e.err }

// validToken reports whether token can be sent as a bearer token: visible ASCII only.
func validToken(token string) bool {
	if token == "" {
		return false
	}
	for i := 0; i < len(token); i++ {
		if token[i] <= ' ' || token[i] > '~' {
			return false
		}
	}
	return true
}
