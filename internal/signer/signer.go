// Package signer is presignd's knowledge of S3 that needs no AWS code: S3's limits,
// part plans, the requests to sign and what signing them gives back, and the faults of
// S3's answers. The API speaks only this package; s3signer (its subpackage) does the
// signing and the calls to S3 with aws-sdk-go-v2.
package signer

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Credentials are the signing credentials of one moment. The policy decides a
// lifetime against their expiry and the URL is then signed with exactly these.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// CanExpire is false for credentials that never expire.
	CanExpire bool
	Expires   time.Time
}

// Request is an allowed request to sign.
type Request struct {
	Bucket  string
	Key     string
	Method  string
	Expires time.Duration
	// Credentials are the credentials to sign with, those the decision was made about.
	Credentials Credentials

	VersionID      string
	ContentType    string
	ContentLength  int64 // -1: not declared
	ChecksumSHA256 string
	Metadata       map[string]string

	ResponseContentDisposition string
	ResponseContentType        string
	ResponseCacheControl       string
}

// Presigned is a signed URL and what the caller must send with it.
type Presigned struct {
	URL    string
	Method string
	// Headers are the signed headers other than Host, in canonical form.
	Headers  map[string]string
	SignedAt time.Time
	Expires  time.Duration
}

// ExpiresAt is the moment the URL stops working: X-Amz-Date + X-Amz-Expires.
func (p Presigned) ExpiresAt() time.Time { return p.SignedAt.Add(p.Expires) }

// PostRequest is an allowed browser form upload to sign as an S3 POST policy.
type PostRequest struct {
	Bucket string
	// Key is the whole key: the policy holds the form to it exactly. (A starts-with
	// condition cannot stop "../" in the uploader's key, which stores that map keys
	// to paths resolve out of the prefix.)
	Key         string
	Expires     time.Duration
	Credentials Credentials
	// ContentType is the exact Content-Type; empty means any.
	ContentType string
	// MinContentLength and MaxContentLength bound the size (content-length-range).
	MinContentLength int64
	MaxContentLength int64
}

// PostPolicy is a signed form: POST the fields, then the file, to URL.
type PostPolicy struct {
	URL      string
	Fields   map[string]string
	SignedAt time.Time
	Expires  time.Duration
}

// ExpiresAt is the moment the policy stops working.
func (p PostPolicy) ExpiresAt() time.Time { return p.SignedAt.Add(p.Expires) }

// PartRequest is an allowed request for upload-part URLs.
type PartRequest struct {
	Bucket, Key, UploadID string
	PartNumbers           []int32
	// Plan fixes each part's size, which its URL then signs as Content-Length; the
	// zero Plan signs no size.
	Plan        PartPlan
	Expires     time.Duration
	Credentials Credentials
}

// PartURL is one pre-signed UploadPart URL.
type PartURL struct {
	PartNumber int32
	URL        string
	// Size is the part's exact size, the Content-Length the URL signs; -1 when the
	// URL binds no size.
	Size int64
	// Headers are the signed headers other than Host, in canonical form.
	Headers map[string]string
}

// Part is an uploaded part.
type Part struct {
	Number int32
	ETag   string
	Size   int64
}

// SameETag reports whether two ETags name the same part, as S3 compares them: with
// or without their quotes.
func SameETag(a, b string) bool { return strings.Trim(a, `"`) == strings.Trim(b, `"`) }

// CheckMetadataNames refuses names that differ only in case: they are one header,
// and a signer would sign one of their values, whichever its map iteration meets last.
func CheckMetadataNames(md map[string]string) error {
	if len(md) < 2 {
		return nil
	}
	seen := make(map[string]string, len(md))
	for name := range md {
		canonical := http.CanonicalHeaderKey(strings.TrimSpace(name))
		if other, dup := seen[canonical]; dup {
			return fmt.Errorf("metadata names %q and %q are the same header", other, name)
		}
		seen[canonical] = name
	}
	return nil
}

// UploadCall is one of S3's multipart calls that a browser widget makes itself with a
// pre-signed URL (Uppy's signRequest mode).
type UploadCall string

// The calls.
const (
	CallCreateMultipartUpload   UploadCall = "CreateMultipartUpload"
	CallListParts               UploadCall = "ListParts"
	CallCompleteMultipartUpload UploadCall = "CompleteMultipartUpload"
	CallAbortMultipartUpload    UploadCall = "AbortMultipartUpload"
)

// Method is the HTTP method of the call.
func (c UploadCall) Method() string {
	switch c {
	case CallCreateMultipartUpload, CallCompleteMultipartUpload:
		return http.MethodPost
	case CallListParts:
		return http.MethodGet
	case CallAbortMultipartUpload:
		return http.MethodDelete
	}
	return ""
}

// UploadCallRequest is an allowed multipart call to sign. UploadID is S3's own upload
// ID; empty for CreateMultipartUpload.
type UploadCallRequest struct {
	Call                  UploadCall
	Bucket, Key, UploadID string
	Expires               time.Duration
	Credentials           Credentials
}
