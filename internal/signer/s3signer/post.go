package s3signer

import (
	"context"
	"fmt"
	"github.com/presignd/presignd/internal/signer"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// PresignPost signs an S3 POST policy with PresignPostObject. It makes no network call.
// The SDK reads its own clock for the signing time; the returned SignedAt is the
// policy's X-Amz-Date.
func (s *Signer) PresignPost(ctx context.Context, req signer.PostRequest) (signer.PostPolicy, error) {
	if req.Expires < time.Second {
		return signer.PostPolicy{}, fmt.Errorf("a policy needs a lifetime of at least 1s, got %s", req.Expires)
	}
	if req.MaxContentLength < req.MinContentLength || req.MaxContentLength < 0 {
		return signer.PostPolicy{}, fmt.Errorf("bad content length range %d-%d", req.MinContentLength, req.MaxContentLength)
	}
	t := s.TargetFor(req.Bucket)
	if forcePathStyle(req.Bucket) {
		t.PathStyle = true
	}
	conditions := []any{
		[]any{"content-length-range", req.MinContentLength, req.MaxContentLength},
		map[string]string{"key": req.Key},
	}
	if req.ContentType != "" {
		conditions = append(conditions, map[string]string{"Content-Type": req.ContentType})
	}
	pc := s3.NewPresignClient(s.client(t, true))
	out, err := pc.PresignPostObject(ctx, &s3.PutObjectInput{Bucket: aws.String(req.Bucket), Key: aws.String(req.Key)},
		func(o *s3.PresignPostOptions) {
			o.Expires = req.Expires
			o.Conditions = conditions
			o.ClientOptions = append(o.ClientOptions, func(o *s3.Options) {
				o.Credentials = staticProvider(sdkCredentials(req.Credentials))
			})
		})
	if err != nil {
		return signer.PostPolicy{}, fmt.Errorf("signing the POST policy: %w", err)
	}
	signedAt, err := time.Parse("20060102T150405Z", out.Values["X-Amz-Date"])
	if err != nil {
		return signer.PostPolicy{}, fmt.Errorf("the POST policy has no valid X-Amz-Date: %w", err)
	}
	fields := make(map[string]string, len(out.Values)+1)
	for k, v := range out.Values {
		fields[k] = v
	}
	if req.ContentType != "" {
		fields["Content-Type"] = req.ContentType
	}
	return signer.PostPolicy{URL: out.URL, Fields: fields, SignedAt: signedAt, Expires: req.Expires}, nil
}

func staticProvider(c aws.Credentials) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil })
}
