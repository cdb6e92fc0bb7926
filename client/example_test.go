package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/presignd/presignd/client"
)

// fakePresignd answers the way presignd does for a client with the token "example-token"
// and one grant: bucket "media", prefix "uploads/", every method, max_ttl 1h. It signs
// nothing; its URLs only look like S3's.
func fakePresignd() *httptest.Server {
	const maxTTL = 3600
	expiresAt := func(ttl int64) time.Time {
		return time.Date(2026, 11, 22, 20, 0, 0, 0, time.UTC).Add(time.Duration(ttl) * time.Second)
	}
	problem := func(w http.ResponseWriter, status int, code, reason, detail string) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(client.Problem{Type: "urn:presignd:problem:" + code, Title: http.StatusText(status),
			Status: status, Detail: detail, Code: code, Reason: reason})
	}
	reply := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	// decide is the policy: a problem, or the response.
	decide := func(req client.Request) (*client.Problem, *client.Response) {
		if strings.HasPrefix(req.Key, "/") {
			return &client.Problem{Type: "urn:presignd:problem:invalid_key", Title: "Invalid key", Status: 400,
				Detail: "key must not start with /", Code: "invalid_key"}, nil
		}
		if req.Bucket != "media" || !strings.HasPrefix(req.Key, "uploads/") {
			return &client.Problem{Type: "urn:presignd:problem:forbidden", Title: "Forbidden", Status: 403,
				Detail: fmt.Sprintf("no grant on bucket %q covers this key", req.Bucket), Code: "forbidden", Reason: "prefix_not_allowed"}, nil
		}
		method := cmpOr(req.Method, "GET")
		ttl := cmpOr(req.ExpiresIn, 3600)
		res := &client.Response{Method: method, ExpiresIn: min(ttl, maxTTL), Headers: map[string]string{},
			URL: fmt.Sprintf("https://media.s3.us-east-1.amazonaws.com/%s?X-Amz-Expires=%d&X-Amz-Signature=…", req.Key, min(ttl, maxTTL))}
		res.ExpiresAt = expiresAt(res.ExpiresIn)
		if ttl > maxTTL {
			res.CappedBy = "policy"
		}
		if req.ContentType != "" {
			res.Headers["Content-Type"] = req.ContentType
		}
		if req.ContentLength != nil {
			res.Headers["Content-Length"] = fmt.Sprint(*req.ContentLength)
		}
		return nil, res
	}

	mux := http.NewServeMux()
	var busy atomic.Int32
	mux.HandleFunc("POST /v1/presign", func(w http.ResponseWriter, r *http.Request) {
		var req client.Request
		json.NewDecoder(r.Body).Decode(&req)
		// The first two requests for this key find presignd shedding load.
		if req.Key == "uploads/busy.png" && busy.Add(1) <= 2 {
			problem(w, http.StatusServiceUnavailable, "overloaded", "", "presignd is serving as many requests as it can; retry shortly")
			return
		}
		if p, res := decide(req); p != nil {
			problem(w, p.Status, p.Code, p.Reason, p.Detail)
		} else {
			reply(w, res)
		}
	})
	mux.HandleFunc("POST /v1/presign/batch", func(w http.ResponseWriter, r *http.Request) {
		var batch client.BatchRequest
		json.NewDecoder(r.Body).Decode(&batch)
		var out client.BatchResponse
		for _, req := range batch.Requests {
			p, res := decide(req)
			out.Results = append(out.Results, client.BatchResult{Response: res, Error: p})
		}
		reply(w, out)
	})
	mux.HandleFunc("POST /v1/presign/post", func(w http.ResponseWriter, r *http.Request) {
		var req client.PostPolicyRequest
		json.NewDecoder(r.Body).Decode(&req)
		key := req.KeyPrefix + "0123456789abcdefghijklmnop/" + req.Filename
		reply(w, client.PostPolicyResponse{URL: "https://media.s3.us-east-1.amazonaws.com/", Key: key,
			Fields: map[string]string{"key": key, "Content-Type": req.ContentType, "policy": "eyJ…", "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
				"X-Amz-Credential": "AKIA…/20261122/us-east-1/s3/aws4_request", "X-Amz-Date": "20261122T200000Z", "X-Amz-Signature": "…"},
			ExpiresAt: expiresAt(600), ExpiresIn: 600})
	})
	mux.HandleFunc("POST /v1/multipart/create", func(w http.ResponseWriter, r *http.Request) {
		var req client.MultipartCreateRequest
		json.NewDecoder(r.Body).Decode(&req)
		const partSize = 5 << 20
		reply(w, client.MultipartCreateResponse{UploadID: "v2.eyJ1IjoiZXhhbXBsZSJ9.c2lnbmF0dXJl", Bucket: req.Bucket, Key: req.Key,
			PartSize: partSize, PartCount: int((*req.ContentLength + partSize - 1) / partSize)})
	})
	mux.HandleFunc("POST /v1/multipart/parts", func(w http.ResponseWriter, r *http.Request) {
		var req client.MultipartPartsRequest
		json.NewDecoder(r.Body).Decode(&req)
		res := client.MultipartPartsResponse{ExpiresAt: expiresAt(3600), ExpiresIn: 3600}
		for _, n := range req.PartNumbers {
			size := int64(5 << 20)
			if n == 3 {
				size = 1 << 20
			}
			res.Parts = append(res.Parts, client.PartURL{PartNumber: n, Size: size, Headers: map[string]string{"Content-Length": fmt.Sprint(size)},
				URL: fmt.Sprintf("https://media.s3.us-east-1.amazonaws.com/%s?partNumber=%d&uploadId=…&X-Amz-Signature=…", req.Key, n)})
		}
		reply(w, res)
	})
	mux.HandleFunc("POST /v1/multipart/complete", func(w http.ResponseWriter, r *http.Request) {
		var req client.MultipartCompleteRequest
		json.NewDecoder(r.Body).Decode(&req)
		reply(w, client.MultipartCompleteResponse{Bucket: req.Bucket, Key: req.Key, ETag: fmt.Sprintf(`"d41d8cd98f00b204e9800998ecf8427e-%d"`, len(req.Parts)), Size: 11 << 20})
	})
	mux.HandleFunc("POST /v1/multipart/abort", func(w http.ResponseWriter, r *http.Request) {
		reply(w, client.MultipartAbortResponse{Aborted: true})
	})
	mux.HandleFunc("POST /v1/explain", func(w http.ResponseWriter, r *http.Request) {
		var req client.Request
		json.NewDecoder(r.Body).Decode(&req)
		p, res := decide(req)
		if p != nil && p.Status == 400 {
			problem(w, p.Status, p.Code, p.Reason, p.Detail)
			return
		}
		e := client.Explanation{Client: "reports-backend"}
		if p != nil {
			e.Code, e.Reason, e.Detail = p.Code, p.Reason, p.Detail
		} else {
			e.Allowed, e.ExpiresIn, e.CappedBy = true, res.ExpiresIn, res.CappedBy
			e.Grant = &client.ExplainedGrant{Bucket: "media", Prefix: "uploads/", Methods: []string{"GET", "PUT", "HEAD", "DELETE"}, MaxTTL: maxTTL}
			e.Limits = map[string]int64{"policy": maxTTL, "s3_max": 604800}
		}
		reply(w, e)
	})
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer example-token" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="presignd"`)
			problem(w, 401, "unauthenticated", "", "missing, malformed or unknown bearer token")
			return
		}
		mux.ServeHTTP(w, r)
	}))
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func Example() {
	srv := fakePresignd()
	defer srv.Close()

	c := client.New(srv.URL, client.StaticToken("example-token"))
	size := int64(48213)
	res, err := c.Presign(context.Background(), client.Request{
		Bucket: "media", Key: "uploads/u-42/avatar.png", Method: "PUT", ExpiresIn: 600,
		ContentType: "image/png", ContentLength: &size,
	})
	if err != nil {
		log.Fatal(err)
	}
	// Send res.Headers with the PUT, or the signature does not hold.
	fmt.Println(res.Method, res.ExpiresIn, res.ExpiresAt.Format(time.RFC3339))
	fmt.Println(res.Headers["Content-Type"], res.Headers["Content-Length"])
	// Output:
	// PUT 600 2026-11-22T20:10:00Z
	// image/png 48213
}

