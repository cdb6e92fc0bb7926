package s3signer

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"maps"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/presignd/presignd/internal/signer"
)

// The fast path signs a POST policy as PresignPostObject does: the policy document is
// the JSON that encoding/json makes of the SDK's map, its conditions in the SDK's order
// (algorithm, bucket, credential, date, security token, then presignd's), base64
// encoded and signed with one HMAC under the cached signing key. The form goes to the
// URL the bucket's POST probes learned from the SDK, which also check the policy and
// every field byte for byte.

// presignPostFast signs req at the given time when the fast path covers it, and
// reports whether it did.
func (s *Signer) presignPostFast(ctx context.Context, req signer.PostRequest, at time.Time) (signer.PostPolicy, bool) {
	if s.sdkOnly || req.Key == "" || req.Expires < time.Second {
		return signer.PostPolicy{}, false
	}
	rt := s.route(ctx, req.Bucket)
	if rt == nil || !rt.post {
		return signer.PostPolicy{}, false
	}
	key := s.signingKey(req.Credentials.SecretAccessKey, at, rt.region, rt.service)
	return rt.signPost(&req, at, key), true
}

// signPost builds and signs the policy of req, and the form fields that carry it.
func (rt *route) signPost(req *signer.PostRequest, at time.Time, key *signingKey) signer.PostPolicy {
	sc := scratchPool.Get().(*scratch)
	defer func() {
		if cap(sc.url)+cap(sc.canonical)+cap(sc.toSign)+cap(sc.signed) <= maxPooledBuffer {
			scratchPool.Put(sc)
		}
	}()
	var dateBuf [8]byte
	date := appendDate(dateBuf[:0], at)
	sc.signed = append(append(sc.signed[:0], req.Credentials.AccessKeyID...), '/')
	sc.signed = rt.appendScope(sc.signed, date, '/')
	credential := string(sc.signed)
	var amzDateBuf [16]byte
	amzDate := string(appendAmzDate(amzDateBuf[:0], at))

	sc.canonical = appendPolicy(sc.canonical[:0], req, credential, amzDate, at.Add(req.Expires))
	// The string to sign is the base64 policy.
	policy := base64.StdEncoding.AppendEncode(sc.toSign[:0], sc.canonical)
	sc.toSign = policy
	sig := key.mac(&sc.mac, policy)

	fields := make(map[string]string, 8)
	fields["X-Amz-Algorithm"] = "AWS4-HMAC-SHA256"
	fields["X-Amz-Credential"] = credential
	fields["X-Amz-Date"] = amzDate
	if tok := req.Credentials.SessionToken; tok != "" {
		fields["X-Amz-Security-Token"] = tok
	}
	fields["X-Amz-Signature"] = hex.EncodeToString(sig[:])
	fields["key"] = req.Key
	fields["policy"] = string(policy)
	if req.ContentType != "" {
		fields["Content-Type"] = req.ContentType
	}
	return signer.PostPolicy{URL: rt.postURL, Fields: fields, SignedAt: at, Expires: req.Expires}
}

// appendScope appends the credential scope, date/region/service/aws4_request, its
// parts joined by sep.
func (rt *route) appendScope(b, date []byte, sep byte) []byte {
	b = append(b, date...)
	b = append(b, sep)
	b = append(b, rt.region...)
	b = append(b, sep)
	b = append(b, rt.service...)
	b = append(b, sep)
	return append(b, "aws4_request"...)
}

// appendPolicy appends the policy document of req as json.Marshal writes the map
// PresignPostObject builds: "conditions" before "expiration", every string escaped as
// encoding/json escapes it, the expiration in RFC 3339.
func appendPolicy(b []byte, req *signer.PostRequest, credential, amzDate string, expiration time.Time) []byte {
	b = append(b, `{"conditions":[{"X-Amz-Algorithm":"AWS4-HMAC-SHA256"},{"bucket":`...)
	b = appendJSONString(b, req.Bucket)
	b = append(b, `},{"X-Amz-Credential":`...)
	b = appendJSONString(b, credential)
	b = append(b, `},{"X-Amz-Date":`...)
	b = appendJSONString(b, amzDate)
	b = append(b, '}')
	if tok := req.Credentials.SessionToken; tok != "" {
		b = append(b, `,{"X-Amz-Security-Token":`...)
		b = appendJSONString(b, tok)
		b = append(b, '}')
	}
	// postConditions, as the SDK appends them.
	b = append(b, `,["content-length-range",`...)
	b = strconv.AppendInt(b, req.MinContentLength, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, req.MaxContentLength, 10)
	b = append(b, `],{"key":`...)
	b = appendJSONString(b, req.Key)
	b = append(b, '}')
	if req.ContentType != "" {
		b = append(b, `,{"Content-Type":`...)
		b = appendJSONString(b, req.ContentType)
		b = append(b, '}')
	}
	b = append(b, `],"expiration":"`...)
	b = expiration.UTC().AppendFormat(b, time.RFC3339)
	return append(b, `"}`...)
}

// appendJSONString appends s as a JSON string the way encoding/json writes it with
// HTML escaping on: '"' and '\' escaped, \b \f \n \r \t by name, other control bytes
// and < > & as \u00XX, bytes that are not UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// postProbes are POST policies: a plain one, and one under temporary credentials with
// a key and a Content-Type holding every kind of byte JSON escapes.
func postProbes(bucket string) []signer.PostRequest {
	temp := probeCredentials
	temp.SessionToken = "probe/session+token==<&>"
	return []signer.PostRequest{
		{Bucket: bucket, Key: "k", Expires: time.Second, Credentials: probeCredentials, MaxContentLength: 1},
		{
			Bucket: bucket, Key: probeRequests()[1].Key + "<&>\"\\\b\f\n\r\t\x00\x1f\u2028\u2029\xc3(",
			Expires: 604800 * time.Second, Credentials: temp,
			ContentType: "text/plain; charset=\"utf-8\" <é>", MinContentLength: 5, MaxContentLength: signer.MaxPostObjectSize,
		},
	}
}

// probePost learns the URL of the bucket's POST forms from the SDK and checks the
// route on the POST probes; it sets rt.post when the fast path signs them all as the
// SDK does.
func (s *Signer) probePost(ctx context.Context, rt *route, bucket string) error {
	for i, p := range postProbes(bucket) {
		want, err := s.presignPostSDK(ctx, p, probeTime)
		if err != nil {
			return err
		}
		if i == 0 {
			rt.postURL = want.URL
		}
		key := deriveSigningKey(p.Credentials.SecretAccessKey, probeTime, rt.region, rt.service)
		got := rt.signPost(&p, probeTime, key)
		if got.URL != want.URL || !maps.Equal(got.Fields, want.Fields) {
			rt.postURL = ""
			return nil
		}
	}
	rt.post = true
	return nil
}
