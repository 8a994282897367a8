package server_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

// attackSecret is in moosed's environment while the attacks run; no sandboxed
// process may ever see it.
const attackSecret = "moose-attack-secret-4f1d9c"

// attackFile renders one proposed Go file for the replay cassette.
func attackFile(path, body string) string {
	var b strings.Builder
	b.WriteString("      " + path + "\n      ```go\n")
	for _, line := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		if line == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString("      " + line + "\n")
	}
	b.WriteString("      ```\n\n")
	return b.String()
}

// attackEntry is one work order's answer: a harmless function and a test
// file whose code attacks the host when validation runs it.
func attackEntry(title, name, testBody string, extra ...string) string {
	src := "package strutil\n\n// " + name + " is part of the change.\nfunc " + name + "() int { return 1 }\n"
	text := attackFile("strutil/"+strings.ToLower(name)+".go", src) +
		attackFile("strutil/"+strings.ToLower(name)+"_test.go", testBody) + strings.Join(extra, "")
	return "  - key: " + title + "\n    text: |\n" + text
}

const attackImports = `package strutil

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var _ = fmt.Sprint
var _ = net.Dial
var _ = filepath.Join
var _ = strings.Contains
var _ = time.Now

func moduleRoot(t *testing.T) string {
	dir, _ := os.Getwd()
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	t.Fatal("no go.mod above " + dir)
	return ""
}
`

