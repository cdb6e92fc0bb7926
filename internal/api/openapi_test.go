package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	vconfig "github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi-validator/paths"
	"github.com/pb33f/libopenapi-validator/responses"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"github.com/presignd/presignd/internal/testenv"
)

// specFile is the API description, kept at the root of the repository beside routes.go's
// promise that every route is described there.
const specFile = "../../openapi.yaml"

// openAPI is openapi.yaml loaded once, with the validators the tests use.
type openAPI struct {
	model     *v3.Document
	validator validator.Validator
	schemas   schema_validation.SchemaValidator
	options   []vconfig.Option
}

var loadOpenAPI = sync.OnceValues(func() (*openAPI, error) {
	data, err := os.ReadFile(specFile)
	if err != nil {
		return nil, err
	}
	doc, err := libopenapi.NewDocument(data)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", specFile, err)
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("building the model of %s: %w", specFile, err)
	}
	opts := []vconfig.Option{vconfig.WithFormatAssertions()}
	v, errs := validator.NewValidator(doc, opts...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("building the validator of %s: %v", specFile, errs)
	}
	return &openAPI{model: &m.Model, validator: v, schemas: schema_validation.NewSchemaValidator(opts...), options: opts}, nil
})

func specFor(t testing.TB) *openAPI {
	t.Helper()
	s, err := loadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// operation finds the operation a request is routed to in the spec, or nil.
func (s *openAPI) operation(req *http.Request) (*v3.PathItem, string, *v3.Operation) {
	item, errs, path := paths.FindPath(req, s.model, vconfig.NewValidationOptions(s.options...))
	if item == nil || len(errs) > 0 {
		return nil, "", nil
	}
	return item, path, helpers.ExtractOperation(req, item)
}

// check validates one real response (status, headers and body) against the spec. A
// request the spec has no operation for must have been answered with the NotFound or
// MethodNotAllowed response. It returns the spec's path template ("" when there is none).
func (s *openAPI) check(t testing.TB, req *http.Request, res *http.Response, body []byte) string {
	t.Helper()
	_, path, op := s.operation(specRequest(req))
	if op == nil || op.Responses.Codes.GetOrZero(strconv.Itoa(res.StatusCode)) == nil {
		// Answers that do not come from an operation: a route this listener does not
		// serve, another HTTP method, or a /v1/ path called without a valid token.
		name := map[int]string{
			http.StatusNotFound:         "NotFound",
			http.StatusMethodNotAllowed: "MethodNotAllowed",
			http.StatusUnauthorized:     "Unauthenticated",
			http.StatusTooManyRequests:  "RateLimited",
		}[res.StatusCode]
		if name == "" || (name == "Unauthenticated" || name == "RateLimited") && !strings.HasPrefix(req.URL.Path, "/v1/") {
			t.Errorf("%s %s was answered %d, which openapi.yaml does not document there", req.Method, req.URL.Path, res.StatusCode)
			return ""
		}
		s.checkComponentResponse(t, name, req, res, body)
		return ""
	}
	r := *res
	r.Body = io.NopCloser(bytes.NewReader(body))
	if ok, errs := s.validator.ValidateHttpResponse(specRequest(req), &r); !ok {
		t.Errorf("%s %s → %d does not match openapi.yaml:\n%s\nbody: %s", req.Method, req.URL.Path, res.StatusCode, describe(errs), testenv.Clip(body))
	}
	return path
}

// The object links route: chi's wildcard takes the rest of the path, slashes and all;
// openapi.yaml, which has no notation for that, documents it as the parameter {key}.
const (
	linkRoute    = "/v1/objects/{bucket}/*"
	linkSpecPath = "/v1/objects/{bucket}/{key}"
)

// specRequest is req as the spec's path templates can match it: the key of an object
// link, which may hold slashes, is escaped into one segment.
func specRequest(req *http.Request) *http.Request {
	rest, ok := strings.CutPrefix(req.URL.EscapedPath(), "/v1/objects/")
	if !ok {
		return req
	}
	bucket, key, ok := strings.Cut(rest, "/")
	if !ok {
		return req
	}
	if k, err := url.PathUnescape(key); err == nil {
		key = k
	}
	r := req.Clone(req.Context())
	u := *req.URL
	u.RawPath = "/v1/objects/" + bucket + "/" + url.PathEscape(key)
	u.Path, _ = url.PathUnescape(u.RawPath)
	r.URL = &u
	return r
}

// checkComponentResponse validates a response against components.responses[name]:
// its media type, its body schema and its headers.
func (s *openAPI) checkComponentResponse(t testing.TB, name string, req *http.Request, res *http.Response, body []byte) {
	t.Helper()
	spec := s.model.Components.Responses.GetOrZero(name)
	if spec == nil {
		t.Fatalf("openapi.yaml has no components.responses.%s", name)
	}
	ct := res.Header.Get("Content-Type")
	mt, ok := helpers.FindMediaType(spec.Content, ct)
	if !ok {
		t.Errorf("%s %s → %d has Content-Type %q, which components.responses.%s does not list", req.Method, req.URL.Path, res.StatusCode, ct, name)
		return
	}
	if ok, errs := s.schemas.ValidateSchemaBytes(mt.Schema.Schema(), body); !ok {
		t.Errorf("%s %s → %d body does not match components.responses.%s:\n%s\nbody: %s", req.Method, req.URL.Path, res.StatusCode, name, describe(errs), testenv.Clip(body))
	}
	if ok, errs := responses.ValidateResponseHeaders(req, res, spec.Headers, req.URL.Path, fmt.Sprint(res.StatusCode), s.options...); !ok {
		t.Errorf("%s %s → %d headers do not match components.responses.%s:\n%s", req.Method, req.URL.Path, res.StatusCode, name, describe(errs))
	}
}

// schema returns components.schemas[name].
func (s *openAPI) schema(t testing.TB, name string) *base.Schema {
	t.Helper()
	p := s.model.Components.Schemas.GetOrZero(name)
	if p == nil {
		t.Fatalf("openapi.yaml has no components.schemas.%s", name)
	}
	return p.Schema()
}

// validRequest reports whether a request is valid per the spec (body, parameters, security).
func (s *openAPI) validRequest(req *http.Request, body []byte) (bool, string) {
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	ok, errs := s.validator.ValidateHttpRequestSync(r)
	return ok, describe(errs)
}

func describe(errs []*verrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "  - %s: %s\n", e.Message, e.Reason)
		for _, f := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "      %s (at %s, schema %s)\n", f.Reason, f.FieldPath, f.KeywordLocation)
		}
	}
	return b.String()
}

