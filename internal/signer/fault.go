package signer

import (
	"fmt"
	"time"
)

// CallTimeout bounds each call presignd makes to S3 (multipart create, list, complete, abort).
const CallTimeout = 15 * time.Second

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
)

// Fault classifies the error by S3's error code.
func (e *S3Error) Fault() Fault {
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

func (e *S3Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("S3 %s: %s: %s", e.Op, e.Code, e.Message)
	}
	return fmt.Sprintf("S3 %s: %v", e.Op, e.Err)
}

func (e *S3Error) Unwrap() error { return e.Err }
