//go:build tools

// Package tools pins the programs the tests run, outside the presignd module, so
// that none of them is ever linked into the presignd binary.
//
// The end-to-end tests build versitygw from here with
//
//	go build -o DIR/versitygw github.com/versity/versitygw/cmd/versitygw
package tools

import (
	_ "github.com/versity/versitygw/cmd/versitygw"
)
