package api

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/netip"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/presignd/presignd/internal/identity"
	"github.com/presignd/presignd/internal/signer"
)

// failingS3 answers every S3 call with err; the rest of Presigner is not called.
type failingS3 struct {
	Presigner
	err error
}

func (f failingS3) CreateMultipartUpload(context.Context, string, string, string) (string, error) {
	return "", f.err
}
func (f failingS3) ListParts(context.Context, string, string, string) ([]signer.Part, error) {
	return nil, f.err
}
func (f failingS3) CompleteMultipartUpload(context.Context, string, string, string, []signer.Part) (string, error) {
	return "", f.err
}
func (f failingS3) AbortMultipartUpload(context.Context, string, string, string) error { return f.err }

// A failed S3 call's span says which problem it became, and nothing of S3's message,
// which may hold the request's URL and so the key.
func TestTracedS3Failures(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	secret := errors.New(`Post "http://s3/bucket/private-key.bin?uploads": dial tcp: connection refused`)
	ts := tracedS3{Presigner: failingS3{err: &signer.S3Error{Op: "CompleteMultipartUpload", Code: "NoSuchUpload", Status: 404, Message: "private-key.bin", Err: secret}}, tracer: tp.Tracer("test")}
	ctx := context.Background()
	_, _ = ts.CreateMultipartUpload(ctx, "media", "private-key.bin", "")
	_, _ = ts.ListParts(ctx, "media", "private-key.bin", "id")
	_, _ = ts.CompleteMultipartUpload(ctx, "media", "private-key.bin", "id", nil)
	_ = ts.AbortMultipartUpload(ctx, "media", "private-key.bin", "id")
	got := spans.GetSpans()
	want := []string{"S3 CreateMultipartUpload", "S3 ListParts", "S3 CompleteMultipartUpload", "S3 AbortMultipartUpload"}
	if len(got) != len(want) {
		t.Fatalf("%d spans, want %d", len(got), len(want))
	}
	for i, s := range got {
		if s.Name != want[i] || s.Status.Code != codes.Error || s.Status.Description != CodeUploadNotFound {
			t.Errorf("span %d: %q status %v %q, want %q error %q", i, s.Name, s.Status.Code, s.Status.Description, want[i], CodeUploadNotFound)
		}
		var errType string
		for _, a := range s.Attributes {
			if a.Key == "error.type" {
				errType = a.Value.AsString()
			}
			if v := a.Value.String(); v == "private-key.bin" || a.Key == attribute.Key("aws.s3.key") {
				t.Errorf("span %q holds the key in %s", s.Name, a.Key)
			}
		}
		if errType != CodeUploadNotFound {
			t.Errorf("span %q error.type %q, want %q", s.Name, errType, CodeUploadNotFound)
		}
		for _, ev := range s.Events {
			t.Errorf("span %q has an event %q (an error's message would be in it)", s.Name, ev.Name)
		}
	}
}

// TestClientAddress: a span's client is the peer unless the peer is a trusted proxy,
// whose X-Forwarded-For entry (the last one) then names it.
func TestClientAddress(t *testing.T) {
	proxy := &identity.Proxy{Peers: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	for _, tc := range []struct {
		name, peer string
		xff        []string
		proxy      *identity.Proxy
		want       string
	}{
		{"no proxy configured", "10.1.2.3:4000", []string{"203.0.113.9"}, nil, "10.1.2.3"},
		{"an untrusted peer's header is ignored", "192.0.2.1:4000", []string{"203.0.113.9"}, proxy, "192.0.2.1"},
		{"a trusted proxy, one entry", "10.1.2.3:4000", []string{"203.0.113.9"}, proxy, "203.0.113.9"},
		{"a trusted proxy appends the last entry", "10.1.2.3:4000", []string{"198.51.100.1, 203.0.113.9"}, proxy, "203.0.113.9"},
		{"the last of several header lines", "10.1.2.3:4000", []string{"198.51.100.1", "192.0.2.7 ,  203.0.113.9 "}, proxy, "203.0.113.9"},
		{"an entry with a port", "10.1.2.3:4000", []string{"203.0.113.9:5555"}, proxy, "203.0.113.9"},
		{"IPv6 in brackets with a port", "[::1]:443", []string{"[2001:db8::7]:5555"}, proxy, "2001:db8::7"},
		{"IPv6", "[::1]:443", []string{"2001:db8::7"}, proxy, "2001:db8::7"},
		{"not an address", "10.1.2.3:4000", []string{"198.51.100.1, unknown"}, proxy, "10.1.2.3"},
		{"empty", "10.1.2.3:4000", []string{""}, proxy, "10.1.2.3"},
		{"no header from a trusted proxy", "10.1.2.3:4000", nil, proxy, "10.1.2.3"},
		{"an IPv6 peer", "[2001:db8::1]:4000", []string{"203.0.113.9"}, proxy, "2001:db8::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/v1/presign", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientAddress(r, tc.proxy); got != tc.want {
				t.Errorf("clientAddress = %q, want %q", got, tc.want)
			}
		})
	}
}
