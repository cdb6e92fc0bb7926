package main

import (
	"net/http"
	"net/http/pprof"
)

// withProfiling serves Go's profiles (net/http/pprof) under /debug/pprof/ beside
// the admin routes. serve --pprof turns it on, on admin_listen only: the profiles
// show the process's internals and must never be on the API listener.
func withProfiling(admin http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/", admin)
	return mux
}
