package client_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presignd/presignd/client"
)

// seen is one request as the fake server got it.
type seen struct {
	method, path, auth, contentType string
	body                            []byte
}

// recorder answers every request with status and body, and records what it got.
func recorder(t *testing.T, status int, header http.Header, body string) (*httptest.Server, func() []seen) {
	t.Helper()
	var (
		mu  sync.Mutex
		got []seen
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), b})
		mu.Unlock()
		for k, v := range header {
			w.Header()[k] = v
		}
		if status >= 400 {
			w.Header().Set("Content-Type", "application/problem+json")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seen {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// sameJSON fails unless got and want hold the same JSON value.
func sameJSON(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: got %q, not JSON: %v", what, got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: want %q, not JSON: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got  %s\n want %s", what, got, want)
	}
}

func ptr[T any](v T) *T { return &v }

// TestEndpoints checks every method's request (method, path, headers, JSON body) and the
// decoding of its answer.
func TestEndpoints(t *testing.T) {
	at := time.Date(2026, 11, 22, 21, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		call     func(context.Context, *client.Client) (any, error)
		method   string // POST when empty
		path     string
		wantBody string // no body at all when empty
		answer   string
		want     any
	}{
		{
			name: "presign",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.Presign(ctx, client.Request{Bucket: "b", Key: "k", Method: "PUT", ExpiresIn: 3600,
					ContentType: "image/png", ContentLength: ptr(int64(5)), Metadata: map[string]string{"owner": "u-1"}})
			},
			path:     "/v1/presign",
			wantBody: `{"bucket":"b","key":"k","method":"PUT","expires_in":3600,"content_type":"image/png","content_length":5,"metadata":{"owner":"u-1"}}`,
			answer:   `{"url":"https://b.s3/k?X-Amz-Signature=x","method":"PUT","expires_at":"2026-11-22T21:00:00Z","expires_in":900,"headers":{"Content-Type":"image/png"},"capped_by":"policy"}`,
			want: &client.Response{URL: "https://b.s3/k?X-Amz-Signature=x", Method: "PUT", ExpiresAt: at, ExpiresIn: 900,
				Headers: map[string]string{"Content-Type": "image/png"}, CappedBy: "policy"},
		},
		{
			name: "presign with only the required fields",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.Presign(ctx, client.Request{Bucket: "b", Key: "k"})
			},
			path:     "/v1/presign",
			wantBody: `{"bucket":"b","key":"k"}`,
			answer:   `{"url":"https://b.s3/k","method":"GET","expires_at":"2026-11-22T21:00:00Z","expires_in":3600,"headers":{}}`,
			want:     &client.Response{URL: "https://b.s3/k", Method: "GET", ExpiresAt: at, ExpiresIn: 3600, Headers: map[string]string{}},
		},
		{
			name: "batch",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.PresignBatch(ctx, []client.Request{{Bucket: "b", Key: "a"}, {Bucket: "b", Key: "/bad", ExpiresIn: 60}})
			},
			path:     "/v1/presign/batch",
			wantBody: `{"requests":[{"bucket":"b","key":"a"},{"bucket":"b","key":"/bad","expires_in":60}]}`,
			answer: `{"results":[{"url":"https://b.s3/a","method":"GET","expires_at":"2026-11-22T21:00:00Z","expires_in":3600,"headers":{}},` +
				`{"error":{"type":"urn:presignd:problem:invalid_key","title":"Invalid key","status":400,"detail":"key must not start with /","code":"invalid_key"}}]}`,
			want: []client.BatchResult{
				{Response: &client.Response{URL: "https://b.s3/a", Method: "GET", ExpiresAt: at, ExpiresIn: 3600, Headers: map[string]string{}}},
				{Error: &client.Problem{Type: "urn:presignd:problem:invalid_key", Title: "Invalid key", Status: 400, Detail: "key must not start with /", Code: "invalid_key"}},
			},
		},
		{
			name: "post policy",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.PresignPost(ctx, client.PostPolicyRequest{Bucket: "media", KeyPrefix: "uploads/u-42/", Filename: "a.png",
					ContentType: "image/png", MaxContentLength: ptr(int64(0)), ExpiresIn: 600})
			},
			path:     "/v1/presign/post",
			wantBody: `{"bucket":"media","key_prefix":"uploads/u-42/","filename":"a.png","expires_in":600,"content_type":"image/png","max_content_length":0}`,
			answer:   `{"url":"https://media.s3/","key":"uploads/u-42/x/a.png","fields":{"key":"uploads/u-42/x/a.png","policy":"p"},"expires_at":"2026-11-22T21:00:00Z","expires_in":600}`,
			want: &client.PostPolicyResponse{URL: "https://media.s3/", Key: "uploads/u-42/x/a.png",
				Fields: map[string]string{"key": "uploads/u-42/x/a.png", "policy": "p"}, ExpiresAt: at, ExpiresIn: 600},
		},
		{
			name: "multipart create",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.CreateMultipart(ctx, client.MultipartCreateRequest{Bucket: "media", Key: "v.mp4", ContentType: "video/mp4", ContentLength: ptr(int64(734003200))})
			},
			path:     "/v1/multipart/create",
			wantBody: `{"bucket":"media","key":"v.mp4","content_type":"video/mp4","content_length":734003200}`,
			answer:   `{"upload_id":"v2.abc.def","bucket":"media","key":"v.mp4","part_size":5242880,"part_count":140}`,
			want:     &client.MultipartCreateResponse{UploadID: "v2.abc.def", Bucket: "media", Key: "v.mp4", PartSize: 5242880, PartCount: 140},
		},
		{
			name: "multipart parts",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.SignParts(ctx, client.MultipartPartsRequest{Bucket: "media", Key: "v.mp4", UploadID: "v2.abc.def", PartNumbers: []int{1, 140}, ExpiresIn: 900, StrictTTL: true})
			},
			path:     "/v1/multipart/parts",
			wantBody: `{"bucket":"media","key":"v.mp4","upload_id":"v2.abc.def","part_numbers":[1,140],"expires_in":900,"strict_ttl":true}`,
			answer: `{"parts":[{"part_number":1,"url":"https://u/1","size":5242880,"headers":{"Content-Length":"5242880"}},` +
				`{"part_number":140,"url":"https://u/140","size":5,"headers":{"Content-Length":"5"}}],"expires_at":"2026-11-22T21:00:00Z","expires_in":900}`,
			want: &client.MultipartPartsResponse{Parts: []client.PartURL{
				{PartNumber: 1, URL: "https://u/1", Size: 5242880, Headers: map[string]string{"Content-Length": "5242880"}},
				{PartNumber: 140, URL: "https://u/140", Size: 5, Headers: map[string]string{"Content-Length": "5"}},
			}, ExpiresAt: at, ExpiresIn: 900},
		},
		{
			name: "multipart complete",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.CompleteMultipart(ctx, client.MultipartCompleteRequest{Bucket: "media", Key: "v.mp4", UploadID: "v2.abc.def",
					Parts: []client.CompletedPart{{PartNumber: 1, ETag: `"e1"`}, {PartNumber: 2, ETag: `"e2"`}}})
			},
			path:     "/v1/multipart/complete",
			wantBody: `{"bucket":"media","key":"v.mp4","upload_id":"v2.abc.def","parts":[{"part_number":1,"etag":"\"e1\""},{"part_number":2,"etag":"\"e2\""}]}`,
			answer:   `{"bucket":"media","key":"v.mp4","etag":"\"x-2\"","size":10485765}`,
			want:     &client.MultipartCompleteResponse{Bucket: "media", Key: "v.mp4", ETag: `"x-2"`, Size: 10485765},
		},
		{
			name: "multipart abort",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return nil, c.AbortMultipart(ctx, client.MultipartAbortRequest{Bucket: "media", Key: "v.mp4", UploadID: "v2.abc.def"})
			},
			path:     "/v1/multipart/abort",
			wantBody: `{"bucket":"media","key":"v.mp4","upload_id":"v2.abc.def"}`,
			answer:   `{"aborted":true}`,
			want:     nil,
		},
		{
			name: "explain",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.Explain(ctx, client.Request{Bucket: "media", Key: "a.txt", ExpiresIn: 86400})
			},
			path:     "/v1/explain",
			wantBody: `{"bucket":"media","key":"a.txt","expires_in":86400}`,
			answer: `{"allowed":true,"client":"app","grant":{"index":0,"bucket":"media","prefix":"","methods":["GET"],"max_ttl":3600},` +
				`"expires_in":3600,"capped_by":"policy","limits":{"policy":3600,"s3_max":604800}}`,
			want: &client.Explanation{Allowed: true, Client: "app",
				Grant:     &client.ExplainedGrant{Index: 0, Bucket: "media", Prefix: "", Methods: []string{"GET"}, MaxTTL: 3600},
				ExpiresIn: 3600, CappedBy: "policy", Limits: map[string]int64{"policy": 3600, "s3_max": 604800}},
		},
		{
			name:   "whoami",
			call:   func(ctx context.Context, c *client.Client) (any, error) { return c.Whoami(ctx) },
			method: http.MethodGet,
			path:   "/v1/whoami",
			answer: `{"client":"ops","principal":{"kind":"proxy","subject":"alice@example.com","groups":["ops"]},` +
				`"grants":[{"bucket":"media","prefixes":["uploads/alice/"],"methods":["GET","PUT"],"max_ttl":3600,"max_content_length":1048576,"content_types":["image/*"]}],` +
				`"max_expires_in":604800}`,
			want: &client.Whoami{Client: "ops", Principal: client.Principal{Kind: "proxy", Subject: "alice@example.com", Groups: []string{"ops"}},
				Grants: []client.Grant{{Bucket: "media", Prefixes: []string{"uploads/alice/"}, Methods: []string{"GET", "PUT"}, MaxTTL: 3600,
					MaxContentLength: 1048576, ContentTypes: []string{"image/*"}}},
				MaxExpiresIn: 604800},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, got := recorder(t, http.StatusOK, nil, tc.answer)
			c := client.New(srv.URL+"/", client.StaticToken("tok"))
			res, err := tc.call(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			reqs := got()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			method := cmp.Or(tc.method, http.MethodPost)
			if r.method != method || r.path != tc.path {
				t.Errorf("got %s %s, want %s %s", r.method, r.path, method, tc.path)
			}
			if r.auth != "Bearer tok" {
				t.Errorf("Authorization: got %q, want %q", r.auth, "Bearer tok")
			}
			if tc.wantBody == "" {
				if len(r.body) != 0 || r.contentType != "" {
					t.Errorf("got a body %q of type %q, want none", r.body, r.contentType)
				}
			} else {
				if r.contentType != "application/json" {
					t.Errorf("Content-Type: got %q, want application/json", r.contentType)
				}
				sameJSON(t, "request body", r.body, tc.wantBody)
			}
			if tc.want != nil && !reflect.DeepEqual(res, tc.want) {
				t.Errorf("answer:\n got  %#v\n want %#v", res, tc.want)
			}
		})
	}
}

