// Command fixed is the load test's floor: a chi handler that answers every
// POST /v1/presign with the same JSON body, with no authentication, decoding or signing.
// It is also the sink of the traced load's spans (POST /v1/traces).
// It prints its listen address on stdout.
package main

import (
	"flag"
	"io"
	"log"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/presignd/presignd/test/loadtest/refserver"
)

// body has the shape and about the size of a presignd answer.
var body = []byte(`{"url":"https://media.s3.us-east-1.amazonaws.com/reports/2026/q3%20summary.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261122%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261122T194500Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&x-id=GetObject&X-Amz-Signature=0000000000000000000000000000000000000000000000000000000000000000","method":"GET","expires_at":"2026-11-22T20:45:00Z","expires_in":3600,"headers":{}}` + "\n")

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "listen `address`")
	flag.Parse()
	r := chi.NewRouter()
	r.Post("/v1/presign", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	// An OTLP/HTTP sink for the traced load's spans: read and dropped, answered with
	// an empty ExportTraceServiceResponse (zero bytes of protobuf).
	r.Post("/v1/traces", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	})
	log.Fatal(refserver.ListenAndServe(*listen, r))
}
