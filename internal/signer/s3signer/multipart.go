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
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

func s3Error(op string, err error) error {
	e := &signer.S3Error{Op: op, Err: err}
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
	ctx, cancel := context.WithTimeout(ctx, signer.CallTimeout)
	defer cancel()
	out, err := s.callClient(bucket).CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key), ContentType: optional(contentType),
	})
	if err != nil {
		return "", s3Error("CreateMultipartUpload", err)
	}
	return aws.ToString(out.UploadId), nil
}

// ListParts lists every part S3 holds for an upload.
func (s *Signer) ListParts(ctx context.Context, bucket, key, uploadID string) ([]signer.Part, error) {
	ctx, cancel := context.WithTimeout(ctx, signer.CallTimeout)
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
	ctx, cancel := context.WithTimeout(ctx, signer.CallTimeout)
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
	ctx, cancel := context.WithTimeout(ctx, signer.CallTimeout)
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
func (s *Signer) PresignParts(ctx context.Context, req signer.PartRequest) ([]signer.PartURL, time.Time, error) {
	if req.Expires < time.Second {
		return nil, time.Time{}, fmt.Errorf("a URL needs a lifetime of at least 1s, got %s", req.Expires)
	}
	req.Expires = req.Expires.Truncate(time.Second)
	at := s.now().UTC().Truncate(time.Second)
	pc := s.presignClient(req.Bucket, at, req.Credentials, req.Expires)
	out := make([]signer.PartURL, len(req.PartNumbers))
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
		p := signer.PartURL{PartNumber: n, URL: r.URL, Size: length, Headers: map[string]string{}}
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
