package signer_test

import (
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
		"SlowDown":         signer.FaultS3,
		"InternalError":    signer.FaultS3,
		"":                 signer.FaultS3, // S3 not reached
	} {
		if got := (&signer.S3Error{Code: code}).Fault(); got != want {
			t.Errorf("code %q: got fault %d, want %d", code, got, want)
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
