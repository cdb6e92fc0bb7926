// Package s3signer signs S3 requests and makes presignd's calls to S3 with
// aws-sdk-go-v2: it implements what package signer describes.
//
// Issuing a URL never calls S3. Credentials come from the default AWS chain
// (config.LoadDefaultConfig) behind the SDK's cache; Decide takes one snapshot of
// them, the lifetime is decided against its expiry, and the URL is signed with
// exactly that snapshot.
package s3signer

import (
	"context"
	"errors"
	"fmt"
	"github.com/presignd/presignd/internal/signer"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// RefreshInterval is the shortest time between two forced credential refreshes.
const RefreshInterval = 30 * time.Second

// Target says where URLs for a bucket point and how they are signed.
type Target struct {
	Region string
	// Endpoint is the S3 endpoint presignd reaches; empty means the regional AWS one.
	Endpoint string
	// PublicEndpoint is the endpoint callers reach, signed into URLs; empty means Endpoint.
	PublicEndpoint string
	PathStyle      bool
}

// Config configures a Signer.
type Config struct {
	// Default is the target of every bucket without an override.
	Default Target
	// Buckets holds complete targets for buckets that override the default.
	Buckets map[string]Target
	// Profile selects a shared-config profile; empty uses the default chain.
	Profile string
	// Credentials replaces the default chain when set.
	Credentials aws.CredentialsProvider
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// LoadOptions are passed to config.LoadDefaultConfig.
	LoadOptions []func(*config.LoadOptions) error
	// CallTimeout bounds each of presignd's own calls to S3, its retries included;
	// zero means signer.DefaultCallTimeout.
	CallTimeout time.Duration
}

// Signer signs S3 requests. It is safe for concurrent use.
type Signer struct {
	cfg         Config
	aws         aws.Config
	creds       aws.CredentialsProvider
	now         func() time.Time
	clients     sync.Map // clientKey -> *s3.Client
	lastRefresh atomic.Int64
	fast        fastState
	// sdkOnly turns the fast path off, so that every URL is signed by s3.PresignClient.
	sdkOnly bool
}

type clientKey struct {
	target Target
	public bool
}

// New loads the AWS configuration (no network call) and builds a Signer.
func New(ctx context.Context, cfg Config) (*Signer, error) {
	opts := append([]func(*config.LoadOptions) error{config.WithRegion(cfg.Default.Region)}, cfg.LoadOptions...)
	if cfg.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(cfg.Profile))
	}
	if cfg.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(cfg.Credentials))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	if _, ok := awsCfg.Credentials.(*aws.CredentialsCache); !ok && awsCfg.Credentials != nil {
		awsCfg.Credentials = aws.NewCredentialsCache(awsCfg.Credentials)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = signer.DefaultCallTimeout
	}
	return &Signer{cfg: cfg, aws: awsCfg, creds: awsCfg.Credentials, now: now}, nil
}

// ErrNoCredentials means the credential chain found nothing to sign with.
var ErrNoCredentials = errors.New("no AWS credentials were found")

// Credentials returns the current signing credentials, from the SDK's cache.
func (s *Signer) Credentials(ctx context.Context) (signer.Credentials, error) {
	c, err := s.retrieve(ctx)
	return snapshot(c), err
}

func (s *Signer) retrieve(ctx context.Context) (aws.Credentials, error) {
	if s.creds == nil {
		return aws.Credentials{}, ErrNoCredentials
	}
	c, err := s.creds.Retrieve(ctx)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("retrieving signing credentials: %w", err)
	}
	return c, nil
}

// refresh drops cached credentials and retrieves new ones, at most once per
// RefreshInterval. It reports false, with the cached credentials, when it did not refresh.
func (s *Signer) refresh(ctx context.Context) (aws.Credentials, bool, error) {
	cache, ok := s.creds.(*aws.CredentialsCache)
	now := s.now()
	last := s.lastRefresh.Load()
	if !ok || now.UnixNano()-last < int64(RefreshInterval) || !s.lastRefresh.CompareAndSwap(last, now.UnixNano()) {
		c, err := s.retrieve(ctx)
		return c, false, err
	}
	cache.Invalidate()
	c, err := s.retrieve(ctx)
	return c, true, err
}

