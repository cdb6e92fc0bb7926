package signer_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"

	"github.com/presignd/presignd/internal/signer"
)

func TestS3ErrorFault(t *testing.T) {
	for code, want := range map[string]signer.Fault{
		"NoSuchUpload":     signer.FaultUploadGone,
		"InvalidPart":      signer.FaultUploadRefused,
		"InvalidPartOrder": signer.FaultUploadRefused,
		"EntityTooSmall":   signer.FaultUploadRefused,
		"EntityTooLarge":   signer.FaultUploadRefused,
		"NoSuchBucket":     signer.FaultNoBucket,
		"SlowDown":         signer.FaultSlowDown,
		"InternalError":    signer.FaultS3,
		"":                 signer.FaultS3, // S3 not reached
	} {
		if got := (&signer.S3Error{Code: code}).Fault(); got != want {
			t.Errorf("code %q: got fault %d, want %d", code, got, want)
		}
	}
}

func TestS3ErrorFaultOfCalls(t *testing.T) {
	deadline := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	for _, tt := range []struct {
		name string
		err  signer.S3Error
		want signer.Fault
	}{
		{"the call's context ran out", signer.S3Error{Err: fmt.Errorf("operation error S3: ListParts: %w", context.DeadlineExceeded)}, signer.FaultTimeout},
		{"a network deadline", signer.S3Error{Err: deadline}, signer.FaultTimeout},
		{"the caller went away", signer.S3Error{Err: context.Canceled}, signer.FaultS3},
		{"connection refused", signer.S3Error{Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}}, signer.FaultS3},
		{"connection reset", signer.S3Error{Err: errors.New("read tcp: connection reset by peer")}, signer.FaultS3},
		{"503 without a code", signer.S3Error{Status: 503, Err: errors.New("503")}, signer.FaultSlowDown},
		{"503 ServiceUnavailable", signer.S3Error{Code: "ServiceUnavailable", Status: 503}, signer.FaultSlowDown},
		{"500 InternalError", signer.S3Error{Code: "InternalError", Status: 500}, signer.FaultS3},
		{"a 500 after the deadline passed", signer.S3Error{Code: "InternalError", Status: 500, Err: context.DeadlineExceeded}, signer.FaultS3},
	} {
		if got := tt.err.Fault(); got != tt.want {
			t.Errorf("%s: got fault %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestSameETag(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{`"abc"`, `abc`, true},
		{`"abc"`, `"abc"`, true},
		{`abc`, `abd`, false},
		{`"abc"`, `"abc-2"`, false},
	} {
		if got := signer.SameETag(tc.a, tc.b); got != tc.want {
			t.Errorf("SameETag(%s, %s): got %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
