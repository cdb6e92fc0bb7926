package testenv

import (
	"io"
	"net/http"
	"testing"
)

// OpenMetrics scrapes url asking for the OpenMetrics format, the one that carries
// exemplars, and returns the answer's Content-Type and body.
func OpenMetrics(tb testing.TB, url string) (contentType, body string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return res.Header.Get("Content-Type"), string(b)
}
