// Package s3server runs a real S3-compatible server, Versity's versitygw, for tests.
//
// The binary is pinned by the nested module in test/tools and is never linked into
// presignd. Start finds it (env PRESIGND_VERSITYGW, else the user cache), builds it
// there when it is missing, and runs it on free loopback ports with a posix backend
// in a temporary directory:
//
//	s := s3server.Start(t)
//	s.CreateBucket(t, "media")
//	// s.Endpoint is http://127.0.0.1:PORT; s.AccessKey/s.SecretKey sign for it.
//
// This package is test support: only tests may import it.
package s3server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/presignd/presignd/internal/testenv"
	"github.com/presignd/presignd/internal/testenv/gotool"
	"github.com/presignd/presignd/internal/testenv/syncbuf"
)

// Version is the versitygw release test/tools pins.
const Version = "v1.8.0"

// Region is the region versitygw answers for.
const Region = "us-east-1"

// EnvBinary names a versitygw binary to use instead of the cached build.
const EnvBinary = "PRESIGND_VERSITYGW"

const healthPath = "/health"

// Server is a running versitygw.
type Server struct {
	// Endpoint is the primary address, http://127.0.0.1:PORT.
	Endpoint string
	// PublicEndpoint is a second address of the same server, for tests of a public
	// endpoint that differs from the one presignd is configured with.
	PublicEndpoint string
	// AccessKey and SecretKey are the root credentials: testenv's example key pair.
	AccessKey string
	SecretKey string
	// Region is the region to sign for.
	Region string

	client *s3.Client
	output *syncbuf.Buffer
}

// Start runs a versitygw for the test and stops it when the test ends. Any failure
// to find, build or start it is fatal.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary(t)
	root := t.TempDir()
	data := filepath.Join(root, "data")
	versions := filepath.Join(root, "versions")
	for _, d := range []string{data, versions} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatalf("s3server: %v", err)
		}
	}
	// Free ports can be taken between choosing and binding them: try a few times.
	var lastErr error
	for range 3 {
		s, err := start(t, bin, data, versions)
		if err == nil {
			return s
		}
		lastErr = err
	}
	t.Fatalf("s3server: cannot start versitygw: %v", lastErr)
	return nil
}

func start(t testing.TB, bin, data, versions string) (*Server, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	primary, public := "127.0.0.1:"+ports[0], "127.0.0.1:"+ports[1]
	out := &syncbuf.Buffer{}
	// Only what the process needs: no AWS_*, ROOT_* or VGW_* settings leak in.
	proc, err := testenv.StartProcess(bin, []string{
		"--access", testenv.AccessKeyID, "--secret", testenv.SecretAccessKey, "--region", Region,
		"--port", primary, "--port", public,
		"--health", healthPath, "--quiet",
		"posix", "--versioning-dir", versions, data}, out)
	if err != nil {
		return nil, err
	}
	exited, stop := proc.Exited(), proc.Stop

	s := &Server{
		Endpoint:       "http://" + primary,
		PublicEndpoint: "http://" + public,
		AccessKey:      testenv.AccessKeyID,
		SecretKey:      testenv.SecretAccessKey,
		Region:         Region,
		output:         out,
	}
	if err := waitReady(exited, s.Endpoint, s.PublicEndpoint); err != nil {
		stop()
		return nil, fmt.Errorf("%w; versitygw said: %s", err, clip(out.String()))
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("versitygw output:\n%s", clip(out.String()))
		}
	})
	s.client = s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(testenv.AccessKeyID, testenv.SecretAccessKey, ""),
		HTTPClient:   &http.Client{Timeout: 30 * time.Second},
	})
	return s, nil
}

// waitReady polls the health endpoint of every address until each answers 200.
func waitReady(exited <-chan struct{}, endpoints ...string) error {
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for _, ep := range endpoints {
		for {
			resp, err := hc.Get(ep + healthPath)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
				err = fmt.Errorf("%s%s answered %s", ep, healthPath, resp.Status)
			}
			select {
			case <-exited:
				return errors.New("versitygw exited before it was ready")
			default:
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("versitygw was not ready within 30s: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

func freePorts(n int) ([]string, error) {
	var (
		ports []string
		lns   []net.Listener
	)
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		lns = append(lns, ln)
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		ports = append(ports, port)
	}
	return ports, nil
}

// Client is an S3 client for the server with the root credentials, path style.
func (s *Server) Client() *s3.Client { return s.client }

// Output is what versitygw has printed so far.
func (s *Server) Output() string { return s.output.String() }

// CreateBucket creates a bucket.
func (s *Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := callContext()
	defer cancel()
	if _, err := s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("s3server: creating bucket %s: %v", name, err)
	}
}

// EnableVersioning turns versioning on for a bucket.
func (s *Server) EnableVersioning(t testing.TB, bucket string) {
	t.Helper()
	ctx, cancel := callContext()
	defer cancel()
	_, err := s.client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	})
	if err != nil {
		t.Fatalf("s3server: enabling versioning on %s: %v", bucket, err)
	}
}

// PutBucketCORS lets browsers on origins use every object method on a bucket, and
// read the ETag (multipart uploads need it) and the version id.
func (s *Server) PutBucketCORS(t testing.TB, bucket string, origins []string) {
	t.Helper()
	ctx, cancel := callContext()
	defer cancel()
	_, err := s.client.PutBucketCors(ctx, &s3.PutBucketCorsInput{
		Bucket: aws.String(bucket),
		CORSConfiguration: &types.CORSConfiguration{CORSRules: []types.CORSRule{{
			AllowedOrigins: origins,
			AllowedMethods: []string{"GET", "PUT", "POST", "HEAD", "DELETE"},
			AllowedHeaders: []string{"*"},
			ExposeHeaders:  []string{"ETag", "x-amz-version-id"},
			MaxAgeSeconds:  aws.Int32(600),
		}}},
	})
	if err != nil {
		t.Fatalf("s3server: putting CORS on %s: %v", bucket, err)
	}
}

func callContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// program is versitygw as test/tools pins it.
var program = gotool.Program{
	Name:      "versitygw-" + Version,
	Env:       EnvBinary,
	ModuleDir: "test/tools",
	Package:   "github.com/versity/versitygw/cmd/versitygw",
}

// Binary returns the path of the pinned versitygw: $PRESIGND_VERSITYGW when set,
// else the user cache, where it is built from test/tools when missing.
func Binary(t testing.TB) string {
	t.Helper()
	return program.Path(t)
}

// RepoRoot walks up from the working directory to the directory whose go.mod
// declares the presignd module.
func RepoRoot() (string, error) { return gotool.RepoRoot() }

func clip(s string) string {
	const max = 8 << 10
	if len(s) > max {
		return "…" + s[len(s)-max:]
	}
	return s
}
