// Package identity finds who is calling presignd: a principal, from a static bearer
// token, a JWT of a configured issuer, a client certificate or the identity headers of
// a trusted proxy, and the configured client it maps to (Match).
//
// It knows nothing of HTTP routes, policy or S3. A source that cannot decide says why
// with an *Error whose Reason is one of a fixed set (the label values of
// presignd_auth_failures_total); no error, log line or metric carries a token.
package identity

import (
	"errors"
	"time"
)

// Kind names the source that found a principal, as the audit line says it.
type Kind string

// The identity sources.
const (
	KindToken Kind = "token"
	KindJWT   Kind = "jwt"
	KindMTLS  Kind = "mtls"
	KindProxy Kind = "proxy"
)

// Principal is who made a request, as an identity source found it.
type Principal struct {
	Kind Kind
	// Subject is who the source says made the request: the JWT's sub, the
	// certificate's SAN (SPIFFE ID or DNS name), the proxy's user; for a static token,
	// the client it belongs to.
	Subject string
	// Issuer is the configured name of the JWT's issuer.
	Issuer string
	// Claims are the JWT's top-level string claims.
	Claims map[string]string
	// Groups are the proxy's groups.
	Groups []string
	// SPIFFEID is the certificate's SPIFFE ID (a spiffe:// URI SAN), if any;
	// DNSNames are its DNS SANs.
	SPIFFEID string
	DNSNames []string
	// Expires is when the credential that proved the principal stops proving it (a
	// JWT's exp); zero when it does not expire.
	Expires time.Time
}

// Reason says why a request has no principal or no client. The set is fixed: each is
// a label value of presignd_auth_failures_total.
type Reason string

// The reasons.
const (
	ReasonMissing           Reason = "missing"            // no identity of any kind
	ReasonMalformed         Reason = "malformed"          // an Authorization header that is not one bearer token
	ReasonUnknownToken      Reason = "unknown_token"      // an opaque token no client has
	ReasonBadToken          Reason = "bad_token"          // a JWT that does not parse, or a claim of the wrong type
	ReasonBadAlgorithm      Reason = "bad_algorithm"      // a JWT signed with an algorithm the issuer does not allow
	ReasonBadSignature      Reason = "bad_signature"      // a JWT whose signature does not verify
	ReasonUnknownKey        Reason = "unknown_key"        // a JWT signed by a key the issuer does not publish
	ReasonBadIssuer         Reason = "bad_issuer"         // a JWT of no configured issuer
	ReasonBadAudience       Reason = "bad_audience"       // a JWT for another audience
	ReasonExpired           Reason = "expired"            // a JWT past its exp
	ReasonNotYetValid       Reason = "not_yet_valid"      // a JWT before its nbf or iat
	ReasonIssuerUnavailable Reason = "issuer_unavailable" // the issuer's keys cannot be had and the cached ones are too old
	ReasonBadCertificate    Reason = "bad_certificate"    // a client certificate with no usable SAN
	ReasonNoClient          Reason = "no_client"          // a principal no client matches
)

// Reasons lists every Reason, for metrics to start at zero.
var Reasons = []Reason{
	ReasonMissing, ReasonMalformed, ReasonUnknownToken, ReasonBadToken, ReasonBadAlgorithm,
	ReasonBadSignature, ReasonUnknownKey, ReasonBadIssuer, ReasonBadAudience, ReasonExpired,
	ReasonNotYetValid, ReasonIssuerUnavailable, ReasonBadCertificate, ReasonNoClient,
}

// Error is why a source found no principal. Detail is one sentence for the caller,
// and never holds the token or any part of it.
type Error struct {
	Reason Reason
	Detail string
	// Err is the underlying cause, for the server's log; it holds no token either.
	Err error
}

func (e *Error) Error() string { return e.Detail }
func (e *Error) Unwrap() error { return e.Err }

// Unavailable reports whether the failure is the identity provider's, not the
// caller's: the caller may try again (503), where every other reason is 401.
func (e *Error) Unavailable() bool { return e.Reason == ReasonIssuerUnavailable }

// ReasonOf is err's Reason, or ReasonMalformed for an error that is not an *Error.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ReasonMalformed
}
