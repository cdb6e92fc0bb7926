package s3signer

import (
	"context"
	"maps"
	"net/http"
	"time"

	"github.com/presignd/presignd/internal/signer"
)

// The fast path signs UploadPart URLs as it signs the PUT of Presign, with the part
// number and upload ID in the query and x-id=UploadPart. It looks the route and the
// signing key up once per call, not once per part. The bucket's part probes check it
// against PresignUploadPart, byte for byte.

// presignPartsFast signs the part URLs of req at the given time when the fast path
// covers it, and reports whether it did. The part numbers must be in the plan.
func (s *Signer) presignPartsFast(ctx context.Context, req signer.PartRequest, at time.Time) ([]signer.PartURL, bool) {
	if s.sdkOnly || req.Key == "" || req.UploadID == "" || req.Expires < time.Second {
		return nil, false
	}
	rt := s.route(ctx, req.Bucket)
	if rt == nil || !rt.parts {
		return nil, false
	}
	key := s.signingKey(req.Credentials.SecretAccessKey, at, rt.region, rt.service)
	return rt.signParts(&req, at, key), true
}

// signParts signs one UploadPart URL per part number of req.
func (rt *route) signParts(req *signer.PartRequest, at time.Time, key *signingKey) []signer.PartURL {
	put := signer.Request{Bucket: req.Bucket, Key: req.Key, Method: http.MethodPut, Expires: req.Expires, Credentials: req.Credentials}
	part := uploadPart{uploadID: req.UploadID}
	out := make([]signer.PartURL, len(req.PartNumbers))
	for i, n := range req.PartNumbers {
		part.number = n
		put.ContentLength = req.Plan.PartLength(n)
		url, headers := rt.sign(&put, &part, at, key)
		out[i] = signer.PartURL{PartNumber: n, URL: url, Size: put.ContentLength, Headers: headers}
	}
	return out
}

// partProbes are UploadPart requests: a plain one of unknown size, and one of known
// sizes under temporary credentials, with the highest part number and a key and an
// upload ID that need escaping.
func partProbes(bucket string) []signer.PartRequest {
	temp := probeCredentials
	temp.SessionToken = "probe/session+token=="
	return []signer.PartRequest{
		{Bucket: bucket, Key: "k", UploadID: "u", PartNumbers: []int32{1}, Expires: time.Second, Credentials: probeCredentials},
		{
			Bucket: bucket, Key: probeRequests()[1].Key, UploadID: "probe upload/id+=%~é\xff", PartNumbers: []int32{1, signer.MaxParts},
			Plan:    signer.PartPlan{Size: (signer.MaxParts-1)*signer.MinPartSize + 1, PartSize: signer.MinPartSize},
			Expires: 604800 * time.Second, Credentials: temp,
		},
	}
}

// probeParts checks the route on the part probes, and sets rt.parts when the fast
// path signs them all as the SDK does.
func (s *Signer) probeParts(ctx context.Context, rt *route, bucket string) error {
	for _, p := range partProbes(bucket) {
		want, err := s.presignPartsSDK(ctx, p, probeTime)
		if err != nil {
			return err
		}
		key := deriveSigningKey(p.Credentials.SecretAccessKey, probeTime, rt.region, rt.service)
		got := rt.signParts(&p, probeTime, key)
		for i := range want {
			if got[i].URL != want[i].URL || got[i].Size != want[i].Size || !maps.Equal(got[i].Headers, want[i].Headers) {
				return nil
			}
		}
	}
	rt.parts = true
	return nil
}
