package s3signer

import (
	"context"
	"fmt"
	"github.com/presignd/presignd/internal/signer"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// PresignPost signs an S3 POST policy. It makes no network call.
//
// The fast path signs the policy when it covers the bucket (see fastpost.go), byte for
// byte as PresignPostObject signs it at the same time; PresignPostObject signs the rest.
func (s *Signer) PresignPost(ctx context.Context, req signer.PostRequest) (signer.PostPolicy, error) {
	if req.Expires < time.Second {
		return signer.PostPolicy{}, fmt.Errorf("a policy needs a lifetime of at least 1s, got %s", req.Expires)
	}
	if req.MaxContentLength < req.MinContentLength || req.MaxContentLength < 0 {
		return signer.PostPolicy{}, fmt.Errorf("bad content length range %d-%d", req.MinContentLength, req.MaxContentLength)
	}
	// The policy's expiration is whole seconds; keep ExpiresAt equal to it.
	req.Expires = req.Expires.Truncate(time.Second)
	at := s.now().UTC().Truncate(time.Second)
	if p, ok := s.presignPostFast(ctx, req, at); ok {
		return p, nil
	}
	return s.presignPostSDK(ctx, req, at)
}

// postConditions are the conditions presignd puts in a policy, after those
// PresignPostObject puts first: the size range, the exact key and, when set, the exact
// Content-Type. appendPolicy writes the same.
func postConditions(req signer.PostRequest) []any {
	conditions := []any{
		[]any{"content-length-range", req.MinContentLength, req.MaxContentLength},
		map[string]string{"key": req.Key},
	}
	if req.ContentType != "" {
		conditions = append(conditions, map[string]string{"Content-Type": req.ContentType})
	}
	return conditions
}

// presignPostSDK signs req at the given time with PresignPostObject. It is the
// reference of the fast path, and signs whatever the fast path does not cover.
func (s *Signer) presignPostSDK(ctx context.Context, req signer.PostRequest, at time.Time) (signer.PostPolicy, error) {
	pc := s.presignClient(req.Bucket, at, req.Credentials, req.Expires)
	out, err := pc.PresignPostObject(ctx, &s3.PutObjectInput{Bucket: aws.String(req.Bucket), Key: aws.String(req.Key)},
		func(o *s3.PresignPostOptions) {
			o.Expires = req.Expires
			o.Conditions = postConditions(req)
			o.PostPresigner = fixedPostSigner{inner: o.PostPresigner, at: at, expires: req.Expires}
		})
	if err != nil {
		return signer.PostPolicy{}, fmt.Errorf("signing the POST policy: %w", err)
	}
	fields := make(map[string]string, len(out.Values)+1)
	for k, v := range out.Values {
		fields[k] = v
	}
	if req.ContentType != "" {
		fields["Content-Type"] = req.ContentType
	}
	return signer.PostPolicy{URL: out.URL, Fields: fields, SignedAt: at, Expires: req.Expires}, nil
}

// fixedPostSigner signs a POST policy at a known time: PresignPostObject would read
// its own clock, and the policy would then expire at another moment than ExpiresAt
// says. The expiration is the one PresignPostObject computes, from the known time.
type fixedPostSigner struct {
	inner   s3.PresignPost
	at      time.Time
	expires time.Duration
}

func (f fixedPostSigner) PresignPost(creds aws.Credentials, bucket, key, region, service string, _ time.Time, conditions []any, _ time.Time, optFns ...func(*v4.SignerOptions)) (map[string]string, error) {
	return f.inner.PresignPost(creds, bucket, key, region, service, f.at, conditions, f.at.Add(f.expires).UTC(), optFns...)
}

func staticProvider(c aws.Credentials) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil })
}
