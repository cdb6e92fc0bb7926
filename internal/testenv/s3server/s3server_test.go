package s3server_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/presignd/presignd/internal/testenv"
	"github.com/presignd/presignd/internal/testenv/s3server"
)

func TestMain(m *testing.M) {
	testenv.ScrubAWS()
	os.Exit(m.Run())
}

func TestServer(t *testing.T) {
	s := s3server.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	s.CreateBucket(t, "media")
	s.EnableVersioning(t, "media")
	s.PutBucketCORS(t, "media", []string{"http://127.0.0.1:1234"})

	c := s.Client()
	v, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("media")})
	if err != nil {
		t.Fatalf("GetBucketVersioning: %v", err)
	}
	if v.Status != types.BucketVersioningStatusEnabled {
		t.Errorf("versioning status: got %q, want Enabled", v.Status)
	}
	cors, err := c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("media")})
	if err != nil {
		t.Fatalf("GetBucketCors: %v", err)
	}
	if len(cors.CORSRules) != 1 || len(cors.CORSRules[0].AllowedOrigins) != 1 || cors.CORSRules[0].AllowedOrigins[0] != "http://127.0.0.1:1234" {
		t.Errorf("CORS rules: got %+v, want one rule for http://127.0.0.1:1234", cors.CORSRules)
	}

	if _, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("media"), Key: aws.String("a/b.txt"), Body: strings.NewReader("hello"),
	}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}

	// The public endpoint is the same server.
	pub := s3.New(s3.Options{
		Region: s.Region, BaseEndpoint: aws.String(s.PublicEndpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	})
	out, err := pub.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("media"), Key: aws.String("a/b.txt")})
	if err != nil {
		t.Fatalf("GetObject through the public endpoint: %v", err)
	}
	body, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(body) != "hello" {
		t.Errorf("body through the public endpoint: got %q, want %q", body, "hello")
	}

	// Signatures are verified: a wrong secret is refused.
	bad := s3.New(s3.Options{
		Region: s.Region, BaseEndpoint: aws.String(s.Endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(s.AccessKey, "not-the-secret", ""),
	})
	_, err = bad.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("media"), Key: aws.String("a/b.txt")})
	if err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Errorf("GetObject with a wrong secret: got %v, want SignatureDoesNotMatch", err)
	}

	// An unsigned request is refused too.
	resp, err := http.Get(s.Endpoint + "/media/a/b.txt")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned GET: got %d, want 403", resp.StatusCode)
	}
}

// TestOnlyForTests: no package of the module imports internal/testenv outside its
// tests, so versitygw's client side, and the IdP and proxy of the single-sign-on test,
// never reach the presignd binary.
func TestOnlyForTests(t *testing.T) {
	root, err := s3server.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	list := func(args ...string) []string {
		cmd := exec.Command("go", append([]string{"list"}, args...)...)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %v: %v", args, err)
		}
		return strings.Fields(string(out))
	}
	var pkgs []string
	for _, p := range list("./...") {
		if !strings.Contains(p, "/internal/testenv") {
			pkgs = append(pkgs, p)
		}
	}
	for _, dep := range list(append([]string{"-deps"}, pkgs...)...) {
		if strings.Contains(dep, "/internal/testenv") || strings.HasPrefix(dep, "github.com/versity/") || strings.HasPrefix(dep, "github.com/oauth2-proxy/") {
			t.Errorf("%s is a dependency of non-test code", dep)
		}
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := s3server.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "test", "tools", "tools.go")); err != nil {
		t.Errorf("RepoRoot() = %s, which has no test/tools/tools.go: %v", root, err)
	}
}
