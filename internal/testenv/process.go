package testenv

import (
	"fmt"
	"io"
	"os"
	"os/exec"
)

// Process is a test tool (versitygw, oauth2-proxy) running as a child process.
type Process struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartProcess runs bin with args, its output to out, and an environment of only
// PATH, HOME and TMPDIR, so that no setting of the test's own leaks in.
func StartProcess(bin string, args []string, out io.Writer) (*Process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir()}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("running %s: %w", bin, err)
	}
	p := &Process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Stop kills the process and waits for it to exit.
func (p *Process) Stop() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}
