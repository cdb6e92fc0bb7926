package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/presignd/presignd/client"
)

// tokenSource is the bearer token of the client commands: PRESIGND_TOKEN, or the file named
// by PRESIGND_TOKEN_FILE (re-read when it changes, as projected service-account tokens
// rotate). The file is read once here so a missing or empty one is reported before any
// request. No error holds the token.
func tokenSource(ctx context.Context, getenv func(string) string) (client.TokenSource, error) {
	token, file := getenv("PRESIGND_TOKEN"), getenv("PRESIGND_TOKEN_FILE")
	switch {
	case token != "" && file != "":
		return nil, errors.New("both PRESIGND_TOKEN and PRESIGND_TOKEN_FILE are set; pick one")
	case token != "":
		return client.StaticToken(token), nil
	case file != "":
		src := client.TokenFile(file)
		if _, err := src.Token(ctx); err != nil {
			return nil, fmt.Errorf("PRESIGND_TOKEN_FILE: %w", err)
		}
		return src, nil
	default:
		return nil, errors.New("PRESIGND_TOKEN is not set; export the bearer token presignd gave you, or name a file holding it in PRESIGND_TOKEN_FILE")
	}
}
