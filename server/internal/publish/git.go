package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/gitcmd"
	"github.com/moosehq/moose/server/internal/pipeline"
)

// Signature is the author and committer of published commits.
type Signature struct {
	Name  string
	Email string
}

// DefaultSignature is used when a configuration leaves Signature empty.
var DefaultSignature = Signature{Name: "Moose", Email: "moose@localhost"}

func (s Signature) orDefault() Signature {
	if s.Name == "" {
		s.Name = DefaultSignature.Name
	}
	if s.Email == "" {
		s.Email = DefaultSignature.Email
	}
	return s
}

// runGit runs git in dir with extra environment and stdin. Errors carry git's
// standard error; callers redact it when a credential may be involved. The
// command gets package gitcmd's configuration and minimal environment plus
// env: no hooks, fsmonitor or filters run, no credential helper or askpass is
// consulted, and only a push's own env carries its credential.
func runGit(ctx context.Context, dir string, env []string, stdin io.Reader, args ...string) (string, error) {
	out, err := gitcmd.Run(ctx, dir, env, stdin, args...)
	if err != nil {
		var ge *gitcmd.Error
		if errors.As(err, &ge) {
			return "", &gitError{args: ge.Op, err: ge.Err, stderr: ge.Stderr}
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

type gitError struct {
	args   string
	err    error
	stderr string
}

func (e *gitError) Error() string { return fmt.Sprintf("git %s: %v: %s", e.args, e.err, e.stderr) }
func (e *gitError) Unwrap() error { return e.err }

// configEnv passes git configuration through the environment
// (GIT_CONFIG_COUNT, git ≥ 2.31): unlike -c it does not show in the process
// list, and unlike a URL it is never echoed in git's messages.
func configEnv(kv ...[2]string) []string {
	env := []string{"GIT_CONFIG_COUNT=" + strconv.Itoa(len(kv))}
	for i, p := range kv {
		env = append(env, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", i, p[0]), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", i, p[1]))
	}
	return env
}

func validateRequest(req pipeline.PublishRequest) error {
	v := &fault.ValidationError{}
	if req.Dir == "" {
		v.Add("dir", "required")
	}
	if req.BaseCommit == "" || strings.HasPrefix(req.BaseCommit, "-") {
		v.Add("base_commit", "required")
	}
	if req.Branch == "" || strings.HasPrefix(req.Branch, "-") || strings.ContainsAny(req.Branch, " :~^?*[\\") {
		v.Add("branch", "%q is not a branch name", req.Branch)
	}
	return v.Err()
}

// commitChanges records everything in the worktree that git would add (tracked
// and untracked files, .gitignore and info/exclude respected) as one commit
// whose only parent is base, without touching HEAD, the index or the files.
// It works on a copy of the worktree's index so unchanged files are not
// re-hashed.
func commitChanges(ctx context.Context, req pipeline.PublishRequest, sig Signature) (string, error) {
	dir := req.Dir
	base, err := runGit(ctx, dir, nil, nil, "rev-parse", "--verify", "-q", req.BaseCommit+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("base commit %s is not in the worktree: %w", req.BaseCommit, fault.ErrFailedPrecondition)
	}
	baseTree, err := runGit(ctx, dir, nil, nil, "rev-parse", base+"^{tree}")
	if err != nil {
		return "", fmt.Errorf("tree of base commit: %w", err)
	}
	idxPath, err := runGit(ctx, dir, nil, nil, "rev-parse", "--path-format=absolute", "--git-path", "index")
	if err != nil {
		return "", fmt.Errorf("locate index: %w", err)
	}
	tmp, err := os.CreateTemp("", "moose-publish-index-*")
	if err != nil {
		return "", fmt.Errorf("temporary index: %w", err)
	}
	tmpPath := tmp.Name()
	defer func() {
		_ = os.Remove(tmpPath)
		_ = os.Remove(tmpPath + ".lock")
	}()
	env := []string{"GIT_INDEX_FILE=" + tmpPath}
	if src, err := os.Open(idxPath); err == nil {
		_, err = io.Copy(tmp, src)
		_ = src.Close()
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("copy index: %w", err)
		}
	} else {
		// No index yet (never happens in a checkout, but cheap to handle):
		// start from the base tree.
		_ = tmp.Close()
		_ = os.Remove(tmpPath)
		if _, err := runGit(ctx, dir, env, nil, "read-tree", base); err != nil {
			return "", fmt.Errorf("read base tree: %w", err)
		}
	}
	if _, err := runGit(ctx, dir, env, nil, "add", "-A", "--", "."); err != nil {
		return "", fmt.Errorf("stage changes: %w", err)
	}
	tree, err := runGit(ctx, dir, env, nil, "write-tree")
	if err != nil {
		return "", fmt.Errorf("write tree: %w", err)
	}
	if tree == baseTree {
		return "", fmt.Errorf("worktree %s is identical to %s: %w", filepath.Base(dir), short(base), ErrNoChanges)
	}
	msg := commitMessage(req)
	sig = sig.orDefault()
	cenv := []string{
		"GIT_AUTHOR_NAME=" + sig.Name, "GIT_AUTHOR_EMAIL=" + sig.Email,
		"GIT_COMMITTER_NAME=" + sig.Name, "GIT_COMMITTER_EMAIL=" + sig.Email,
	}
	commit, err := runGit(ctx, dir, cenv, strings.NewReader(msg), "commit-tree", "--no-gpg-sign", tree, "-p", base)
	if err != nil {
		return "", fmt.Errorf("create commit: %w", err)
	}
	return commit, nil
}

func commitMessage(req pipeline.PublishRequest) string {
	title := strings.TrimSpace(strings.SplitN(req.Title, "\n", 2)[0])
	if title == "" {
		title = "Moose work order " + req.WorkOrderID.String()
	}
	return fmt.Sprintf("%s\n\nMoose-Work-Order: %s\nMoose-Outcome: %s\n", title, req.WorkOrderID, req.Outcome)
}

func short(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// push force-pushes commit to refs/heads/branch of url. env may carry
// credentials; the caller redacts errors. Hooks of the worktree's repository
// never run (--no-verify), and its remotes are never used: url is explicit.
func push(ctx context.Context, dir, url, commit, branch string, env []string) error {
	_, err := runGit(ctx, dir, env, nil, "push", "--quiet", "--force", "--no-verify", "--", url, commit+":refs/heads/"+branch)
	if err != nil {
		return classifyPush(err)
	}
	return nil
}

// classifyPush tells failures that a retry cannot fix from ones it can (a
// network blip, a remote under load).
func classifyPush(err error) error {
	msg := strings.ToLower(err.Error())
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(msg, s) {
				return true
			}
		}
		return false
	}
	switch {
	case has("context canceled", "context deadline exceeded"):
		return fmt.Errorf("push: %w", err)
	case has("authentication failed", "could not read username", "invalid username or password", "returned error: 401", "bad credentials"):
		return fmt.Errorf("push: %w: %w", ErrUnauthorized, err)
	case has("permission to", "permission denied", "returned error: 403", "protected branch", "pre-receive hook declined", "[remote rejected]"):
		return fmt.Errorf("push: %w: %w", ErrForbidden, err)
	case has("repository not found", "does not appear to be a git repository", "returned error: 404", "not a git repository"):
		return fmt.Errorf("push: %w: %w", ErrRepositoryNotFound, err)
	default:
		return fmt.Errorf("push: %w", unavailable(err))
	}
}
