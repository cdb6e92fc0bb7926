package s3signer

import (
	"context"
	"errors"
	"fmt"
	"github.com/presignd/presignd/internal/signer"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

func s3Error(op string, err error) error {
	e := &signer.S3Error{Op: op, Code: errorCode(err), Status: httpStatus(err), Err: err}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		e.Message = ae.ErrorMessage()
	}
	return e
}

// errorCode is S3's error code in err, "" when S3 gave none.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// httpStatus is the HTTP status of S3's answer in err, 0 when there was none.
func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
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
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	// Not retried: each attempt that reaches S3 starts an upload, and one whose
	// answer is lost is an upload nobody knows the ID of (only a bucket lifecycle
	// rule, AbortIncompleteMultipartUpload, removes it).
	out, err := s.callClient(bucket).CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key), ContentType: optional(contentType),
	}, func(o *s3.Options) { o.Retryer = retry.AddWithMaxAttempts(o.Retryer, 1) })
	if err != nil {
		return "", s3Error("CreateMultipartUpload", err)
	}
	return aws.ToString(out.UploadId), nil
}

// ListParts lists every part S3 holds for an upload.
func (s *Signer) ListParts(ctx context.Context, bucket, key, uploadID string) ([]signer.Part, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	var parts []signer.Part
	p := s3.NewListPartsPaginator(s.callClient(bucket), &s3.ListPartsInput{
		Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s3Error("ListParts", err)
		}
		for _, pt := range page.Parts {
			parts = append(parts, signer.Part{Number: aws.ToInt32(pt.PartNumber), ETag: aws.ToString(pt.ETag), Size: aws.ToInt64(pt.Size)})
		}
	}
	return parts, nil
}

// CompleteMultipartUpload assembles the parts; it returns the object's ETag.
func (s *Signer) CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []signer.Part) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
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
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	_, err := s.callClient(bucket).AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID),
	})
	if err != nil {
		return s3Error("AbortMultipartUpload", err)
	}
	return nil
}

// PresignParts signs one UploadPart URL per part number. Under a bounded Plan each URL
// signs its part's Content-Length, so S3 refuses any other number of bytes, and a
// part number beyond the plan's parts is an error. It makes no network call.
//
// The fast path signs the URLs when it covers the bucket (see fastparts.go);
// s3.PresignClient signs the rest.
func (s *Signer) PresignParts(ctx context.Context, req signer.PartRequest) ([]signer.PartURL, time.Time, error) {
	if req.Expires < time.Second {
		return nil, time.Time{}, fmt.Errorf("a URL needs a lifetime of at least 1s, got %s", req.Expires)
	}
	if req.Plan.Bounded() {
		for _, n := range req.PartNumbers {
			if req.Plan.PartLength(n) < 1 {
				return nil, time.Time{}, fmt.Errorf("part %d is not one of the upload's %d parts", n, req.Plan.Count())
			}
		}
	}
	req.Expires = req.Expires.Truncate(time.Second)
	at := s.now().UTC().Truncate(time.Second)
	out, ok := s.presignPartsFast(ctx, req, at)
	if !ok {
		var err error
		if out, err = s.presignPartsSDK(ctx, req, at); err != nil {
			return nil, time.Time{}, err
		}
	}
	// Never hand out a URL that binds less than the plan says: it is the limit.
	for _, p := range out {
		if err := checkPartBinding(p); err != nil {
			return nil, time.Time{}, err
		}
	}
	return out, at.Add(req.Expires), nil
}

// checkPartBinding checks that a part URL of known size signs exactly its
// Content-Length, and no other header.
func checkPartBinding(p signer.PartURL) error {
	if p.Size < 0 {
		return nil
	}
	var buf [20]byte
	if want := strconv.AppendInt(buf[:0], p.Size, 10); p.Headers["Content-Length"] != string(want) || len(p.Headers) != 1 {
		return fmt.Errorf("signing part %d: the signed headers are %v, want Content-Length %d alone", p.PartNumber, p.Headers, p.Size)
	}
	return nil
}

// presignPartsSDK signs the part URLs of req at the given time with s3.PresignClient.
// It is the reference of the fast path. The part numbers must be in the plan.
func (s *Signer) presignPartsSDK(ctx context.Context, req signer.PartRequest, at time.Time) ([]signer.PartURL, error) {
	pc := s.presignClient(req.Bucket, at, req.Credentials, req.Expires)
	out := make([]signer.PartURL, len(req.PartNumbers))
	for i, n := range req.PartNumbers {
		in := &s3.UploadPartInput{
			Bucket: aws.String(req.Bucket), Key: aws.String(req.Key), UploadId: aws.String(req.UploadID), PartNumber: aws.Int32(n),
		}
		length := req.Plan.PartLength(n)
		if length >= 0 {
			in.ContentLength = aws.Int64(length)
		}
		r, err := pc.PresignUploadPart(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("signing part %d: %w", n, err)
		}
		if r.Method != http.MethodPut {
			return nil, fmt.Errorf("signing part %d: unexpected method %s", n, r.Method)
		}
		p := signer.PartURL{PartNumber: n, URL: r.URL, Size: length, Headers: map[string]string{}}
		for name, vals := range r.SignedHeader {
			if name = http.CanonicalHeaderKey(name); name != "Host" {
				p.Headers[name] = strings.Join(vals, ",")
			}
		}
		out[i] = p
	}
	return out, nil
}
