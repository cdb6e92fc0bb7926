package s3signer

import (
	"context"
	"github.com/presignd/presignd/internal/signer"
	"time"
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