// TestOpenAPIDocumentIsValid checks openapi.yaml against the OpenAPI 3.1 schema.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	s := specFor(t)
	if got := s.model.Version; !strings.HasPrefix(got, "3.1.") {
		t.Errorf("openapi: got %q, want 3.1.x", got)
	}
	if ok, errs := s.validator.ValidateDocument(); !ok {
		t.Errorf("openapi.yaml is not a valid OpenAPI document:\n%s", describe(errs))
	}
	if s.model.Components.SecuritySchemes.GetOrZero("bearerAuth") == nil {
		t.Error("components.securitySchemes.bearerAuth is missing")
	}
}

// TestOpenAPIRoutesMatchRouter checks that every route the router serves is in the
// spec with that method, and that every operation of the spec is routed.
func TestOpenAPIRoutesMatchRouter(t *testing.T) {
	s := specFor(t)
	f := newFixture(t, fixtureOptions{})

	routed := map[string]bool{}
	for name, h := range map[string]http.Handler{"Handler(true)": f.srv.Handler(true), "AdminHandler()": f.srv.AdminHandler()} {
		routes, ok := h.(chi.Routes)
		if !ok {
			t.Fatalf("%s is a %T, not a chi.Routes", name, h)
		}
		err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
			if route == linkRoute {
				route = linkSpecPath
			}
			routed[method+" "+route] = true
			return nil
		})
		if err != nil {
			t.Fatalf("walking %s: %v", name, err)
		}
	}

	documented := map[string]bool{}
	for path, item := range s.model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	if len(documented) == 0 {
		t.Fatal("openapi.yaml documents no operation")
	}
	for _, r := range sortedKeys(routed) {
		if !documented[r] {
			t.Errorf("the router serves %s, which openapi.yaml does not document", r)
		}
	}
	for _, d := range sortedKeys(documented) {
		if !routed[d] {
			t.Errorf("openapi.yaml documents %s, which the router does not serve", d)
		}
	}

	// The API router without admin routes serves exactly the /v1 operations.
	api := map[string]bool{}
	_ = chi.Walk(f.srv.Handler(false).(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		api[method+" "+route] = true
		return nil
	})
	for r := range api {
		if !strings.Contains(r, " /v1/") {
			t.Errorf("Handler(false) serves %s, which is not under /v1/", r)
		}
	}
}

