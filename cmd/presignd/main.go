// Command presignd hands out S3 pre-signed URLs to authenticated callers, within the
// limits of a per-caller policy.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}
