// Command naive is the load test's reference service, written the way a presign
// endpoint is usually written: a chi handler that checks a bearer token, decodes the
// JSON body and signs with s3.PresignClient on the SDK's default configuration. It
// prints its listen address on stdout.
//
// It has no policy, metrics or audit log; it is here to be measured, not used. Its S3
// client is built once, at start, as the SDK's documentation shows; building one per
// request would make this reference slower still.
package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/go-chi/chi/v5"

	"github.com/presignd/presignd/test/loadtest/refserver"
)

type presignRequest struct {
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	ExpiresIn int64  `json:"expires_in"`
}

type presignResponse struct {
	URL       string    `json:"url"`
	Method    string    `json:"method"`
	ExpiresAt time.Time `json:"expires_at"`
	ExpiresIn int64     `json:"expires_in"`
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "listen `address`")
	flag.Parse()
	token := os.Getenv("NAIVE_TOKEN")
	if token == "" {
		log.Fatal("NAIVE_TOKEN is not set")
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	presigner := s3.NewPresignClient(s3.NewFromConfig(cfg))

	r := chi.NewRouter()
	r.Post("/v1/presign", func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+token)) != 1 {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var req presignRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if req.ExpiresIn == 0 {
			req.ExpiresIn = 3600
		}
		expires := time.Duration(req.ExpiresIn) * time.Second
		out, err := presigner.PresignGetObject(r.Context(), &s3.GetObjectInput{
			Bucket: aws.String(req.Bucket),
			Key:    aws.String(req.Key),
		}, s3.WithPresignExpires(expires))
		if err != nil {
			http.Error(w, "cannot sign", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(presignResponse{
			URL: out.URL, Method: out.Method, ExpiresAt: time.Now().Add(expires).UTC(), ExpiresIn: req.ExpiresIn,
		})
	})
	log.Fatal(refserver.ListenAndServe(*listen, r))
}
