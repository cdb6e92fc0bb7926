package s3signer

import (
	"context"
	"maps"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/presignd/presignd/internal/signer"
)

// ForceSDK makes s sign every URL with s3.PresignClient.
func ForceSDK(s *Signer) { s.sdkOnly = true }

// PresignFast signs req with the fast path only, at the signer's current time, and
// reports whether the fast path covered it.
func PresignFast(ctx context.Context, s *Signer, req signer.Request) (signer.Presigned, bool) {
	req.Expires = req.Expires.Truncate(time.Second)
	return s.presignFast(ctx, req, s.now().UTC().Truncate(time.Second))
}

// Refresh is refresh, for tests of the refresh throttle.
func (s *Signer) Refresh(ctx context.Context) (signer.Credentials, bool, error) {
	c, refreshed, err := s.refresh(ctx)
	return snapshot(c), refreshed, err
}

// PresignPostFast signs req with the fast path only, at the signer's current time, and
// reports whether the fast path covered it.
func PresignPostFast(ctx context.Context, s *Signer, req signer.PostRequest) (signer.PostPolicy, bool) {
	req.Expires = req.Expires.Truncate(time.Second)
	return s.presignPostFast(ctx, req, s.now().UTC().Truncate(time.Second))
}

// PresignPartsFast signs req with the fast path only, at the signer's current time, and
// reports whether the fast path covered it. The part numbers must be in the plan.
func PresignPartsFast(ctx context.Context, s *Signer, req signer.PartRequest) ([]signer.PartURL, bool) {
	req.Expires = req.Expires.Truncate(time.Second)
	return s.presignPartsFast(ctx, req, s.now().UTC().Truncate(time.Second))
}

// PresignPostObjectOwnClock signs req with PresignPostObject as it is, reading its own
// clock, for a check that pinning the time changes nothing else.
func PresignPostObjectOwnClock(ctx context.Context, s *Signer, req signer.PostRequest) (signer.PostPolicy, error) {
	pc := s.presignClient(req.Bucket, time.Time{}, req.Credentials, req.Expires)
	out, err := pc.PresignPostObject(ctx, &s3.PutObjectInput{Bucket: aws.String(req.Bucket), Key: aws.String(req.Key)},
		func(o *s3.PresignPostOptions) {
			o.Expires = req.Expires
			o.Conditions = postConditions(req)
		})
	if err != nil {
		return signer.PostPolicy{}, err
	}
	at, err := time.Parse("20060102T150405Z", out.Values["X-Amz-Date"])
	if err != nil {
		return signer.PostPolicy{}, err
	}
	fields := maps.Clone(out.Values)
	if req.ContentType != "" {
		fields["Content-Type"] = req.ContentType
	}
	return signer.PostPolicy{URL: out.URL, Fields: fields, SignedAt: at, Expires: req.Expires}, nil
}
