//go:build !unix

package gotool

// lockFile does nothing here: concurrent builds may both run, and the rename into
// place still keeps every reader from seeing half a binary.
func lockFile(string) (func(), error) { return func() {}, nil }
