package publish_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/pipeline"
)

// fixture is a project repository as a bare "origin" and a worktree cloned
// from it, detached at the base commit like a pool workspace, whose own origin
// points somewhere useless: publishers must push to the URL they are given.
type fixture struct {
	bare string
	dir  string
	base string
}

var gitEnv = []string{
	"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
	"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
	"GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C",
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), gitEnv...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := t.TempDir()
	src := filepath.Join(root, "src")
	require.NoError(t, os.MkdirAll(src, 0o755))
	git(t, src, "init", "-q", "-b", "main")
	write(t, src, "README.md", "# widgets\n")
	write(t, src, ".gitignore", "*.log\nbuild/\n")
	write(t, src, "main.go", "package main\n\nfunc main() {}\n")
	git(t, src, "add", "-A")
	git(t, src, "commit", "-q", "-m", "initial")
	fx := &fixture{bare: filepath.Join(root, "origin.git"), dir: filepath.Join(root, "ws")}
	git(t, root, "clone", "-q", "--bare", src, fx.bare)
	git(t, root, "clone", "-q", fx.bare, fx.dir)
	fx.base = git(t, fx.dir, "rev-parse", "HEAD")
	git(t, fx.dir, "checkout", "-q", "--detach", fx.base)
	git(t, fx.dir, "branch", "-q", "-D", "main")
	git(t, fx.dir, "remote", "set-url", "origin", filepath.Join(root, "decoy.git"))
	return fx
}

// change edits the worktree the way applying a proposal does: a modified
// file, a new untracked file, a deleted file and an ignored build artefact.
func (fx *fixture) change(t *testing.T, version string) {
	t.Helper()
	write(t, fx.dir, "main.go", "package main\n\nfunc main() { println(\""+version+"\") }\n")
	write(t, fx.dir, "feature/feature.go", "package feature\n\n// V is "+version+".\nconst V = \""+version+"\"\n")
	write(t, fx.dir, "debug.log", "noise\n")
	write(t, fx.dir, "build/out.bin", "binary\n")
	_ = os.Remove(filepath.Join(fx.dir, "README.md"))
}

func (fx *fixture) request(id uuid.UUID, body, outcome string) pipeline.PublishRequest {
	return pipeline.PublishRequest{
		WorkOrderID: id, Dir: fx.dir, BaseCommit: fx.base, Branch: pipeline.BranchFor(id),
		Title: "Add the feature", Body: body, Outcome: outcome,
	}
}

// branchSHA is the commit refs/heads/branch has in the bare repository, "" if none.
func (fx *fixture) branchSHA(t *testing.T, branch string) string {
	t.Helper()
	out, err := exec.Command("git", "--git-dir", fx.bare, "rev-parse", "--verify", "-q", "refs/heads/"+branch).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func (fx *fixture) show(t *testing.T, rev, path string) (string, bool) {
	t.Helper()
	out, err := exec.Command("git", "--git-dir", fx.bare, "show", rev+":"+path).Output()
	return string(out), err == nil
}

// syncBuffer collects log output written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func lookupEnv(k string) (string, bool) { return os.LookupEnv(k) }
