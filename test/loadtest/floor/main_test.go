package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestFloorSignsAsTheSDK checks that the floor does a signer's real work: its URL is
// the one the AWS SDK's v4 signer presigns for the same object, time and credentials,
// on two days (a new day derives a new key), and its audit line, with the request ID
// of the answer, is written before the answer. A wrong token is refused.
func TestFloorSignsAsTheSDK(t *testing.T) {
	at := time.Date(2026, 11, 22, 23, 59, 58, 0, time.UTC)
	var audit auditLog
	f := newFloor("secret-token", &audit, func() time.Time { return at })
	for _, when := range []time.Time{at, at.Add(2 * time.Second)} {
		at = when
		lines := strings.Count(audit.String(), "\n")
		w := httptest.NewRecorder()
		audit.answer = w
		r := httptest.NewRequest(http.MethodPost, "/v1/presign", strings.NewReader(`{"bucket":"media","key":"reports/2026/q3 summary.pdf"}`))
		r.Header.Set("Authorization", "Bearer secret-token")
		f.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		var got struct {
			URL string `json:"url"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.URL != sdkURL(t, when) {
			t.Errorf("at %v:\nfloor %s\nSDK   %s", when, got.URL, sdkURL(t, when))
		}
		all := strings.Split(strings.TrimSuffix(audit.String(), "\n"), "\n")
		if audit.late {
			t.Error("the audit line was written after the answer")
		}
		if len(all) != lines+1 || !json.Valid([]byte(all[len(all)-1])) || w.Header().Get("X-Request-Id") == "" ||
			!strings.Contains(all[len(all)-1], `"request_id":"`+w.Header().Get("X-Request-Id")+`"`) {
			t.Errorf("want one more valid JSON audit line, have:\n%s", audit.String())
		}
	}

	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/v1/presign", strings.NewReader(`{}`))
	r.Header.Set("Authorization", "Bearer other-token")
	f.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("a wrong token: status %d, want 401", w.Code)
	}
}

// auditLog is an audit log that notes a line written after the answer began.
type auditLog struct {
	bytes.Buffer
	answer *httptest.ResponseRecorder
	late   bool
}

func (l *auditLog) Write(p []byte) (int, error) {
	l.late = l.late || l.answer.Body.Len() > 0
	return l.Buffer.Write(p)
}

// sdkURL is the SDK's presigned GET of the floor's object at t.
func sdkURL(t *testing.T, at time.Time) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "https://"+host+objectPath+"?X-Amz-Expires=3600&x-id=GetObject", nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _, err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).PresignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}, req, "UNSIGNED-PAYLOAD", "s3", region, at)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