func ExampleProblem() {
	srv := fakePresignd()
	defer srv.Close()

	c := client.New(srv.URL, client.StaticToken("example-token"))
	_, err := c.Presign(context.Background(), client.Request{Bucket: "media", Key: "private/payroll.csv"})
	var p *client.Problem
	if errors.As(err, &p) {
		fmt.Println(p.Status, p.Code, p.Reason)
	}
	fmt.Println(err)
	// Output:
	// 403 forbidden prefix_not_allowed
	// presignd refused (forbidden, prefix_not_allowed): no grant on bucket "media" covers this key
}

func ExampleClient_Presign_capped() {
	srv := fakePresignd()
	defer srv.Close()

	c := client.New(srv.URL, client.StaticToken("example-token"))
	// The grant allows an hour, so the day asked for is cut short. With StrictTTL,
	// presignd would refuse instead (422 ttl_not_satisfiable).
	res, err := c.Presign(context.Background(), client.Request{Bucket: "media", Key: "uploads/report.pdf", ExpiresIn: 86400})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.ExpiresIn, res.CappedBy)
	// Output:
	// 3600 policy
}

func ExampleClient_PresignBatch() {
	srv := fakePresignd()
	defer srv.Close()

	c := client.New(srv.URL, client.StaticToken("example-token"))
	results, err := c.PresignBatch(context.Background(), []client.Request{
		{Bucket: "media", Key: "uploads/a.png"},
		{Bucket: "media", Key: "/uploads/b.png"},
		{Bucket: "media", Key: "private/c.png"},
	})
	if err != nil {
		log.Fatal(err) // the batch as a whole failed
	}
	for i, r := range results {
		if r.Error != nil {
			fmt.Println(i, "refused:", r.Error.Code)
			continue
		}
		fmt.Println(i, "issued:", r.Response.Method, r.Response.ExpiresIn)
	}
	// Output:
	// 0 issued: GET 3600
	// 1 refused: invalid_key
	// 2 refused: forbidden
}

