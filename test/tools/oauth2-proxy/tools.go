//go:build tools

// Package tools pins oauth2-proxy, which the single-sign-on end-to-end test puts in
// front of presignd. It has a module of its own, apart from test/tools, so that its
// dependency versions cannot move versitygw's, and nothing here is ever linked into
// presignd.
//
// The Makefile builds it with
//
//	go build -o DIR/oauth2-proxy github.com/oauth2-proxy/oauth2-proxy/v7
package tools

import (
	_ "github.com/oauth2-proxy/oauth2-proxy/v7"
)
