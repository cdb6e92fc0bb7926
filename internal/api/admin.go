package api

import (
	"context"
	"net/http"
	"time"
)

type healthResponse struct {
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

func (s *Server) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	encode(w, http.StatusOK, healthResponse{Status: "ok"})
}

// handleReadyz asks the credential source every time (through the SDK's cache), so
// recovery shows at once.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		s.log.Warn("not ready", "error", err.Error())
		encode(w, http.StatusServiceUnavailable, healthResponse{Status: "unavailable", Detail: readyDetail(err)})
		return
	}
	encode(w, http.StatusOK, healthResponse{Status: "ok"})
}

func readyDetail(err error) string {
	switch err.Error() {
	case "draining", "no config loaded":
		return err.Error()
	}
	return "signing credentials are unavailable"
}
