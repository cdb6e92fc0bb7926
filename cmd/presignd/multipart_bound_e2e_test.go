package main

// End-to-end tests of the size bound of multipart uploads: a grant's
// max_content_length, and the size declared at create, hold for the bytes any
// combination of part URLs can store at the S3 server, whether or not anyone ever
// calls complete.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/presignd/presignd/internal/testenv"
)

// createAnswer is the 200 body of /v1/multipart/create.
type createAnswer struct {
	UploadID  string `json:"upload_id"`
	PartSize  int64  `json:"part_size"`
	PartCount int    `json:"part_count"`
}

// partsAnswer is the 200 body of /v1/multipart/parts.
type partsAnswer struct {
	Parts []signedPart `json:"parts"`
}

type signedPart struct {
	PartNumber int               `json:"part_number"`
	URL        string            `json:"url"`
	Size       int64             `json:"size"`
	Headers    map[string]string `json:"headers"`
}

// signParts asks presignd for the URLs of the given parts of an upload, as token.
func (e *uploadEnv) signParts(t testing.TB, token string, ids map[string]any, numbers ...int) partsAnswer {
	t.Helper()
	req := map[string]any{"part_numbers": numbers, "expires_in": 300}
	for k, v := range ids {
		req[k] = v
	}
	var res partsAnswer
	e.call(t, token, "/v1/multipart/parts", req, &res)
	if len(res.Parts) != len(numbers) {
		t.Fatalf("multipart/parts: got %d parts, want %d", len(res.Parts), len(numbers))
	}
	return res
}

// storedParts lists, straight from S3, every part it holds for the uploads of key.
func (e *uploadEnv) storedParts(t testing.TB, key string) []types.Part {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var parts []types.Part
	for _, u := range e.uploadsOf(t, key) {
		out, err := e.s3.Client().ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bucketUploads), Key: aws.String(key), UploadId: u.UploadId})
		if err != nil {
			t.Fatalf("ListParts: %v", err)
		}
		parts = append(parts, out.Parts...)
	}
	return parts
}

func describeParts(parts []types.Part) (total int64, desc string) {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteString(", ")
		}
		size := aws.ToInt64(p.Size)
		total += size
		b.WriteString("part " + strconv.Itoa(int(aws.ToInt32(p.PartNumber))) + ": " + strconv.FormatInt(size, 10) + " bytes")
	}
	return total, b.String()
}

