// Package refserver serves the load test's reference servers (fixed, floor, naive)
// with presignd's own server timeouts, so that the HTTP stacks compare alike.
package refserver

import (
	"fmt"
	"net"
	"net/http"

	"github.com/presignd/presignd/internal/config"
)

// ListenAndServe listens on addr, prints the address it got on stdout (the load test
// reads it there) and serves h until it fails.
func ListenAndServe(addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: config.ReadHeaderTimeout,
		ReadTimeout:       config.ReadTimeout,
		WriteTimeout:      config.WriteTimeout,
		IdleTimeout:       config.IdleTimeout,
	}
	return srv.Serve(ln)
}
