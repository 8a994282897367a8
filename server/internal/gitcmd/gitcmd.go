// Package gitcmd runs git for moosed with a configuration moosed controls.
//
// git executes programs named by configuration and attributes: core.fsmonitor,
// hooks (core.hooksPath), filter.<x>.clean/smudge selected by .gitattributes,
// diff.<x>.textconv, core.sshCommand, credential helpers, core.pager and more.
// Any of those planted where git reads them turns a routine `git add` into code
// execution as moosed's user, with moosed's environment. Moosed therefore never
// runs git with:
//
//   - the system or global configuration (GIT_CONFIG_NOSYSTEM=1,
//     GIT_CONFIG_GLOBAL=/dev/null) or system attributes (GIT_ATTR_NOSYSTEM=1);
//   - hooks (core.hooksPath=/dev/null), an fsmonitor (core.fsmonitor=false), an
//     attributes file (core.attributesFile=/dev/null), a pager, credential
//     helpers, or protocols that run commands (protocol.ext.allow=never);
//   - moosed's environment: a command gets PATH, a private HOME, LC_ALL=C and
//     GIT_TERMINAL_PROMPT=0, plus exactly the variables its caller passes (a push
//     gets its credential this way and no other command sees it).
//
// The operator may name one configuration file of their own (moosed
// --git-config: url.<base>.insteadOf rewrites to a mirror, http.proxy, a CA
// bundle); it is read in place of the global file, and the settings above
// still win over it.
//
// Repository configuration (.git/config) is still read: moosed writes it itself
// when it clones, and sandboxed code never sees a git directory (validation runs
// on a view of the tree without .git; see package workspace).
package gitcmd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
)

// operatorConfig is the operator's configuration file, read as git's global
// file; empty means none (/dev/null).
var operatorConfig atomic.Value // string

// SetOperatorConfig makes path, an operator-written git configuration file,
// the global configuration of every later git command of this process; ""
// removes it. The file must be a readable regular file.
func SetOperatorConfig(path string) error {
	if path != "" {
		fi, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("git-config: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("git-config: %s is not a regular file", path)
		}
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("git-config: %w", err)
		}
		_ = f.Close()
	}
	operatorConfig.Store(path)
	return nil
}

func globalConfig() string {
	if p, _ := operatorConfig.Load().(string); p != "" {
		return p
	}
	return "/dev/null"
}

// safeConfig is passed on every command line. `-c` is protected configuration
// to git: it wins over the repository's own file.
var safeConfig = []string{
	"-c", "core.hooksPath=/dev/null",
	"-c", "core.fsmonitor=false",
	"-c", "core.untrackedCache=false",
	"-c", "core.attributesFile=/dev/null",
	"-c", "core.pager=cat",
	"-c", "core.sshCommand=ssh",
	"-c", "protocol.ext.allow=never",
	"-c", "credential.helper=",
	"-c", "gc.auto=0",
	"-c", "maintenance.auto=false",
	"-c", "commit.gpgSign=false",
	"-c", "tag.gpgSign=false",
	"-c", "safe.directory=*",
}

// emptyHome is the HOME every git command gets: an empty directory, so no
// ~/.gitconfig, ~/.netrc or ~/.ssh/config of the operator is read.
var emptyHome = sync.OnceValue(func() string {
	dir, err := os.MkdirTemp("", "moose-git-home-")
	if err != nil {
		return "/nonexistent"
	}
	_ = os.Chmod(dir, 0o500)
	return dir
})

// Env is the whole environment of a git command: the fixed, minimal base and
// extra (later entries win).
func Env(extra ...string) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	env := []string{
		"PATH=" + path,
		"HOME=" + emptyHome(),
		"LC_ALL=C",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + globalConfig(),
		"GIT_ATTR_NOSYSTEM=1",
		"GIT_ASKPASS=",
		"SSH_ASKPASS=",
		"GIT_PAGER=cat",
		"GIT_OPTIONAL_LOCKS=0",
	}
	return append(env, extra...)
}

// Args is the argument list of a git command: the safe configuration, then args.
func Args(args ...string) []string {
	return append(append([]string(nil), safeConfig...), args...)
}

// Command returns git args in dir with the safe configuration and the minimal
// environment plus env.
func Command(ctx context.Context, dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "git", Args(args...)...)
	cmd.Dir = dir
	cmd.Env = Env(env...)
	return cmd
}

// Error is a failed git command with its standard error.
type Error struct {
	Op     string
	Err    error
	Stderr string
}

func (e *Error) Error() string { return fmt.Sprintf("git %s: %v: %s", e.Op, e.Err, e.Stderr) }
func (e *Error) Unwrap() error { return e.Err }

// Run runs git and returns its standard output. A failure carries git's
// standard error (an *Error), or the context's error when ctx ended.
func Run(ctx context.Context, dir string, env []string, stdin io.Reader, args ...string) ([]byte, error) {
	cmd := Command(ctx, dir, env, args...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("git %s: %w", op(args), ctx.Err())
		}
		return nil, &Error{Op: op(args), Err: err, Stderr: strings.TrimSpace(stderr.String())}
	}
	return stdout.Bytes(), nil
}

// op names a command for errors: the first argument that is not an option of
// git itself (-C dir, --git-dir=...).
func op(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-C" || a == "-c" || a == "--git-dir" || a == "--work-tree":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			return a
		}
	}
	if len(args) > 0 {
		return args[0]
	}
	return ""
}
