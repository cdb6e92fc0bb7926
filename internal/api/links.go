package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Links: GET and HEAD /v1/objects/{bucket}/{key...} make the decision of a GET (or
// HEAD) presign and answer 307 to the URL just signed, so that a link in a dashboard
// or a chat opens the object for whoever clicks it, under their own identity.
//
// The request becomes a presignRequest and goes through the presign operation's do,
// so that every check is the one POST /v1/presign makes. The redirect's target is the
// URL the signer returned and nothing else: the path and the query only ever name the
// bucket, the key and the signed values.

// objectsPrefix is where the bucket starts in the path of a link.
const objectsPrefix = "/v1/objects/"

// DefaultLinkExpiresIn is the lifetime a link's URL gets when the query names none.
const DefaultLinkExpiresIn = 300

// linkOperation is GET or HEAD on /v1/objects/{bucket}/*: the presign operation's
// decision and signing, with the request read from the path and the query, answered
// with a redirect.
func (s *Server) linkOperation(method string) *operation[presignRequest, presignResponse] {
	op := s.presignOperation("link")
	op.method = method
	op.decode = func(_ http.ResponseWriter, r *http.Request, req *presignRequest) error {
		return decodeLink(r, method, req)
	}
	op.write = writeLink
	sign := op.do
	op.do = func(ctx context.Context, c *caller, req *presignRequest, e *auditEntry) (presignResponse, error) {
		res, err := sign(ctx, c, req, e)
		if err == nil && !absoluteHTTP(res.URL) {
			return presignResponse{}, &Error{Code: CodeInternal, Detail: "an internal error occurred",
				Cause: errors.New("the signer returned a URL that is not an absolute http or https URL")}
		}
		return res, err
	}
	return op
}

// absoluteHTTP reports whether u is an absolute http or https URL with a host: the
// only kind of place a link redirects to.
func absoluteHTTP(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != "" && p.User == nil
}

// decodeLink reads a link's bucket and key from the escaped path and its options
// from the query. Values are left for the presign conversion to judge.
func decodeLink(r *http.Request, method string, req *presignRequest) error {
	bucket, key, err := objectPath(r.URL.EscapedPath())
	if err != nil {
		return err
	}
	req.Bucket = exactString{Value: bucket, Set: true}
	req.Key = exactString{Value: key, Set: true}
	req.Method = method
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return errorf(CodeInvalidRequest, "the query string is not valid: use name=value pairs joined by & and percent-encoding")
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		values := q[name]
		if len(values) != 1 {
			return errorf(CodeInvalidRequest, "query parameter %s is given %d times; give it once", clipString(name), len(values))
		}
		v := values[0]
		switch name {
		case "expires_in":
			n, err := parseSeconds(v)
			if err != nil {
				return err
			}
			req.ExpiresIn = &n
		case "version_id":
			req.VersionID = v
		case "download_filename":
			req.DownloadFilename = v
		default:
			return errorf(CodeInvalidRequest, "unknown query parameter %q: a link takes only expires_in, version_id and download_filename", clipString(name))
		}
	}
	if req.ExpiresIn == nil {
		n := int64(DefaultLinkExpiresIn)
		req.ExpiresIn = &n
	}
	return nil
}

// objectPath splits the escaped path of a link into its bucket and key, once, at the
// first "/" after /v1/objects/, and unescapes each: the key keeps every byte the
// caller encoded, an encoded slash (%2F) included, and "+" is a plus.
func objectPath(escaped string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(escaped, objectsPrefix)
	if !ok {
		return "", "", errorf(CodeNotFound, "there is no such route")
	}
	escBucket, escKey, ok := strings.Cut(rest, "/")
	if !ok {
		return "", "", requiredErr("key")
	}
	if bucket, err = url.PathUnescape(escBucket); err != nil {
		return "", "", errorf(CodeInvalidBucket, "the bucket in the path is not validly percent-encoded")
	}
	if key, err = url.PathUnescape(escKey); err != nil {
		return "", "", errorf(CodeInvalidKey, "the key in the path is not validly percent-encoded")
	}
	return bucket, key, nil
}

// parseSeconds parses the expires_in of a query: a decimal integer, nothing else.
// Its range is the presign conversion's to judge.
func parseSeconds(v string) (int64, error) {
	bad := errorf(CodeInvalidRequest, "query parameter expires_in must be a whole number of seconds, such as 300")
	digits := strings.TrimPrefix(v, "-")
	if digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, bad
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, bad
	}
	return n, nil
}

// writeLink answers a link with a redirect to the URL just signed. The answer is not
// to be cached or kept (it carries a bearer URL), and the page the browser lands on
// is not told where the link was.
func writeLink(w http.ResponseWriter, res presignResponse) {
	h := w.Header()
	h.Set("Location", res.URL)
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusTemporaryRedirect)
	_, _ = io.WriteString(w, "Redirecting to a pre-signed URL of the object.\n")
}
