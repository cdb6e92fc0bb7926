package signer

import (
	"context"
	"time"
)

// ForceSDK makes s sign every URL with s3.PresignClient.
func ForceSDK(s *Signer) { s.sdkOnly = true }

// PresignFast signs req with the fast path only, at the signer's current time, and
// reports whether the fast path covered it.
func PresignFast(ctx context.Context, s *Signer, req Request) (Presigned, bool) {
	req.Expires = req.Expires.Truncate(time.Second)
	return s.presignFast(ctx, req, s.now().UTC().Truncate(time.Second))
}