// tryPut sends body to a part URL with the headers presignd returned (Content-Length
// comes from the body) or, when chunked, with no Content-Length at all. It returns
// S3's answer, or the error of a server that closed the connection instead: a server
// refusing a request before reading its body may not read a large body to answer
// (versitygw drains at most 256 KiB, then resets the connection).
func tryPut(t testing.TB, p signedPart, body []byte, chunked bool) (response, error) {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	if chunked {
		r = io.NopCloser(r) // hides the length: Transfer-Encoding: chunked
	}
	req, err := http.NewRequest(http.MethodPut, p.URL, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range p.Headers {
		if http.CanonicalHeaderKey(k) != "Content-Length" {
			req.Header.Set(k, v)
		}
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// wantRefused fails unless S3 refused a PUT, by an error answer or by closing the
// connection, and logs how.
func wantRefused(t testing.TB, what string, r response, err error) {
	t.Helper()
	switch {
	case err != nil:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, a bearer secret until it expires
		}
		t.Logf("%s: refused, the server closed the connection (%v)", what, err)
	case r.status/100 == 2:
		t.Errorf("%s: S3 answered %d, want a refusal", what, r.status)
	default:
		t.Logf("%s: refused, %d %s", what, r.status, testenv.Clip(r.body))
	}
}

// TestUploadMultipartPartsAreBounded reproduces an attack on part URLs that signed
// only host: under a grant with max_content_length, an upload declaring a small size
// stored parts of any size at the S3 server before anyone called complete, and an
// upload never completed kept them.
func TestUploadMultipartPartsAreBounded(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)

	t.Run("a declared size below 5 MiB gets no multipart upload", func(t *testing.T) {
		t.Parallel()
		// alice's grant allows 1024 bytes; she declares 1000.
		key := "uploads/alice/attack.txt"
		req := map[string]any{"bucket": bucketUploads, "key": key, "content_type": "text/plain", "content_length": 1000}
		status, _, body := e.p.post(t, aliceToken, "/v1/multipart/create", req)
		if status == http.StatusOK {
			// The attack: three part URLs, 20 MiB through each, and no complete.
			var created createAnswer
			if err := json.Unmarshal(body, &created); err != nil {
				t.Fatal(err)
			}
			ids := map[string]any{"bucket": bucketUploads, "key": key, "upload_id": created.UploadID}
			defer e.call(t, aliceToken, "/v1/multipart/abort", ids, new(map[string]any))
			big := randomBytes(t, 20*mib)
			for _, p := range e.signParts(t, aliceToken, ids, 1, 2, 3).Parts {
				r := use(t, http.MethodPut, p.URL, p.Headers, big)
				t.Logf("PUT 20 MiB to part %d: S3 answered %d", p.PartNumber, r.status)
			}
			total, desc := describeParts(e.storedParts(t, key))
			t.Errorf("create accepted a multipart upload declaring 1000 bytes under a grant of %d; "+
				"its part URLs then stored %d bytes at the S3 server before any complete (%s)", aliceMax, total, desc)
			return
		}
		e.wantCreateTooSmall(t, aliceToken, req)
	})

	t.Run("a part URL stores no more than its signed size", func(t *testing.T) {
		t.Parallel()
		// bob's grant allows 12 MiB; he declares 6 MiB and 321 bytes: parts of 5 MiB
		// and of 1 MiB + 321 bytes.
		key := "big/attack.bin"
		whole := randomBytes(t, 6*mib+321)
		sizes := map[int]int64{1: 5 * mib, 2: mib + 321}
		var created createAnswer
		e.call(t, bobToken, "/v1/multipart/create", map[string]any{
			"bucket": bucketUploads, "key": key, "content_type": "application/octet-stream", "content_length": len(whole),
		}, &created)
		if created.PartSize != 5*mib || created.PartCount != 2 {
			t.Errorf("multipart/create: got part_size %d, part_count %d; want %d, 2", created.PartSize, created.PartCount, 5*mib)
		}
		ids := map[string]any{"bucket": bucketUploads, "key": key, "upload_id": created.UploadID}
		signed := e.signParts(t, bobToken, ids, 1, 2)
		for _, p := range signed.Parts {
			want := strconv.FormatInt(sizes[p.PartNumber], 10)
			if p.Size != sizes[p.PartNumber] || len(p.Headers) != 1 || p.Headers["Content-Length"] != want {
				t.Errorf("part %d: got size %d, headers %v; want size %s and headers {Content-Length: %s}", p.PartNumber, p.Size, p.Headers, want, want)
			}
		}
		first := signed.Parts[0]

		// The attack: 20 MiB through the URL of a 5 MiB part, with its length or chunked.
		big := randomBytes(t, 20*mib)
		r, err := tryPut(t, first, big, false)
		wantRefused(t, "PUT of 20 MiB to the URL of part 1", r, err)
		r, err = tryPut(t, first, big, true)
		wantRefused(t, "chunked PUT of 20 MiB to the URL of part 1", r, err)
		// A body small enough for the server to read and answer shows why: the
		// Content-Length is signed.
		r, err = tryPut(t, first, []byte("x"), false)
		if err != nil {
			t.Fatalf("PUT of 1 byte to the URL of part 1: %v", err)
		}
		wantS3Error(t, "PUT of 1 byte to the URL of part 1", r, http.StatusForbidden, "SignatureDoesNotMatch")
		stored := e.storedParts(t, key)
		for _, p := range stored {
			if n := int(aws.ToInt32(p.PartNumber)); aws.ToInt64(p.Size) > sizes[n] {
				total, desc := describeParts(stored)
				t.Errorf("S3 holds %d bytes for an upload declaring %d (%s)", total, len(whole), desc)
				break
			}
		}
		// One byte short is refused as well: the size is exact.
		r, err = tryPut(t, first, whole[:5*mib-1], false)
		wantRefused(t, "PUT of one byte less than part 1's size", r, err)
		if stored := e.storedParts(t, key); len(stored) != 0 {
			_, desc := describeParts(stored)
			t.Errorf("after the refused PUTs S3 holds parts of the upload (%s), want none", desc)
		}

		// Part numbers beyond the declared size get no URL.
		req := map[string]any{"part_numbers": []int{2, 3}, "expires_in": 300}
		for k, v := range ids {
			req[k] = v
		}
		status, _, body := e.p.post(t, bobToken, "/v1/multipart/parts", req)
		if status == http.StatusOK {
			t.Errorf("multipart/parts for part 3 of a 2-part upload: got 200 %s, want 400 invalid_request", testenv.Clip(body))
		} else {
			pr := e.refusedAt(t, bobToken, "/v1/multipart/parts", req, http.StatusBadRequest)
			if pr.Code != "invalid_request" || !strings.Contains(pr.Detail, "part_numbers") {
				t.Errorf("part 3 of 2: got code %q detail %q, want invalid_request about part_numbers", pr.Code, pr.Detail)
			}
		}

		// The upload itself still works, byte for byte.
		var done []map[string]any
		for _, p := range signed.Parts {
			from := int64(p.PartNumber-1) * 5 * mib
			r := use(t, http.MethodPut, p.URL, p.Headers, whole[from:from+sizes[p.PartNumber]])
			if r.status != http.StatusOK || r.header.Get("ETag") == "" {
				t.Fatalf("PUT part %d: got %d %s, want 200 with an ETag", p.PartNumber, r.status, testenv.Clip(r.body))
			}
			done = append(done, map[string]any{"part_number": p.PartNumber, "etag": r.header.Get("ETag")})
		}
		var res struct {
			Size int64 `json:"size"`
		}
		e.call(t, bobToken, "/v1/multipart/complete", map[string]any{
			"bucket": bucketUploads, "key": key, "upload_id": created.UploadID, "parts": done,
		}, &res)
		if res.Size != int64(len(whole)) {
			t.Errorf("multipart/complete: size %d, want %d", res.Size, len(whole))
		}
		e.wantObject(t, bobToken, key, whole, "application/octet-stream")
	})
}