// Decide takes the signing credentials from the cache and runs decide against their
// expiry (expires is false for credentials that do not expire). When decide reports
// that the credentials limited its answer, they are refreshed (at most once per
// RefreshInterval) and decide runs once more against the fresh ones. It returns the
// credentials the last run of decide saw: sign with those, so that the decision and
// the signature are about the same credentials.
func (s *Signer) Decide(ctx context.Context, decide func(expires bool, expiry time.Time) (credentialsLimited bool)) (signer.Credentials, error) {
	c, err := s.retrieve(ctx)
	if err != nil {
		return signer.Credentials{}, err
	}
	if !decide(c.CanExpire, c.Expires) {
		return snapshot(c), nil
	}
	fresh, refreshed, err := s.refresh(ctx)
	if !refreshed || err != nil {
		return snapshot(c), nil
	}
	decide(fresh.CanExpire, fresh.Expires)
	return snapshot(fresh), nil
}

// snapshot is the part of SDK credentials that signing needs.
func snapshot(c aws.Credentials) signer.Credentials {
	return signer.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
		SessionToken: c.SessionToken, CanExpire: c.CanExpire, Expires: c.Expires}
}

// sdkCredentials turns a snapshot back into SDK credentials.
func sdkCredentials(c signer.Credentials) aws.Credentials {
	return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
		SessionToken: c.SessionToken, CanExpire: c.CanExpire, Expires: c.Expires}
}

// TargetFor returns the target of a bucket.
func (s *Signer) TargetFor(bucket string) Target {
	if t, ok := s.cfg.Buckets[bucket]; ok {
		return t
	}
	return s.cfg.Default
}

// client returns the S3 client for a target, for signing (public) or for calls.
func (s *Signer) client(t Target, public bool) *s3.Client {
	k := clientKey{target: t, public: public}
	if c, ok := s.clients.Load(k); ok {
		return c.(*s3.Client)
	}
	endpoint := t.Endpoint
	if public && t.PublicEndpoint != "" {
		endpoint = t.PublicEndpoint
	}
	c := s3.NewFromConfig(s.aws, func(o *s3.Options) {
		o.Region = t.Region
		o.UsePathStyle = t.PathStyle
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		// Never add a checksum the caller did not ask for (pre-signed URLs carrying
		// CRC32 of an empty body fail at upload time).
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		if !public {
			o.Retryer = callRetryer()
		}
	})
	actual, _ := s.clients.LoadOrStore(k, c)
	return actual.(*s3.Client)
}

// callRetryer is how presignd's own calls retry. A caller is waiting for each, and
// its time is bounded (CallTimeout, and the request's deadline): a failed attempt is
// tried once more, soon; S3's asking to slow down (SlowDown, 503) is not retried at
// once but answered, so that the caller backs off (503 with Retry-After).
func callRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 2
		o.MaxBackoff = 250 * time.Millisecond
		o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if (&signer.S3Error{Err: err, Code: errorCode(err), Status: httpStatus(err)}).Fault() == signer.FaultSlowDown {
				return aws.FalseTernary
			}
			return aws.UnknownTernary
		})}, o.Retryables...)
	})
}

// pathStyle is forced for buckets with dots: a dotted bucket as a subdomain breaks
// the TLS certificate match.
func forcePathStyle(bucket string) bool { return strings.Contains(bucket, ".") }

// Presign signs req. It makes no network call.
//
// Most URLs are signed by a fast path that produces, byte for byte, the URL that
// s3.PresignClient produces for the same request and time (see fast.go); the
// PresignClient signs the rest.
func (s *Signer) Presign(ctx context.Context, req signer.Request) (signer.Presigned, error) {
	if req.Expires < time.Second {
		// The SDK would silently turn 0 into 900 s.
		return signer.Presigned{}, fmt.Errorf("a URL needs a lifetime of at least 1s, got %s", req.Expires)
	}
	if err := signer.CheckMetadataNames(req.Metadata); err != nil {
		return signer.Presigned{}, err
	}
	// X-Amz-Expires is whole seconds; keep ExpiresAt equal to what the URL says.
	req.Expires = req.Expires.Truncate(time.Second)
	at := s.now().UTC().Truncate(time.Second)
	if p, ok := s.presignFast(ctx, req, at); ok {
		return p, nil
	}
	return s.presignSDK(ctx, req, at)
}

