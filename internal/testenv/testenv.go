// Package testenv is what the tests of every package share: the AWS documentation's
// example key pair, a hermetic AWS environment for TestMain, and the shortening and
// redaction of failure messages.
//
// This package and the ones below it are test support: only tests may import them
// (s3server's TestOnlyForTests checks).
package testenv

import (
	"os"
	"regexp"
	"strings"
)

// The AWS documentation's example key pair. URLs signed with it are well formed and
// work nowhere, except on the versitygw of package s3server, whose root credentials
// they are.
const (
	AccessKeyID     = "AKIAIOSFODNN7EXAMPLE"
	SecretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// ScrubAWS keeps the machine's AWS setup out of the tests, for TestMain to call
// before m.Run: it unsets every AWS_* variable (credentials, profile, region,
// endpoints, FIPS and dual-stack settings), points the shared config and credentials
// files at the null device, and disables the instance metadata service.
func ScrubAWS() {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "AWS_") {
			os.Unsetenv(name)
		}
	}
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Setenv("AWS_CONFIG_FILE", os.DevNull)
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
}

// Clip shortens a body or a message to its first KiB, marking the cut with "…", for
// a failure message.
func Clip[T ~string | ~[]byte](s T) string {
	const max = 1 << 10
	if len(s) > max {
		return string(s[:max]) + "…"
	}
	return string(s)
}

// ClipTail shortens a log to its last 8 KiB, marking the cut with "…": the end of a
// log is what tells why a process failed.
func ClipTail(s string) string {
	const max = 8 << 10
	if len(s) > max {
		return "…" + s[len(s)-max:]
	}
	return s
}

var signatureParam = regexp.MustCompile(`(X-Amz-Signature=)[^&\s"'#]+`)

// RedactSignatures replaces the signature of every pre-signed URL in s with "…", so
// that a failure message or log never carries a working URL.
func RedactSignatures(s string) string {
	return signatureParam.ReplaceAllString(s, "${1}…")
}
