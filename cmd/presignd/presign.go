package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/presignd/presignd/client"
)

// presignCommand mirrors aws s3 presign: it asks a running presignd and prints only the URL.
// The token comes from PRESIGND_TOKEN or the file named by PRESIGND_TOKEN_FILE.
func presignCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("presign", stderr)
	expires := fs.Int64("expires-in", 3600, "lifetime in `seconds`")
	method := fs.String("http-method", "GET", "HTTP `method` the URL is for: GET, PUT, HEAD or DELETE")
	versionID := fs.String("version-id", "", "object `version` (GET, HEAD, DELETE)")
	server := fs.String("server", firstNonEmpty(getenv("PRESIGND_SERVER"), "http://127.0.0.1:8080"), "presignd base `URL` (env PRESIGND_SERVER)")
	bucket, key, err := parseS3Target(fs, args)
	if err != nil {
		return err
	}
	tokens, err := tokenSource(ctx, getenv)
	if err != nil {
		return err
	}
	res, err := client.New(*server, tokens).Presign(ctx, client.Request{
		Bucket: bucket, Key: key, Method: strings.ToUpper(*method), ExpiresIn: *expires, VersionID: *versionID,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, res.URL)
	return nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