func TestProblem(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		header  http.Header
		body    string
		want    client.Problem
		wantMsg string
	}{
		{
			name:   "forbidden",
			status: http.StatusForbidden,
			header: http.Header{"X-Request-Id": {"req-1"}},
			body:   `{"type":"urn:presignd:problem:forbidden","title":"Forbidden","status":403,"detail":"no grant on bucket \"b\" covers this key","code":"forbidden","reason":"prefix_not_allowed"}`,
			want: client.Problem{Type: "urn:presignd:problem:forbidden", Title: "Forbidden", Status: 403,
				Detail: `no grant on bucket "b" covers this key`, Code: "forbidden", Reason: "prefix_not_allowed", RequestID: "req-1"},
			wantMsg: `presignd refused (forbidden, prefix_not_allowed): no grant on bucket "b" covers this key`,
		},
		{
			name:   "unauthenticated",
			status: http.StatusUnauthorized,
			body:   `{"type":"urn:presignd:problem:unauthenticated","title":"Unauthenticated","status":401,"detail":"unknown token","code":"unauthenticated"}`,
			want: client.Problem{Type: "urn:presignd:problem:unauthenticated", Title: "Unauthenticated", Status: 401,
				Detail: "unknown token", Code: "unauthenticated"},
			wantMsg: `presignd refused (unauthenticated): unknown token`,
		},
		{
			name:    "not a problem document",
			status:  http.StatusBadGateway,
			body:    `<html>bad gateway</html>`,
			want:    client.Problem{Title: "Bad Gateway", Status: 502},
			wantMsg: `presignd answered 502 Bad Gateway`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, got := recorder(t, tc.status, tc.header, tc.body)
			_, err := client.New(srv.URL, client.StaticToken("tok")).Presign(context.Background(), client.Request{Bucket: "b", Key: "k"})
			var p *client.Problem
			if !errors.As(err, &p) {
				t.Fatalf("got %v, want a *Problem", err)
			}
			if *p != tc.want {
				t.Errorf("problem:\n got  %#v\n want %#v", *p, tc.want)
			}
			if err.Error() != tc.wantMsg {
				t.Errorf("error text: got %q, want %q", err.Error(), tc.wantMsg)
			}
			if n := len(got()); n != 1 {
				t.Errorf("got %d requests, want 1 (no retry)", n)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c := client.New(url, client.StaticToken("secret-token"), client.WithRetry(client.Retry{Attempts: 1}))
	_, err := c.Presign(context.Background(), client.Request{Bucket: "b", Key: "k"})
	if err == nil {
		t.Fatal("got no error from a closed server")
	}
	if !strings.Contains(err.Error(), url) || strings.Contains(err.Error(), "secret-token") {
		t.Errorf("error %q: want the address and never the token", err)
	}
}

func TestBadAnswer(t *testing.T) {
	srv, _ := recorder(t, http.StatusOK, nil, `{"url": 5}`)
	_, err := client.New(srv.URL, client.StaticToken("tok")).Presign(context.Background(), client.Request{Bucket: "b", Key: "k"})
	if err == nil || !strings.Contains(err.Error(), "not the expected JSON") {
		t.Errorf("got %v, want an error saying the answer is not the expected JSON", err)
	}
}
