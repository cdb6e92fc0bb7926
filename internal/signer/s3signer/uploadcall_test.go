package s3signer_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/presignd/presignd/internal/signer"
	"github.com/presignd/presignd/internal/signer/s3signer"
	"github.com/presignd/presignd/internal/testenv"
)

func TestPresignUploadCall(t *testing.T) {
	for _, target := range []s3signer.Target{
		{Region: "us-east-1"},
		{Region: "eu-west-1", Endpoint: "http://127.0.0.1:7070", PathStyle: true},
	} {
		s := newSigner(t, s3signer.Config{Default: target})
		for _, tt := range []struct {
			call     signer.UploadCall
			uploadID string
			method   string
			query    string // the call's own query parameter
		}{
			{signer.CallCreateMultipartUpload, "", http.MethodPost, "uploads"},
			{signer.CallListParts, exampleUploadID, http.MethodGet, "uploadId"},
			{signer.CallCompleteMultipartUpload, exampleUploadID, http.MethodPost, "uploadId"},
			{signer.CallAbortMultipartUpload, exampleUploadID, http.MethodDelete, "uploadId"},
		} {
			t.Run(target.Region+" "+string(tt.call), func(t *testing.T) {
				p, err := s.PresignUploadCall(context.Background(), signer.UploadCallRequest{Call: tt.call, Bucket: exampleBucket, Key: exampleKey,
					UploadID: tt.uploadID, Expires: 600 * time.Second, Credentials: exampleCredentials()})
				if err != nil {
					t.Fatal(err)
				}
				if p.Method != tt.method || len(p.Headers) != 0 || !p.ExpiresAt().Equal(signingTime.Add(600*time.Second)) {
					t.Errorf("got method %s headers %v expires %s; want %s, none, 10 minutes after signing", p.Method, p.Headers, p.ExpiresAt(), tt.method)
				}
				q := query(t, p.URL)
				if _, ok := q[tt.query]; !ok || q["uploadId"] != tt.uploadID || q["X-Amz-Expires"] != "600" || q["X-Amz-SignedHeaders"] != "host" ||
					q["X-Amz-Date"] != "20261122T190000Z" || !strings.Contains(q["X-Amz-Credential"], "/"+target.Region+"/s3/aws4_request") {
					t.Errorf("query %v: want %s, the upload ID, 600 s, host signed, at the pinned time in %s", q, tt.query, target.Region)
				}
				if !strings.Contains(p.URL, "q3%20summary.csv") {
					t.Errorf("URL %s does not hold the key escaped once", p.URL)
				}
				verifySignature(t, tt.method, p.URL, nil, testenv.SecretAccessKey)
			})
		}
	}
}

func TestPresignUploadCallRefuses(t *testing.T) {
	s := newSigner(t, s3signer.Config{Default: s3signer.Target{Region: "us-east-1"}})
	for name, req := range map[string]signer.UploadCallRequest{
		"unknown call":                {Call: "PutObject", Bucket: exampleBucket, Key: exampleKey, Expires: time.Minute},
		"create with an upload ID":    {Call: signer.CallCreateMultipartUpload, Bucket: exampleBucket, Key: exampleKey, UploadID: "x", Expires: time.Minute},
		"complete without an upload":  {Call: signer.CallCompleteMultipartUpload, Bucket: exampleBucket, Key: exampleKey, Expires: time.Minute},
		"a lifetime under one second": {Call: signer.CallListParts, Bucket: exampleBucket, Key: exampleKey, UploadID: "x", Expires: time.Millisecond},
	} {
		t.Run(name, func(t *testing.T) {
			req.Credentials = exampleCredentials()
			if p, err := s.PresignUploadCall(context.Background(), req); err == nil {
				t.Errorf("got URL %s, want an error", p.URL)
			}
		})
	}
}
