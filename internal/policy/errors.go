package policy

import (
	"fmt"
	"time"
)

// Reason says why a request was denied.
type Reason string

// Denial reasons, as the API reports them.
const (
	ReasonBucketNotAllowed      Reason = "bucket_not_allowed"
	ReasonPrefixNotAllowed      Reason = "prefix_not_allowed"
	ReasonMethodNotAllowed      Reason = "method_not_allowed"
	ReasonContentTypeNotAllowed Reason = "content_type_not_allowed"
	ReasonContentTypeRequired   Reason = "content_type_required"
	ReasonContentLengthTooLarge Reason = "content_length_too_large"
	ReasonContentLengthRequired Reason = "content_length_required"
	// ReasonIdentityNotUsable is a caller whose subject or claim, named by a grant's
	// prefix, is missing or cannot stand as one key segment.
	ReasonIdentityNotUsable Reason = "identity_not_usable"
)

// DeniedError is a well-formed request that no grant allows.
type DeniedError struct {
	Reason Reason
	Detail string
}

func (e *DeniedError) Error() string { return fmt.Sprintf("denied (%s): %s", e.Reason, e.Detail) }

// Field names a request field whose value breaks a rule.
type Field string

// Fields that InvalidError can name.
const (
	FieldBucket    Field = "bucket"
	FieldKey       Field = "key"
	FieldMethod    Field = "method"
	FieldExpiresIn Field = "expires_in"
	// FieldContentType is reported as invalid_request, naming the field.
	FieldContentType Field = "content_type"
)

// InvalidError is a request value that breaks S3's or presignd's rules.
type InvalidError struct {
	Field  Field
	Detail string
}

func (e *InvalidError) Error() string { return fmt.Sprintf("invalid %s: %s", e.Field, e.Detail) }

// TTLError is a StrictTTL request whose lifetime would be capped.
type TTLError struct {
	Requested int64
	Effective int64
	CappedBy  Cap
}

func (e *TTLError) Error() string {
	return fmt.Sprintf("a lifetime of %ds cannot be granted: %s caps it at %ds", e.Requested, e.CappedBy, e.Effective)
}

// CredentialsError means the signing credentials expire too soon to sign anything.
type CredentialsError struct {
	Expiry time.Time
}

func (e *CredentialsError) Error() string {
	return fmt.Sprintf("the signing credentials expire at %s, too soon to sign a URL", e.Expiry.UTC().Format(time.RFC3339))
}
