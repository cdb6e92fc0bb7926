package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/presignd/presignd/client"
)

func TestPresign(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/presign" || r.Method != http.MethodPost {
			t.Errorf("got %s %s, want POST /v1/presign", r.Method, r.URL.Path)
		}
		if a := r.Header.Get("Authorization"); a != "Bearer tok" {
			t.Errorf("Authorization: got %q, want %q", a, "Bearer tok")
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Error(err)
		}
		if got["key"] == "denied/x" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"type":"urn:presignd:problem:forbidden","title":"Forbidden","status":403,"detail":"no grant on bucket \"b\" covers this key","code":"forbidden","reason":"prefix_not_allowed"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"url":"https://b.s3.amazonaws.com/k?X-Amz-Signature=x","method":"PUT","expires_at":"2026-11-22T21:00:00Z","expires_in":900,"headers":{"Content-Type":"image/png"},"capped_by":"policy"}`))
	}))
	defer srv.Close()
	c := client.New(srv.URL+"/", "tok")

	n := int64(5)
	res, err := c.Presign(context.Background(), client.Request{Bucket: "b", Key: "k", Method: "PUT", ExpiresIn: 3600, ContentType: "image/png", ContentLength: &n})
	if err != nil {
		t.Fatal(err)
	}
	if res.Method != "PUT" || res.ExpiresIn != 900 || res.CappedBy != "policy" || res.Headers["Content-Type"] != "image/png" {
		t.Errorf("response: got %+v", res)
	}
	if got["content_length"] != float64(5) || got["expires_in"] != float64(3600) {
		t.Errorf("request body: got %v", got)
	}
	if _, ok := got["version_id"]; ok {
		t.Errorf("request body has version_id, which was not set: %v", got)
	}

	_, err = c.Presign(context.Background(), client.Request{Bucket: "b", Key: "denied/x"})
	var p *client.Problem
	if !errors.As(err, &p) || p.Status != 403 || p.Reason != "prefix_not_allowed" {
		t.Fatalf("denied: got %v, want a 403 prefix_not_allowed problem", err)
	}
	if want := `presignd refused (forbidden, prefix_not_allowed): no grant on bucket "b" covers this key`; err.Error() != want {
		t.Errorf("error text: got %q, want %q", err.Error(), want)
	}
}

func TestPresignUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	if _, err := client.New(url, "tok").Presign(context.Background(), client.Request{Bucket: "b", Key: "k"}); err == nil {
		t.Fatal("got no error from a closed server")
	}
}
