package api

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler is the API. When admin is true, the admin routes are served on it too (for
// a config without admin_listen). Every route here is described in openapi.yaml.
func (s *Server) Handler(admin bool) http.Handler {
	r := chi.NewRouter()
	r.Use(s.closeWhenDraining, s.instrument, s.recoverPanics, s.cors)
	r.NotFound(s.apiHandler(func(http.ResponseWriter, *http.Request) error {
		return errorf(CodeNotFound, "there is no such route")
	}))
	r.MethodNotAllowed(s.methodNotAllowed(r))

	// A group, not a sub-router: routing happens before authentication, so every
	// request is counted under its route pattern.
	r.Group(func(r chi.Router) {
		r.Use(s.limitInFlight, s.authenticate)
		// Each deciding route is an operation (operation.go): decode, do, audit, write.
		r.Method(http.MethodPost, "/v1/presign", s.presignOperation("presign").handler(s))
		r.Method(http.MethodPost, "/v1/presign/batch", s.handleBatch(s.presignOperation("presign_batch")))
		r.Method(http.MethodPost, "/v1/presign/post", uploadOperation("presign_post", true, s.presignPost).readFlat(postField).handler(s))
		r.Method(http.MethodPost, "/v1/multipart/create", uploadOperation("multipart_create", false, s.multipartCreate).handler(s))
		r.Method(http.MethodPost, "/v1/multipart/parts", uploadOperation("multipart_parts", true, s.multipartParts).readFlat(partsField).handler(s))
		r.Method(http.MethodPost, "/v1/multipart/complete", uploadOperation("multipart_complete", false, s.multipartComplete).handler(s))
		r.Method(http.MethodPost, "/v1/multipart/abort", uploadOperation("multipart_abort", false, s.multipartAbort).handler(s))
		r.Method(http.MethodPost, "/v1/explain", s.handleExplain())
		// Links (links.go): the decision of a GET or HEAD presign, answered with a redirect.
		r.Method(http.MethodGet, objectsPrefix+"{bucket}/*", s.linkOperation(http.MethodGet).handler(s))
		r.Method(http.MethodHead, objectsPrefix+"{bucket}/*", s.linkOperation(http.MethodHead).handler(s))
		r.Method(http.MethodGet, "/v1/whoami", s.handleWhoami())
		// Uppy's @uppy/aws-s3 plugin (uppy.go, uppy_companion.go): signRequest mode, and
		// companionEndpoint mode on Companion's S3 routes.
		r.Method(http.MethodPost, "/v1/uppy/sign", uppyOperation("uppy_sign", decodeJSONBody, s.uppySign).handler(s))
		r.Method(http.MethodGet, "/v1/uppy/s3/params", uppyOperation("uppy_params", decodeUppyParams, s.uppyParams).handler(s))
		r.Method(http.MethodPost, "/v1/uppy/s3/multipart", uppyOperation("uppy_multipart_create", decodeJSONBody, s.uppyCreate).handler(s))
		r.Method(http.MethodGet, "/v1/uppy/s3/multipart/{uploadId}", uppyOperation("uppy_multipart_list", decodeUppyUploadOnly, s.uppyListParts).handler(s))
		r.Method(http.MethodDelete, "/v1/uppy/s3/multipart/{uploadId}", uppyOperation("uppy_multipart_abort", decodeUppyUploadOnly, s.uppyAbort).handler(s))
		r.Method(http.MethodGet, "/v1/uppy/s3/multipart/{uploadId}/batch", uppyOperation("uppy_multipart_batch", decodeUppyBatch, s.uppyBatch).handler(s))
		r.Method(http.MethodGet, "/v1/uppy/s3/multipart/{uploadId}/{partNumber}", uppyOperation("uppy_multipart_part", decodeUppyPart, s.uppySignPart).handler(s))
		r.Method(http.MethodPost, "/v1/uppy/s3/multipart/{uploadId}/complete", uppyOperation("uppy_multipart_complete", decodeUppyComplete, s.uppyComplete).handler(s))
	})
	// The share page: static and without data, so outside authentication (internal/ui).
	r.Get("/ui", s.ui.ServeHTTP)
	r.Get("/ui/", s.ui.ServeHTTP)
	r.Get("/ui/{file}", s.ui.ServeHTTP)
	if admin {
		s.adminRoutes(r)
	}
	return s.traced(withRequest(r))
}

// AdminHandler serves /healthz, /readyz and /metrics.
func (s *Server) AdminHandler() http.Handler {
	r := chi.NewRouter()
	r.Use(s.closeWhenDraining, s.instrument, s.recoverPanics)
	r.NotFound(s.apiHandler(func(http.ResponseWriter, *http.Request) error {
		return errorf(CodeNotFound, "there is no such route")
	}))
	r.MethodNotAllowed(s.methodNotAllowed(r))
	s.adminRoutes(r)
	return withRequest(r)
}

func (s *Server) adminRoutes(r chi.Router) {
	r.Get("/healthz", s.handleHealthz)
	r.Get("/readyz", s.handleReadyz)
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{
		Registry: s.registry,
		// Exemplars (the trace of a latency observation) exist only in OpenMetrics,
		// which a scraper gets by asking for it; the text format stays the default.
		EnableOpenMetrics: true,
	}))
}

// methodNotAllowed answers 405 with the Allow header RFC 9110 requires.
func (s *Server) methodNotAllowed(routes chi.Routes) http.HandlerFunc {
	return s.apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
			if routes.Match(chi.NewRouteContext(), m, r.URL.Path) {
				allow = append(allow, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return errorf(CodeMethodNotAllowed, "this route accepts only %s", strings.Join(allow, ", "))
	})
}