// TestOpenAPIExamples checks that the spec's own examples match their schemas, and that
// every request example is a request presignd accepts as well formed.
func TestOpenAPIExamples(t *testing.T) {
	s := specFor(t)
	f := newFixture(t, fixtureOptions{})
	op := s.model.Paths.PathItems.GetOrZero("/v1/presign").Post
	reqMedia := op.RequestBody.Content.GetOrZero("application/json")
	n := 0
	for name, ex := range reqMedia.Examples.FromOldest() {
		n++
		body, err := json.Marshal(nodeValue(t, ex.Value))
		if err != nil {
			t.Fatal(err)
		}
		if ok, errs := s.schemas.ValidateSchemaBytes(reqMedia.Schema.Schema(), body); !ok {
			t.Errorf("request example %s does not match PresignRequest:\n%s", name, describe(errs))
		}
		r := f.post(t, reportsToken, string(body))
		if r.status == http.StatusBadRequest {
			t.Errorf("request example %s: got 400 %s (%s), want a well-formed request", name, r.problem.Code, r.problem.Detail)
		}
	}
	if n == 0 {
		t.Error("POST /v1/presign has no request examples")
	}
	for code, resp := range op.Responses.Codes.FromOldest() {
		for ct, mt := range resp.Content.FromOldest() {
			var examples [][]byte
			if mt.Example != nil {
				b, _ := json.Marshal(nodeValue(t, mt.Example))
				examples = append(examples, b)
			}
			for _, ex := range mt.Examples.FromOldest() {
				b, _ := json.Marshal(nodeValue(t, ex.Value))
				examples = append(examples, b)
			}
			for _, b := range examples {
				if ok, errs := s.schemas.ValidateSchemaBytes(mt.Schema.Schema(), b); !ok {
					t.Errorf("example of the %s %s response does not match its schema:\n%s\nexample: %s", code, ct, describe(errs), b)
				}
			}
		}
	}
}

// nodeValue decodes an example's YAML node into plain values.
func nodeValue(t testing.TB, n interface{ Decode(any) error }) any {
	t.Helper()
	var v any
	if err := n.Decode(&v); err != nil {
		t.Fatalf("decoding an example: %v", err)
	}
	return v
}