func ExampleClient_PresignPost() {
	srv := fakePresignd()
	defer srv.Close()

	c := client.New(srv.URL, client.StaticToken("example-token"))
	maxSize := int64(10 << 20)
	form, err := c.PresignPost(context.Background(), client.PostPolicyRequest{
		Bucket: "media", KeyPrefix: "uploads/u-42/", Filename: "avatar.png",
		ContentType: "image/png", MaxContentLength: &maxSize, ExpiresIn: 600,
	})
	if err != nil {
		log.Fatal(err)
	}
	// A browser posts form.Fields, then the file as the field "file", to form.URL.
	fmt.Println(form.Key)
	fmt.Println(form.Fields["key"] == form.Key, form.Fields["Content-Type"])
	// Output:
	// uploads/u-42/0123456789abcdefghijklmnop/avatar.png
	// true image/png
}

func ExampleClient_CreateMultipart() {
	srv := fakePresignd()
	defer srv.Close()

	ctx := context.Background()
	c := client.New(srv.URL, client.StaticToken("example-token"))
	total := int64(11 << 20)
	up, err := c.CreateMultipart(ctx, client.MultipartCreateRequest{
		Bucket: "media", Key: "uploads/video.mp4", ContentType: "video/mp4", ContentLength: &total,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("parts:", up.PartCount, "of", up.PartSize, "bytes")

	numbers := make([]int, up.PartCount)
	for i := range numbers {
		numbers[i] = i + 1
	}
	signed, err := c.SignParts(ctx, client.MultipartPartsRequest{
		Bucket: up.Bucket, Key: up.Key, UploadID: up.UploadID, PartNumbers: numbers,
	})
	if err != nil {
		log.Fatal(err)
	}
	var done []client.CompletedPart
	for _, p := range signed.Parts {
		// PUT exactly p.Size bytes to p.URL with p.Headers; S3 answers with the ETag.
		fmt.Println("part", p.PartNumber, p.Headers["Content-Length"])
		done = append(done, client.CompletedPart{PartNumber: p.PartNumber, ETag: fmt.Sprintf(`"etag-%d"`, p.PartNumber)})
	}
	obj, err := c.CompleteMultipart(ctx, client.MultipartCompleteRequest{
		Bucket: up.Bucket, Key: up.Key, UploadID: up.UploadID, Parts: done,
	})
	if err != nil {
		// Give the parts up rather than leave them stored.
		_ = c.AbortMultipart(ctx, client.MultipartAbortRequest{Bucket: up.Bucket, Key: up.Key, UploadID: up.UploadID})
		log.Fatal(err)
	}
	fmt.Println(obj.Key, obj.Size)
	// Output:
	// parts: 3 of 5242880 bytes
	// part 1 5242880
	// part 2 5242880
	// part 3 1048576
	// uploads/video.mp4 11534336
}

func ExampleClient_Explain() {
	srv := fakePresignd()
	defer srv.Close()

	c := client.New(srv.URL, client.StaticToken("example-token"))
	for _, key := range []string{"uploads/a.txt", "private/a.txt"} {
		e, err := c.Explain(context.Background(), client.Request{Bucket: "media", Key: key, ExpiresIn: 7200})
		if err != nil {
			log.Fatal(err)
		}
		if e.Allowed {
			fmt.Printf("%s: allowed by grant %d (%s), %d s, capped by %s\n", key, e.Grant.Index, e.Grant.Prefix, e.ExpiresIn, e.CappedBy)
		} else {
			fmt.Printf("%s: denied, %s\n", key, e.Reason)
		}
	}
	// Output:
	// uploads/a.txt: allowed by grant 0 (uploads/), 3600 s, capped by policy
	// private/a.txt: denied, prefix_not_allowed
}

func ExampleTokenFile() {
	srv := fakePresignd()
	defer srv.Close()

	// In Kubernetes this is the path of a projected service-account token, such as
	// /var/run/secrets/tokens/presignd; the kubelet replaces the file before the token
	// expires and every request reads the current one.
	dir, err := os.MkdirTemp("", "token")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "token")
	if err := os.WriteFile(path, []byte("stale-token\n"), 0o600); err != nil {
		log.Fatal(err)
	}

	c := client.New(srv.URL, client.TokenFile(path))
	_, err = c.Presign(context.Background(), client.Request{Bucket: "media", Key: "uploads/a.png"})
	fmt.Println(err)

	if err := os.WriteFile(path, []byte("example-token\n"), 0o600); err != nil {
		log.Fatal(err)
	}
	res, err := c.Presign(context.Background(), client.Request{Bucket: "media", Key: "uploads/a.png"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Method, res.ExpiresIn)
	// Output:
	// presignd refused (unauthenticated): missing, malformed or unknown bearer token
	// GET 3600
}

func ExampleWithRetry() {
	srv := fakePresignd()
	defer srv.Close()

	// Up to 4 attempts; without a Retry-After, waits of about 10 ms, 20 ms, 40 ms.
	c := client.New(srv.URL, client.StaticToken("example-token"),
		client.WithRetry(client.Retry{Attempts: 4, BaseDelay: 10 * time.Millisecond, MaxDelay: time.Second}),
		client.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}))
	// The fake answers 503 overloaded twice before it issues the URL.
	res, err := c.Presign(context.Background(), client.Request{Bucket: "media", Key: "uploads/busy.png"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Method, res.ExpiresIn)
	// Output:
	// GET 3600
}
