package api

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

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
