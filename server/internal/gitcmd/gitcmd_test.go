package gitcmd

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func mustGit(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// The environment's global configuration is never read; the operator's file
// is, and its url rewrites apply, but what it says about hooks, the fsmonitor,
// pagers and credential helpers does not. (Filter drivers the operator defines,
// git-lfs say, do run: proposals cannot add .gitattributes that select them.)
func TestOperatorConfig(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "src")
	mustGit(t, root, "init", "-q", "-b", "main", src)
	marker := filepath.Join(root, "ran")
	script := filepath.Join(root, "evil.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ntouch "+marker+"\ncat\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "a.txt"), []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustGit(t, src, "add", "-A")
	mustGit(t, src, "commit", "-q", "-m", "init")

	cfg := filepath.Join(root, "gitconfig")
	body := fmt.Sprintf("[url %q]\n\tinsteadOf = https://mirror.test/\n[core]\n\tfsmonitor = %s\n\thooksPath = %s\n\tpager = %s\n[credential]\n\thelper = %s\n",
		root+"/", script, root, script, "!"+script)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Setenv("GIT_CONFIG_GLOBAL", cfg) // moosed's environment: ignored
	if _, err := Run(ctx, root, nil, nil, "clone", "-q", "https://mirror.test/src", filepath.Join(root, "c0")); err == nil {
		t.Fatal("clone through a rewrite only the environment names succeeded")
	}

	if err := SetOperatorConfig(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = SetOperatorConfig("") })
	clone := filepath.Join(root, "c1")
	if _, err := Run(ctx, root, nil, nil, "clone", "-q", "https://mirror.test/src", clone); err != nil {
		t.Fatalf("clone through the operator's rewrite: %v", err)
	}
	if err := os.WriteFile(filepath.Join(clone, "a.txt"), []byte("b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pre-commit", "post-checkout", "pre-push"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t"}
	for _, args := range [][]string{{"status", "--porcelain"}, {"add", "-A"}, {"diff", "--cached"}, {"commit", "-q", "-m", "x"}, {"checkout", "-q", "-b", "other"}} {
		if _, err := Run(ctx, clone, env, nil, args...); err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a program named by the operator's configuration ran")
	}

	if err := SetOperatorConfig(filepath.Join(root, "missing")); err == nil {
		t.Fatal("a missing operator configuration was accepted")
	}
	if err := SetOperatorConfig(root); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("a directory as configuration: %v", err)
	}
}
