// Command demo runs examples/uppy locally, all on loopback: versitygw as S3, a small
// OIDC issuer that mints one user's JWT, presignd, the page, and a stand-in for a
// sign-on proxy in front of presignd for companionEndpoint mode. It prints the two
// URLs to open and stops everything on Ctrl-C. `make uppy-demo` builds what it needs
// (versitygw, presignd, the page's bundle) and runs it.
package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The example key pair of the AWS documentation: versitygw's only account.
const (
	accessKey = "AKIAIOSFODNN7EXAMPLE"
	secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	region    = "us-east-1"
	bucket    = "uppy"
	audience  = "presignd"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	versitygw := flag.String("versitygw", ".cache/versitygw-v1.8.0", "the versitygw binary")
	presignd := flag.String("presignd", "bin/presignd", "the presignd binary")
	page := flag.String("page", "examples/uppy", "the page's directory (built: npm ci && npm run build)")
	user := flag.String("user", "demo", "the user: the JWT's sub, and the sign-on proxy's user")
	flag.Parse()
	if _, err := os.Stat(filepath.Join(*page, "dist", "uppy.js")); err != nil {
		return fmt.Errorf("the page is not built (%w): run make uppy-demo, or npm ci && npm run build in %s", err, *page)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tmp, err := os.MkdirTemp("", "presignd-uppy-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// The page and the sign-on proxy listen first: presignd and the bucket allow them.
	pageLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ssoLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	pageOrigin, ssoOrigin := "http://"+pageLn.Addr().String(), "http://"+ssoLn.Addr().String()

	s3URL, err := startVersitygw(ctx, *versitygw, tmp)
	if err != nil {
		return err
	}
	if err := createBucket(ctx, s3URL, []string{pageOrigin, ssoOrigin}); err != nil {
		return err
	}
	issuer, token, freeToken, err := startIssuer(*user)
	if err != nil {
		return err
	}
	presigndURL, err := startPresignd(ctx, *presignd, tmp, s3URL, issuer, pageOrigin, *user)
	if err != nil {
		return err
	}

	go http.Serve(pageLn, http.FileServer(http.Dir(*page)))
	target, _ := url.Parse(presigndURL)
	sso := http.NewServeMux()
	sso.Handle("/v1/", &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Header.Del("Authorization")
		r.Out.Header.Set("X-Auth-Request-Email", *user) // what oauth2-proxy sends after a login
	}})
	sso.Handle("/", http.FileServer(http.Dir(*page)))
	go http.Serve(ssoLn, sso)

	sign := url.Values{"mode": {"sign"}, "server": {presigndURL}, "token": {token}}
	fmt.Printf(`
versitygw   %s (bucket %q; key %s)
presignd    %s
signRequest mode (JWT of %q from a local issuer):
  %s/#%s
signRequest mode with multipart (the same user, under a grant without limits):
  %s/#%s
companionEndpoint mode (same origin, behind a stand-in sign-on proxy as %q):
  %s/#mode=companion&multipartAbove=%d
Uploads land under users/%s/uppy/ (50 MiB, images, text, PDF, octet-stream) and
free/%s/ (no limits). Ctrl-C stops everything.
`, s3URL, bucket, accessKey, presigndURL, *user, pageOrigin, sign.Encode(),
		pageOrigin, url.Values{"mode": {"sign"}, "server": {presigndURL}, "token": {freeToken}, "multipartAbove": {"5242880"}}.Encode(),
		*user, ssoOrigin, 5<<20, *user, *user)
	<-ctx.Done()
	return nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startVersitygw runs versitygw on a free port with its data under dir.
func startVersitygw(ctx context.Context, bin, dir string) (string, error) {
	addr, err := freeAddr()
	if err != nil {
		return "", err
	}
	data, versions := filepath.Join(dir, "data"), filepath.Join(dir, "versions")
	for _, d := range []string{data, versions} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return "", err
		}
	}
	cmd := exec.CommandContext(ctx, bin, "--access", accessKey, "--secret", secretKey, "--region", region,
		"--port", addr, "--health", "/health", "--quiet", "posix", "--versioning-dir", versions, data)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("running versitygw (make .cache/versitygw-v1.8.0 builds it): %w", err)
	}
	u := "http://" + addr
	return u, waitFor(u + "/health")
}