// presignSDK signs req at the given time with s3.PresignClient. It is the reference
// of the fast path, and signs whatever the fast path does not cover.
func (s *Signer) presignSDK(ctx context.Context, req signer.Request, at time.Time) (signer.Presigned, error) {
	pc := s.presignClient(req.Bucket, at, req.Credentials, req.Expires)
	var (
		out *v4.PresignedHTTPRequest
		err error
	)
	b, k := aws.String(req.Bucket), aws.String(req.Key)
	switch req.Method {
	case http.MethodGet:
		out, err = pc.PresignGetObject(ctx, &s3.GetObjectInput{
			Bucket: b, Key: k, VersionId: optional(req.VersionID),
			ResponseContentDisposition: optional(req.ResponseContentDisposition),
			ResponseContentType:        optional(req.ResponseContentType),
			ResponseCacheControl:       optional(req.ResponseCacheControl),
		})
	case http.MethodHead:
		out, err = pc.PresignHeadObject(ctx, &s3.HeadObjectInput{
			Bucket: b, Key: k, VersionId: optional(req.VersionID),
			ResponseContentDisposition: optional(req.ResponseContentDisposition),
			ResponseContentType:        optional(req.ResponseContentType),
			ResponseCacheControl:       optional(req.ResponseCacheControl),
		})
	case http.MethodDelete:
		out, err = pc.PresignDeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: k, VersionId: optional(req.VersionID)})
	case http.MethodPut:
		in := &s3.PutObjectInput{
			Bucket: b, Key: k,
			ContentType:    optional(req.ContentType),
			ChecksumSHA256: optional(req.ChecksumSHA256),
			Metadata:       req.Metadata,
		}
		if req.ContentLength >= 0 {
			in.ContentLength = aws.Int64(req.ContentLength)
		}
		out, err = pc.PresignPutObject(ctx, in)
	default:
		return signer.Presigned{}, fmt.Errorf("cannot sign method %q", req.Method)
	}
	if err != nil {
		return signer.Presigned{}, fmt.Errorf("signing %s: %w", req.Method, err)
	}
	p := signer.Presigned{URL: out.URL, Method: out.Method, Headers: map[string]string{}, SignedAt: at, Expires: req.Expires}
	for name, vals := range out.SignedHeader {
		name = http.CanonicalHeaderKey(name)
		if name == "Host" {
			continue
		}
		p.Headers[name] = strings.Join(vals, ",")
	}
	return p, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// newV4Signer returns a SigV4 signer configured as the S3 client configures its own:
// S3 signs the request path as sent, escaped once (escaping it again would make every
// key with a space, '+' or a non-ASCII letter fail with SignatureDoesNotMatch).
//
// A signer is made per URL: its signing-key cache recognises credentials by access key
// ID alone, so a shared one could sign with a stale key after a secret changes.
func newV4Signer() *v4.Signer {
	return v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
}

// presignClient is a presign client for bucket's target that signs at a known time
// with known credentials.
func (s *Signer) presignClient(bucket string, at time.Time, snap signer.Credentials, expires time.Duration) *s3.PresignClient {
	creds := sdkCredentials(snap)
	t := s.TargetFor(bucket)
	if forcePathStyle(bucket) {
		t.PathStyle = true
	}
	return s3.NewPresignClient(s.client(t, true), func(po *s3.PresignOptions) {
		po.Expires = expires
		po.Presigner = fixedSigner{newV4Signer(), at, creds}
		po.ClientOptions = append(po.ClientOptions, func(o *s3.Options) {
			o.Credentials = staticProvider(creds)
			// The client made for these options would otherwise share the cached
			// client's S3 Express provider and write itself into it, racing with
			// every other call; let it make its own.
			o.ExpressCredentials = nil
		})
	})
}

// fixedSigner signs at a known time with known credentials, so that expires_at is
// exact and the credentials whose expiry capped the lifetime are the ones used.
type fixedSigner struct {
	inner *v4.Signer
	at    time.Time
	creds aws.Credentials
}

func (f fixedSigner) PresignHTTP(ctx context.Context, _ aws.Credentials, r *http.Request, payloadHash, service, region string, _ time.Time, optFns ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return f.inner.PresignHTTP(ctx, f.creds, r, payloadHash, service, region, f.at, optFns...)
}

// StaticCredentials is a provider of fixed, non-expiring credentials.
func StaticCredentials(accessKeyID, secretAccessKey string) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, "")
}