// TestOpenAPIKeySchemaAgreesWithPolicy checks that the ObjectKey and BucketName schemas
// say what the server does, on keys and buckets that sit at the edges of the rules.
func TestOpenAPIKeySchemaAgreesWithPolicy(t *testing.T) {
	s := specFor(t)
	f := newFixture(t, fixtureOptions{})
	keys := []string{
		"reports/a", "reports/a b+c=d(e)&f", "reports/ü/日本語/😀", "reports/.hidden", "reports/..x", "reports/x.",
		"reports/a/", "reports/" + strings.Repeat("x", 1016),
		"/reports/a", "reports//a", "reports/./a", "reports/../a", "reports/.", "reports/..", ".", "..",
		"reports/a\x00", "reports/a\x1f", "reports/a\x7f", "reports/a\u0085", "reports/a\u009f", "reports/a\u00a0",
	}
	for _, k := range keys {
		body, _ := json.Marshal(map[string]string{"bucket": "media", "key": k})
		r := f.post(t, reportsToken, string(body))
		serverOK := r.status == http.StatusOK
		schemaOK, _ := s.schemas.ValidateSchemaBytes(s.schema(t, "PresignRequest"), body)
		if serverOK != schemaOK {
			t.Errorf("key %q: server answered %d %s, openapi.yaml says valid=%v", k, r.status, r.problem.Code, schemaOK)
		}
	}
	buckets := []string{
		"media", "archive", "my.bucket-1", "abc",
		"ab", strings.Repeat("a", 64), "Media", "-media", "media-", "me..dia", "192.168.1.1", "999.1.1.1",
		"xn--media", "sthree-media", "amzn-s3-demo-x", "media-s3alias", "media--ol-s3", "media.mrap", "media--x-s3", "media--table-s3", "me_dia",
	}
	for _, b := range buckets {
		body, _ := json.Marshal(map[string]string{"bucket": b, "key": "reports/a"})
		r := f.post(t, reportsToken, string(body))
		serverOK := r.status != http.StatusBadRequest
		schemaOK, _ := s.schemas.ValidateSchemaBytes(s.schema(t, "PresignRequest"), body)
		if serverOK != schemaOK {
			t.Errorf("bucket %q: server answered %d %s, openapi.yaml says valid=%v", b, r.status, r.problem.Code, schemaOK)
		}
	}
}

// TestOpenAPIRejectsUndocumentedResponses makes sure the validation used by these tests
// can fail: a response that breaks the spec is reported.
func TestOpenAPIRejectsUndocumentedResponses(t *testing.T) {
	s := specFor(t)
	req := httptest.NewRequest(http.MethodPost, "/v1/presign", nil)
	for name, res := range map[string]struct {
		status int
		ct     string
		body   string
		header http.Header
	}{
		"unknown capped_by":            {200, "application/json", `{"url":"https://s3.example.com/b/k","method":"GET","expires_at":"2026-11-22T20:45:00Z","expires_in":3600,"headers":{},"capped_by":"luck"}`, http.Header{"X-Request-Id": {"r"}, "Cache-Control": {"no-store"}, "X-Content-Type-Options": {"nosniff"}}},
		"403 without reason":           {403, "application/problem+json", `{"type":"urn:presignd:problem:forbidden","title":"Forbidden","status":403,"detail":"no","code":"forbidden"}`, http.Header{"X-Request-Id": {"r"}, "Cache-Control": {"no-store"}, "X-Content-Type-Options": {"nosniff"}}},
		"401 without WWW-Authenticate": {401, "application/problem+json", `{"type":"urn:presignd:problem:unauthenticated","title":"Unauthenticated","status":401,"detail":"no","code":"unauthenticated"}`, http.Header{"X-Request-Id": {"r"}, "Cache-Control": {"no-store"}, "X-Content-Type-Options": {"nosniff"}}},
		"undocumented status":          {418, "application/problem+json", `{}`, http.Header{"X-Request-Id": {"r"}}},
	} {
		t.Run(name, func(t *testing.T) {
			h := res.header.Clone()
			h.Set("Content-Type", res.ct)
			r := &http.Response{StatusCode: res.status, Header: h, Body: io.NopCloser(strings.NewReader(res.body))}
			if ok, _ := s.validator.ValidateHttpResponse(req, r); ok {
				t.Errorf("the validator accepted a response that breaks openapi.yaml")
			}
		})
	}
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// documentedStatuses lists the response codes the spec gives an operation.
func documentedStatuses(t testing.TB, method, path string) []string {
	t.Helper()
	item := specFor(t).model.Paths.PathItems.GetOrZero(path)
	if item == nil {
		t.Fatalf("openapi.yaml has no path %s", path)
	}
	op := item.GetOperations().GetOrZero(strings.ToLower(method))
	if op == nil {
		t.Fatalf("openapi.yaml has no %s %s", method, path)
	}
	var codes []string
	for c := range op.Responses.Codes.KeysFromOldest() {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	return codes
}
