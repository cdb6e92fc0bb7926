package signer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// CallTimeout bounds each call presignd makes to S3 (multipart create, list, complete, abort).
const CallTimeout = 15 * time.Second

// S3Error is an error answered by S3 to one of presignd's own calls.
type S3Error struct {
	Op      string
	Code    string // S3's error code, e.g. NoSuchUpload
	Message string
	Status  int // S3's HTTP status; 0 when S3 could not be reached
	Err     error
}

// Fault says what an S3 error means to the caller of presignd.
type Fault int

const (
	// FaultS3 is S3 failing or unreachable: the caller may try again.
	FaultS3 Fault = iota
	// FaultUploadGone is an upload S3 no longer holds (completed or aborted).
	FaultUploadGone
	// FaultUploadRefused is S3 refusing the parts of an upload as they are (a part
	// missing or too small, out of order): the caller must fix the upload.
	FaultUploadRefused
	// FaultNoBucket is a bucket S3 does not have.
	FaultNoBucket
)

// Fault classifies the error by S3's error code.
func (e *S3Error) Fault() Fault {
	switch e.Code {
	case "NoSuchUpload":
		return FaultUploadGone
	case "InvalidPart", "InvalidPartOrder", "EntityTooSmall", "EntityTooLarge":
		return FaultUploadRefused
	case "NoSuchBucket":
		return FaultNoBucket
	}
	return FaultS3
}

// SameETag reports whether two ETags name the same part, as S3 compares them: with
// or without their quotes.
func SameETag(a, b string) bool { return strings.Trim(a, `"`) == strings.Trim(b, `"`) }

func (e *S3Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("S3 %s: %s: %s", e.Op, e.Code, e.Message)
	}
	return fmt.Sprintf("S3 %s: %v", e.Op, e.Err)
}

func (e *S3Error) Unwrap() error { return e.Err }

func s3Error(op string, err error) error {
	e := &S3Error{Op: op, Err: err}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		e.Code, e.Message = ae.ErrorCode(), ae.ErrorMessage()
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		e.Status = re.HTTPStatusCode()
	}
	return e
}

func (s *Signer) callClient(bucket string) *s3.Client {
	t := s.TargetFor(bucket)
	if forcePathStyle(bucket) {
		t.PathStyle = true
	}
	return s.client(t, false)
}

// CreateMultipartUpload starts an upload and returns S3's upload ID.
func (s *Signer) CreateMultipartUpload(ctx context.Context, bucket, key, contentType string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	out, err := s.callClient(bucket).CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key), ContentType: optional(contentType),
	})
	if err != nil {
		return "", s3Error("CreateMultipartUpload", err)
	}
	return aws.ToString(out.UploadId), nil
}

// Part is an uploaded part.
type Part struct {
	Number int32
	ETag   string
	Size   int64
}

// ListParts lists every part S3 holds for an upload.
func (s *Signer) ListParts(ctx context.Context, bucket, key, uploadID string) ([]Part, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	var parts []Part
	p := s3.NewListPartsPaginator(s.callClient(bucket), &s3.ListPartsInput{
		Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s3Error("ListParts", err)
		}
		for _, pt := range page.Parts {
			parts = append(parts, Part{Number: aws.ToInt32(pt.PartNumber), ETag: aws.ToString(pt.ETag), Size: aws.ToInt64(pt.Size)})
		}
	}
	return parts, nil
}

// CompleteMultipartUpload assembles the parts; it returns the object's ETag.
func (s *Signer) CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []Part) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	cp := make([]types.CompletedPart, len(parts))
	for i, p := range parts {
		cp[i] = types.CompletedPart{PartNumber: aws.Int32(p.Number), ETag: aws.String(p.ETag)}
	}
	out, err := s.callClient(bucket).CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: cp},
	})
	if err != nil {
		return "", s3Error("CompleteMultipartUpload", err)
	}
	return aws.ToString(out.ETag), nil
}

// AbortMultipartUpload drops an upload and its parts.
func (s *Signer) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	_, err := s.callClient(bucket).AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID),
	})
	if err != nil {
		return s3Error("AbortMultipartUpload", err)
	}
	return nil
}

// PartRequest is an allowed request for upload-part URLs.
type PartRequest struct {
	Bucket, Key, UploadID string
	PartNumbers           []int32
	// Plan fixes each part's size, which its URL then signs as Content-Length; the
	// zero Plan signs no size.
	Plan        PartPlan
	Expires     time.Duration
	Credentials aws.Credentials
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

// PresignParts signs one UploadPart URL per part number. Under a bounded Plan each URL
// signs its part's Content-Length, so S3 refuses any other number of bytes, and a
// part number beyond the plan's parts is an error. It makes no network call.
func (s *Signer) PresignParts(ctx context.Context, req PartRequest) ([]PartURL, time.Time, error) {
	if req.Expires < time.Second {
		return nil, time.Time{}, fmt.Errorf("a URL needs a lifetime of at least 1s, got %s", req.Expires)
	}
	req.Expires = req.Expires.Truncate(time.Second)
	at := s.now().UTC().Truncate(time.Second)
	pc := s.presignClient(req.Bucket, at, req.Credentials, req.Expires)
	out := make([]PartURL, len(req.PartNumbers))
	for i, n := range req.PartNumbers {
		in := &s3.UploadPartInput{
			Bucket: aws.String(req.Bucket), Key: aws.String(req.Key), UploadId: aws.String(req.UploadID), PartNumber: aws.Int32(n),
		}
		length := int64(-1)
		if req.Plan.Bounded() {
			if length = req.Plan.PartLength(n); length < 1 {
				return nil, time.Time{}, fmt.Errorf("part %d is not one of the upload's %d parts", n, req.Plan.Count())
			}
			in.ContentLength = aws.Int64(length)
		}
		r, err := pc.PresignUploadPart(ctx, in)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("signing part %d: %w", n, err)
		}
		if r.Method != http.MethodPut {
			return nil, time.Time{}, fmt.Errorf("signing part %d: unexpected method %s", n, r.Method)
		}
		p := PartURL{PartNumber: n, URL: r.URL, Size: length, Headers: map[string]string{}}
		for name, vals := range r.SignedHeader {
			if name = http.CanonicalHeaderKey(name); name != "Host" {
				p.Headers[name] = strings.Join(vals, ",")
			}
		}
		// Never hand out a URL that binds less than the plan says: it is the limit.
		if want := strconv.FormatInt(length, 10); length >= 0 && (p.Headers["Content-Length"] != want || len(p.Headers) != 1) {
			return nil, time.Time{}, fmt.Errorf("signing part %d: the signed headers are %v, want Content-Length %s alone", n, p.Headers, want)
		}
		out[i] = p
	}
	return out, at.Add(req.Expires), nil
}
