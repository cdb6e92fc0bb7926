package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"
)

// TokenSource gives the bearer token for a request. Token is called before every attempt,
// from any goroutine, so a source can hand out a rotated token as soon as it has one.
// Errors must not hold the token.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// StaticToken is a token that never changes, such as one from presignd gen-token.
type StaticToken string

// Token returns t.
func (t StaticToken) Token(context.Context) (string, error) { return string(t), nil }

// FileToken reads the token from a file and reads it again when the file changes: a
// Kubernetes projected service-account token, which the kubelet replaces before it
// expires, or any token another process rotates. Each Token call stats the file and
// re-reads it when its identity, size or modification time changed, and at least once a
// minute whatever the stat says (for file systems with coarse timestamps). White space
// around the token is dropped. Make one with [TokenFile].
type FileToken struct {
	path string

	mu     sync.Mutex
	token  string
	info   fs.FileInfo // the stat taken just before token was read
	readAt time.Time
}

// TokenFile returns a source that reads the token from the file at path.
func TokenFile(path string) *FileToken { return &FileToken{path: path} }

// fileTokenMaxAge is how long a token read from a file is used without reading it again
// when the file seems unchanged.
const fileTokenMaxAge = time.Minute

// maxTokenFile bounds the bytes read from a token file; tokens are a few KiB at most.
const maxTokenFile = 64 << 10

// Token returns the token in the file, read again if the file changed. Errors name the
// file, never its content.
func (f *FileToken) Token(context.Context) (string, error) {
	// Stat before reading: a change between the two is seen on the next call.
	info, err := os.Stat(f.path)
	if err != nil {
		return "", f.readError(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.token != "" && sameVersion(f.info, info) && time.Since(f.readAt) < fileTokenMaxAge {
		return f.token, nil
	}
	token, err := f.read()
	if err != nil {
		return "", err
	}
	f.token, f.info, f.readAt = token, info, time.Now()
	return token, nil
}

func (f *FileToken) read() (string, error) {
	file, err := os.Open(f.path)
	if err != nil {
		return "", f.readError(err)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxTokenFile+1))
	if err != nil {
		return "", f.readError(err)
	}
	if len(data) > maxTokenFile {
		return "", fmt.Errorf("the token file %s is larger than %d KiB, too large for a token", f.path, maxTokenFile>>10)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", fmt.Errorf("the token file %s is empty", f.path)
	}
	return token, nil
}

// readError names the file and the failure without repeating the path twice.
func (f *FileToken) readError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("cannot read the token file %s: %w", f.path, err)
}

// sameVersion reports whether two stats of a path show the same file with the same content
// as far as a stat can tell. A file replaced by a rename (as the kubelet does) is another file.
func sameVersion(a, b fs.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}