// TestSandboxAttacks runs proposals whose test code attacks the host through
// the real pipeline, plugins and sandbox, and checks that none does harm.
func TestSandboxAttacks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real builds and tests")
	}
	t.Parallel()
	os.Setenv("MOOSE_ATTACK_SECRET", attackSecret)
	dataDir := t.TempDir()
	hostDir := t.TempDir() // on the host, never bound into a sandbox
	marker := filepath.Join(hostDir, "escaped")
	srv := servertest.Start(t, servertest.WithBuiltinPlugins(t), servertest.WithConfig(func(c *server.Config) {
		c.DataDir = dataDir
		c.MaxRefinements = -1
		c.SandboxWriteMiB = 64
		c.SandboxTmpMiB = 32
		c.SandboxCPUTime = 10 * time.Second
	}))
	c := dial(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	_, httpPort, _ := net.SplitHostPort(strings.TrimPrefix(srv.HTTPURL(), "http://"))

	r := strings.NewReplacer("__MARKER__", marker, "__HOSTDIR__", hostDir, "__DATADIR__", dataDir,
		"__GRPC__", srv.GRPCAddr(), "__HTTPPORT__", httpPort, "__SECRET__", attackSecret)
	script := "#!/bin/sh\\necho ran >> " + marker + "\\n"
	entries := []string{
		// The git escape: plant an fsmonitor, a filter, hooks and attributes
		// where moosed's git would find them if it ran in the tree code wrote.
		attackEntry("Attack git", "AttackGit", attackImports+`
func TestAttackGit(t *testing.T) {
	root := moduleRoot(t)
	for d := root; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			t.Errorf("GIT VISIBLE at %s", d)
		}
	}
	script := filepath.Join(root, "evil.sh")
	os.WriteFile(script, []byte("`+script+`"), 0o755)
	os.MkdirAll(filepath.Join(root, ".git", "hooks"), 0o755)
	cfg := "[core]\n\tfsmonitor = " + script + "\n[filter \"x\"]\n\tclean = " + script + "\n\tsmudge = " + script + "\n"
	f, _ := os.OpenFile(filepath.Join(root, ".git", "config"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if f != nil {
		f.WriteString(cfg)
		f.Close()
	}
	for _, h := range []string{"pre-commit", "post-checkout", "pre-push", "reference-transaction", "post-index-change"} {
		os.WriteFile(filepath.Join(root, ".git", "hooks", h), []byte("`+script+`"), 0o755)
	}
	os.WriteFile(filepath.Join(root, ".gitattributes"), []byte("* filter=x diff=x\n"), 0o644)
	os.WriteFile(filepath.Join(root, "strutil", "attackgit.go"), []byte("package strutil\n\nfunc AttackGit() int { return 1 }\n\n// tampered\n"), 0o644)
}
`),
		// Writes outside the worktree.
		attackEntry("Attack outside", "AttackOutside", attackImports+`
func TestAttackOutside(t *testing.T) {
	root := moduleRoot(t)
	for _, p := range []string{"__HOSTDIR__/outside", "/etc/moose-attack", "/usr/moose-attack", filepath.Join(root, "..", "moose-attack"), "__DATADIR__/moose-attack"} {
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("x"), 0o644)
	}
}
`),
		// Reading moosed's secrets and data, reaching its services.
		attackEntry("Attack secrets", "AttackSecrets", attackImports+`
func TestAttackSecrets(t *testing.T) {
	for _, kv := range os.Environ() {
		if strings.Contains(kv, "__SECRET__") || strings.HasPrefix(kv, "MOOSE_ATTACK_SECRET") {
			t.Errorf("LEAK env %s", kv)
		}
	}
	// Only the parents of the sandbox's own binds (its tree and its project's
	// build cache) exist under the data dir; no file of moosed's is there.
	root, cache := moduleRoot(t), os.Getenv("GOCACHE")
	filepath.Walk("__DATADIR__", func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if p == root || p == cache {
			return filepath.SkipDir
		}
		if !fi.IsDir() {
			t.Errorf("LEAK data dir file visible: %s", p)
		}
		return nil
	})
	for _, p := range []string{"/etc/shadow", "/root/.ssh", "/proc/1/environ"} {
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), "__SECRET__") {
			t.Errorf("LEAK %s", p)
		}
	}
	if _, err := os.ReadFile("/etc/shadow"); err == nil {
		t.Errorf("LEAK /etc/shadow readable")
	}
	for _, addr := range []string{"__GRPC__", "127.0.0.1:__HTTPPORT__", "127.0.0.1:5432", "1.1.1.1:443"} {
		if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
			c.Close()
			t.Errorf("LEAK reached %s", addr)
		}
	}
	if _, err := net.LookupHost("example.com"); err == nil {
		t.Errorf("LEAK DNS works")
	}
}
`),
		// Filling the disk: the worktree and /tmp stop at their quotas.
		attackEntry("Attack disk", "AttackDisk", attackImports+`
func TestAttackDisk(t *testing.T) {
	root := moduleRoot(t)
	chunk := make([]byte, 1<<20)
	os.MkdirAll(filepath.Join(root, "fill"), 0o755)
	for i := 0; i < 256; i++ {
		if os.WriteFile(filepath.Join(root, "fill", fmt.Sprint(i)), chunk, 0o644) != nil {
			break
		}
	}
	for i := 0; i < 256; i++ {
		if os.WriteFile(filepath.Join(os.TempDir(), fmt.Sprint("fill", i)), chunk, 0o644) != nil {
			break
		}
	}
}
`),
		// Spinning the CPU: stopped at the CPU limit, long before the wall clock.
		attackEntry("Attack cpu", "AttackCPU", attackImports+`
func TestAttackCPU(t *testing.T) {
	start := time.Now()
	n := 0
	for time.Since(start) < 4*time.Minute {
		n++
	}
	t.Log(n)
}
`),
		// Leftovers: files the tests create are never published.
		attackEntry("Attack leftovers", "AttackLeftovers", attackImports+`
func TestAttackLeftovers(t *testing.T) {
	root := moduleRoot(t)
	os.WriteFile(filepath.Join(root, "leftover.txt"), []byte("from the tests\n"), 0o644)
	os.MkdirAll(filepath.Join(root, "build"), 0o755)
	os.WriteFile(filepath.Join(root, "build", "out.bin"), []byte("artifact"), 0o644)
	os.WriteFile(filepath.Join(root, "strutil", "generated_by_test.go"), []byte("package strutil\n"), 0o644)
}
`),
		// The proposal itself tries to change git metadata.
		attackEntry("Attack attributes", "AttackAttributes", attackImports+`
func TestAttackAttributes(t *testing.T) {}
`, "      .gitattributes\n      ```\n      * filter=x\n      ```\n\n"),
		// Cache poisoning: one project's tests write into its build cache...
		attackEntry("Poison cache", "PoisonCache", attackImports+`
func TestPoisonCache(t *testing.T) {
	dir := os.Getenv("GOCACHE")
	if dir == "" {
		t.Fatal("no GOCACHE")
	}
	if err := os.WriteFile(filepath.Join(dir, "poison-marker"), []byte("planted"), 0o644); err != nil {
		t.Fatal(err)
	}
}
`),
		// ...and another project's tests must not see it.
		attackEntry("Check cache", "CheckCache", attackImports+`
func TestCheckCache(t *testing.T) {
	if _, err := os.Stat(filepath.Join(os.Getenv("GOCACHE"), "poison-marker")); err == nil {
		t.Fatal("POISONED: another project's build cache entry is visible")
	}
}
`),
	}
	cassette := filepath.Join(t.TempDir(), "cassette.yaml")
	require.NoError(t, os.WriteFile(cassette, []byte(r.Replace("model: attacker\nentries:\n"+strings.Join(entries, ""))), 0o644))

	repoA, repoB := sampleRepo(t), sampleRepo(t)
	pa, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "victim-a", RepoUrl: repoA, DefaultBranch: "main", Language: "go"})
	require.NoError(t, err)
	pb, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "victim-b", RepoUrl: repoB, DefaultBranch: "main", Language: "go"})
	require.NoError(t, err)
	v, err := moosev1.NewVariantServiceClient(c.conn).CreateVariant(ctx, &moosev1.CreateVariantRequest{
		Name: "attacker", PluginName: "replay", BaseUrl: cassette, EditFormat: "whole"})
	require.NoError(t, err)
	setTier(t, srv, "cheap", v.GetVariant().GetId())

	submit := func(project, title string) string {
		resp, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: project, Title: title, Complexity: 2,
			Description: "attack", AcceptanceCriteria: []string{"none"}})
		require.NoError(t, err)
		_, err = c.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: resp.GetWorkOrder().GetId()})
		require.NoError(t, err)
		return resp.GetWorkOrder().GetId()
	}
	wait := func(id string) *moosev1.WorkOrder {
		for {
			got, err := c.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: id})
			require.NoError(t, err)
			switch got.GetWorkOrder().GetStatus() {
			case moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_NEEDS_REVIEW,
				moosev1.WorkOrderStatus_WORK_ORDER_STATUS_FAILED:
				return got.GetWorkOrder()
			}
			select {
			case <-ctx.Done():
				t.Fatalf("work order %s did not finish: %v", id, ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	attempt := func(id string) *moosev1.Attempt {
		resp, err := c.wos.ListWorkOrderAttempts(ctx, &moosev1.ListWorkOrderAttemptsRequest{Id: id})
		require.NoError(t, err)
		require.NotEmpty(t, resp.GetAttempts())
		return resp.GetAttempts()[len(resp.GetAttempts())-1]
	}
	categories := func(a *moosev1.Attempt) []string {
		var out []string
		for _, f := range a.GetFindings() {
			out = append(out, f.GetCategory())
		}
		return out
	}
	logs := func(a *moosev1.Attempt) string {
		var b strings.Builder
		for _, v := range a.GetValidations() {
			b.WriteString(v.GetLog())
		}
		for _, f := range a.GetFindings() {
			b.WriteString(f.GetMessage() + "\n")
		}
		return b.String()
	}
	branchFiles := func(repo, branch string) []string {
		out, err := exec.Command("git", "-C", repo, "diff", "--name-only", "main", branch).Output()
		require.NoError(t, err, "branch %s", branch)
		return strings.Fields(string(out))
	}

	ids := map[string]string{}
	for _, title := range []string{"Attack git", "Attack outside", "Attack secrets", "Attack disk", "Attack cpu", "Attack leftovers", "Attack attributes", "Poison cache"} {
		ids[title] = submit(pa.GetProject().GetId(), title)
	}
	done := map[string]*moosev1.WorkOrder{}
	for title, id := range ids {
		done[title] = wait(id)
		t.Logf("%s: %s %.1f %s", title, done[title].GetStatus(), done[title].GetResult().GetOverallScore(), done[title].GetResult().GetFailureReason())
	}
	// The other project runs after the poisoning finished.
	ids["Check cache"] = submit(pb.GetProject().GetId(), "Check cache")
	done["Check cache"] = wait(ids["Check cache"])

	completed := moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED
	for _, title := range []string{"Attack git", "Attack outside", "Attack secrets", "Attack leftovers", "Poison cache", "Check cache"} {
		a := attempt(ids[title])
		require.Equal(t, completed, done[title].GetStatus(), "%s: %v\n%s", title, categories(a), logs(a))
		require.NotContains(t, logs(a), "LEAK")
		require.NotContains(t, logs(a), attackSecret)
	}

	// No host process ever ran the planted script, and what was published is
	// exactly the proposal.
	_, err = os.Stat(marker)
	require.ErrorIs(t, err, os.ErrNotExist, "a git hook, filter or fsmonitor planted by test code ran on the host")
	for _, title := range []string{"Attack git", "Attack leftovers", "Attack outside"} {
		name := strings.ReplaceAll(strings.TrimPrefix(title, "Attack "), " ", "")
		want := []string{"strutil/attack" + name + ".go", "strutil/attack" + name + "_test.go"}
		require.ElementsMatch(t, want, branchFiles(repoA, done[title].GetResult().GetBranch()), title)
	}
	show, err := exec.Command("git", "-C", repoA, "show", done["Attack git"].GetResult().GetBranch()+":strutil/attackgit.go").Output()
	require.NoError(t, err)
	require.NotContains(t, string(show), "tampered", "the published file is the proposed one, not what the tests rewrote")

	for _, p := range []string{filepath.Join(hostDir, "outside"), "/etc/moose-attack", "/usr/moose-attack", filepath.Join(dataDir, "moose-attack")} {
		_, err := os.Stat(p)
		require.ErrorIs(t, err, os.ErrNotExist, p)
	}

	// Quotas: each exceeded limit is its own finding, and the work order is not accepted.
	disk := attempt(ids["Attack disk"])
	require.NotEqual(t, completed, done["Attack disk"].GetStatus())
	require.Contains(t, categories(disk), "disk_quota")
	require.Contains(t, logs(disk), "64 MiB")
	require.Contains(t, logs(disk), "/tmp")
	cpu := attempt(ids["Attack cpu"])
	require.NotEqual(t, completed, done["Attack cpu"].GetStatus())
	require.Contains(t, categories(cpu), "cpu_limit", logs(cpu))

	// The proposal's own .gitattributes was refused and never published.
	attr := attempt(ids["Attack attributes"])
	require.Contains(t, categories(attr), "refused_path")
	if b := done["Attack attributes"].GetResult().GetBranch(); b != "" {
		require.NotContains(t, branchFiles(repoA, b), ".gitattributes")
	}

	// Caches: the poison stayed in its own project's cache.
	poisoned, err := filepath.Glob(filepath.Join(dataDir, "caches", "projects", "*", "go-build", "poison-marker"))
	require.NoError(t, err)
	require.Len(t, poisoned, 1)
	require.Contains(t, poisoned[0], pa.GetProject().GetId())
	_, err = os.Stat(filepath.Join(servertest.TestBuildCacheSeed(), "go-build", "poison-marker"))
	require.ErrorIs(t, err, os.ErrNotExist, "the seed is never written by a validation")
}
