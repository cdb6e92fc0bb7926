// Package client calls a presignd server from Go.
//
//	c := client.New("https://presignd.internal", token)
//	res, err := c.Presign(ctx, client.Request{Bucket: "media", Key: "a/b.png"})
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client calls one presignd server with one bearer token.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// New returns a client for the presignd at baseURL.
func New(baseURL, token string) *Client {
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}
}

// WithHTTPClient replaces the HTTP client.
func (c *Client) WithHTTPClient(h *http.Client) *Client {
	c2 := *c
	c2.http = h
	return &c2
}

// Request asks for one pre-signed URL. Zero values are left out.
type Request struct {
	Bucket                     string            `json:"bucket"`
	Key                        string            `json:"key"`
	Method                     string            `json:"method,omitempty"`
	ExpiresIn                  int64             `json:"expires_in,omitempty"`
	StrictTTL                  bool              `json:"strict_ttl,omitempty"`
	VersionID                  string            `json:"version_id,omitempty"`
	ContentType                string            `json:"content_type,omitempty"`
	ContentLength              *int64            `json:"content_length,omitempty"`
	ChecksumSHA256             string            `json:"checksum_sha256,omitempty"`
	Metadata                   map[string]string `json:"metadata,omitempty"`
	ResponseContentDisposition string            `json:"response_content_disposition,omitempty"`
	ResponseContentType        string            `json:"response_content_type,omitempty"`
	ResponseCacheControl       string            `json:"response_cache_control,omitempty"`
	DownloadFilename           string            `json:"download_filename,omitempty"`
}

// Response is a pre-signed URL and what must be sent with it.
type Response struct {
	URL       string            `json:"url"`
	Method    string            `json:"method"`
	ExpiresAt time.Time         `json:"expires_at"`
	ExpiresIn int64             `json:"expires_in"`
	Headers   map[string]string `json:"headers"`
	CappedBy  string            `json:"capped_by,omitempty"`
}

// Problem is an error answered by presignd (RFC 9457).
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Reason string `json:"reason,omitempty"`
}

func (p *Problem) Error() string {
	msg := p.Detail
	if msg == "" {
		msg = p.Title
	}
	if p.Reason != "" {
		return fmt.Sprintf("presignd refused (%s, %s): %s", p.Code, p.Reason, msg)
	}
	return fmt.Sprintf("presignd refused (%s): %s", p.Code, msg)
}

// Presign asks for one URL.
func (c *Client) Presign(ctx context.Context, req Request) (*Response, error) {
	var res Response
	if err := c.post(ctx, "/v1/presign", req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

func (c *Client) post(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("bad presignd address %q: %w", c.base, err)
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(r)
	if err != nil {
		return fmt.Errorf("cannot reach presignd at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("reading presignd's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		p := &Problem{Status: resp.StatusCode}
		if json.Unmarshal(data, p) != nil || p.Code == "" {
			return fmt.Errorf("presignd answered %s", resp.Status)
		}
		return p
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("presignd's answer is not valid JSON: %w", err)
	}
	return nil
}