func waitFor(u string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(u); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer 200 within 30s", u)
}

// createBucket creates the bucket with the CORS rule Uppy needs: its origins may PUT,
// POST, GET and DELETE, and read ETag (multipart) and Location.
func createBucket(ctx context.Context, endpoint string, origins []string) error {
	c := s3.New(s3.Options{Region: region, BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, "")})
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return fmt.Errorf("creating the bucket: %w", err)
	}
	_, err := c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String(bucket), CORSConfiguration: &types.CORSConfiguration{
		CORSRules: []types.CORSRule{{
			AllowedOrigins: origins,
			AllowedMethods: []string{"GET", "PUT", "POST", "DELETE", "HEAD"},
			AllowedHeaders: []string{"*"},
			ExposeHeaders:  []string{"ETag", "Location"},
			MaxAgeSeconds:  aws.Int32(600),
		}}}})
	return err
}

// startIssuer serves an OIDC discovery document and JWKS on loopback and mints the
// user's JWTs for 12 hours: the issuer URL, a plain token, and one with the claim
// plan: free.
func startIssuer(user string) (iss, plain, free string, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", "", err
	}
	iss = "http://" + ln.Addr().String()
	jwk := jose.JSONWebKey{Key: key.Public(), KeyID: "demo", Algorithm: "RS256", Use: "sig"}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "jwks_uri": iss + "/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
	})
	go http.Serve(ln, mux)
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "demo"))
	if err != nil {
		return "", "", "", err
	}
	now := time.Now()
	claims := jwt.Claims{Issuer: iss, Subject: user, Audience: jwt.Audience{audience}, IssuedAt: jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)), Expiry: jwt.NewNumericDate(now.Add(12 * time.Hour))}
	if plain, err = jwt.Signed(sig).Claims(claims).Serialize(); err != nil {
		return "", "", "", err
	}
	if free, err = jwt.Signed(sig).Claims(claims).Claims(map[string]any{"plan": "free"}).Serialize(); err != nil {
		return "", "", "", err
	}
	return iss, plain, free, nil
}

// startPresignd writes the config and runs presignd serve on it.
func startPresignd(ctx context.Context, bin, dir, s3URL, issuer, pageOrigin, user string) (string, error) {
	addr, err := freeAddr()
	if err != nil {
		return "", err
	}
	admin, err := freeAddr()
	if err != nil {
		return "", err
	}
	cfg := fmt.Sprintf(`listen: %s
admin_listen: %s
s3: {region: %s, endpoint: %s, path_style: true}
cors: {allowed_origins: [%q]}
identity:
  issuers:
    - {name: demo, issuer: %q, audiences: [%s], algorithms: [RS256]}
  trusted_proxies:
    from: ["127.0.0.1/32"]
clients:
  - name: free
    match: [{issuer: demo, claims: {plan: free}}]
    grants: [{bucket: %[8]s, prefixes: ["free/{subject}/"], methods: [PUT, GET], max_ttl: 1h}]
    uploads: {bucket: %[8]s, prefix: "free/{subject}/"}
  - name: users
    match: [{issuer: demo}, {proxy_user: %[9]q}]
    grants:
      - bucket: %[8]s
        prefixes: ["users/{subject}/"]
        methods: [PUT, GET]
        max_ttl: 1h
        max_content_length: 52428800
        content_types: ["image/*", "text/*", "application/pdf", "application/octet-stream"]
    uploads: {bucket: %[8]s, prefix: "users/{subject}/uppy/"}
`, addr, admin, region, s3URL, pageOrigin, issuer, audience, bucket, user)
	path := filepath.Join(dir, "presignd.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, bin, "serve", "--config", path)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+accessKey, "AWS_SECRET_ACCESS_KEY="+secretKey, "AWS_EC2_METADATA_DISABLED=true")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("running presignd (make build builds it): %w", err)
	}
	if err := waitFor("http://" + admin + "/readyz"); err != nil {
		return "", errors.Join(err, cmd.Process.Kill())
	}
	return "http://" + addr, nil
}
