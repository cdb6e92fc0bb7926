package policy

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// UploadLocation is where a client's browser uploads land: a bucket and a key prefix
// ending in "/". The prefix is a template like a grant prefix ({client}, {subject},
// {claims.NAME}). It must sit inside one of the client's PUT grants; every upload is
// still decided against the grants like any other request.
type UploadLocation struct {
	Bucket string
	Prefix string
}

// ReasonNoUploadLocation denies a widget upload by a client with no upload location.
const ReasonNoUploadLocation Reason = "no_upload_location"

// UploadLocationFor returns the client's upload location with its prefix expanded for
// the caller. A client without one is denied (no_upload_location); a caller whose
// identity cannot fill the prefix is denied (identity_not_usable), as for grants.
func (p *Policy) UploadLocationFor(client string, caller Attributes) (UploadLocation, error) {
	loc, ok := p.uploads[client]
	if !ok {
		return UploadLocation{}, &DeniedError{Reason: ReasonNoUploadLocation,
			Detail: "this client has no upload location (uploads: {bucket, prefix} in its configuration)"}
	}
	names, err := Names(loc.Prefix)
	if err != nil {
		return UploadLocation{}, err
	}
	attrs := Attributes{AttrClient: client}
	for _, n := range names {
		if !CallerAttribute(n) {
			continue
		}
		if de := callerValue(n, caller); de != nil {
			return UploadLocation{}, de
		}
		attrs[n] = caller[n]
	}
	prefix, err := Expand(loc.Prefix, attrs)
	if err != nil {
		return UploadLocation{}, err
	}
	return UploadLocation{Bucket: loc.Bucket, Prefix: prefix}, nil
}

// maxUploadName bounds the name a widget proposes, in bytes, before it is placed.
const maxUploadName = 512

// PlaceKey places the object key a widget proposes under prefix. The proposal is
// parsed as a path of segments, never trusted as a string: empty, "." and ".."
// segments are dropped, and in each remaining segment control characters and
// backslashes become '_' (so no segment can be read as a dot segment, a second
// separator or anything that moves it). What is left is joined under prefix, so the key
// can never leave it, and the whole key is then held to ValidateKey.
func PlaceKey(prefix, proposed string) (string, error) {
	if !utf8.ValidString(proposed) {
		return "", &InvalidError{Field: FieldKey, Detail: "key is not valid UTF-8"}
	}
	if len(proposed) > maxUploadName {
		return "", &InvalidError{Field: FieldKey, Detail: fmt.Sprintf("key is %d bytes long, above the %d bytes an upload name may have", len(proposed), maxUploadName)}
	}
	var segs []string
	for seg := range strings.SplitSeq(proposed, "/") {
		seg = strings.Map(func(r rune) rune {
			if r == '\\' || unicode.IsControl(r) || r == utf8.RuneError {
				return '_'
			}
			return r
		}, seg)
		seg = strings.TrimSpace(seg)
		if seg == "" || strings.Trim(seg, ".") == "" {
			continue // "", ".", "..", "...": no name, or one a path resolver moves by
		}
		segs = append(segs, seg)
	}
	if len(segs) == 0 {
		return "", &InvalidError{Field: FieldKey, Detail: fmt.Sprintf("key %q holds no usable name", clip(proposed))}
	}
	key := prefix + strings.Join(segs, "/")
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	return key, nil
}

// UnderPrefix reports whether key lies under prefix (which ends in "/", or is "" for
// the whole bucket) and is a valid key: a key a widget sends back after it was placed.
func UnderPrefix(prefix, key string) bool {
	rest, ok := strings.CutPrefix(key, prefix)
	return ok && rest != "" && ValidateKey(key) == nil
}
