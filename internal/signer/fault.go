package signer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// DefaultCallTimeout bounds each call presignd makes to S3 (multipart create, list,
// complete, abort) when no other bound is configured. presignd serve configures it
// from s3.call_timeout, which is kept well below the HTTP server's write timeout.
const DefaultCallTimeout = 10 * time.Second

// S3Error is an error answered by S3 to one of presignd's own calls.
type S3Error struct {
	Op      string
	Code    string // S3's error code, e.g. NoSuchUpload
	Message string
	Status  int // S3's HTTP status; 0 when S3 could not be reached
	Err     error
}

// Fault says what an S3 error means to the caller of presignd.
type Fault int

const (
	// FaultS3 is S3 failing or unreachable: the caller may try again.
	FaultS3 Fault = iota
	// FaultUploadGone is an upload S3 no longer holds (completed or aborted).
	FaultUploadGone
	// FaultUploadRefused is S3 refusing the parts of an upload as they are (a part
	// missing or too small, out of order): the caller must fix the upload.
	FaultUploadRefused
	// FaultNoBucket is a bucket S3 does not have.
	FaultNoBucket
	// FaultTimeout is S3 not answering within the call's time: the connection hung,
	// or the answer came too slowly. The caller may try again.
	FaultTimeout
	// FaultSlowDown is S3 asking to be called less (503 SlowDown, or any 503): the
	// caller should wait before trying again.
	FaultSlowDown
)

// Fault classifies the error by S3's error code, its HTTP status, and whether the
// call ran out of time.
func (e *S3Error) Fault() Fault {
	if e.Code == "" && e.Status == 0 && timedOut(e.Err) {
		return FaultTimeout
	}
	if e.Code == "SlowDown" || e.Status == http.StatusServiceUnavailable {
		return FaultSlowDown
	}
	switch e.Code {
	case "NoSuchUpload":
		return FaultUploadGone
	case "InvalidPart", "InvalidPartOrder", "EntityTooSmall", "EntityTooLarge":
		return FaultUploadRefused
	case "NoSuchBucket":
		return FaultNoBucket
	}
	return FaultS3
}

// timedOut reports whether err is a deadline passing: the call's context, or a
// network timeout below it. A caller that went away (context.Canceled) is not.
func timedOut(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (e *S3Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("S3 %s: %s: %s", e.Op, e.Code, e.Message)
	}
	return fmt.Sprintf("S3 %s: %v", e.Op, e.Err)
}

func (e *S3Error) Unwrap() error { return e.Err }
