package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"

	"github.com/hashicorp/go-plugin/runner"
)

// procRunner starts a plugin process the way go-plugin's default runner does,
// plus what the default lacks: its own process group (so stop kills the plugin's
// children too), Pdeathsig (so a SIGKILLed host does not leave it running),
// and an exit channel (so a crash is noticed at once, not on the next call).
type procRunner struct {
	cmd    *exec.Cmd
	stdout io.ReadCloser
	stderr io.ReadCloser
	pid    int

	exited   chan struct{} // closed once Wait has returned
	waitOnce sync.Once
	waitErr  error
}

var _ runner.Runner = (*procRunner)(nil)

func newProcRunner(cmd *exec.Cmd) (*procRunner, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// go-plugin hands the host's stdin to the plugin; a plugin has no business reading it.
	cmd.Stdin = nil
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("plugin stdout: %w", err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("plugin stderr: %w", err)
	}
	return &procRunner{cmd: cmd, stdout: stdout, stderr: stderr, exited: make(chan struct{})}, nil
}

// Start forks the plugin from a goroutine that holds its OS thread until the
// plugin has exited. Pdeathsig fires when the forking *thread* ends, and the Go
// runtime may retire an idle thread at any time; a thread that stays locked
// ends only when this goroutine returns, after the plugin is gone.
func (r *procRunner) Start(context.Context) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked on purpose: see above
		if err := r.cmd.Start(); err != nil {
			errc <- err
			return
		}
		r.pid = r.cmd.Process.Pid
		errc <- nil
		<-r.exited
	}()
	return <-errc
}

func (r *procRunner) Wait(context.Context) error {
	r.waitOnce.Do(func() {
		r.waitErr = r.cmd.Wait()
		close(r.exited)
	})
	<-r.exited
	return r.waitErr
}

// Kill kills the plugin's whole process group.
func (r *procRunner) Kill(context.Context) error {
	if r.pid <= 0 {
		return nil
	}
	err := syscall.Kill(-r.pid, syscall.SIGKILL)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill plugin process group %d: %w", r.pid, err)
	}
	return nil
}

func (r *procRunner) Stdout() io.ReadCloser { return r.stdout }
func (r *procRunner) Stderr() io.ReadCloser { return r.stderr }
func (r *procRunner) Name() string          { return r.cmd.Path }
func (r *procRunner) ID() string {
	if r.pid <= 0 {
		return ""
	}
	return strconv.Itoa(r.pid)
}

func (r *procRunner) Diagnose(context.Context) string {
	if _, err := os.Stat(r.cmd.Path); err != nil {
		return "the plugin binary is missing: " + err.Error()
	}
	return "the binary may not be a Moose plugin (built with plugins/sdk), may have written to stdout before serving, or may have exited at start; see its stderr in the host log"
}

func (r *procRunner) PluginToHost(n, a string) (string, string, error) { return n, a, nil }
func (r *procRunner) HostToPlugin(n, a string) (string, string, error) { return n, a, nil }
