// Package e2e_test holds Moose's end-to-end durability tests: they build the
// real moosed binary, run it as a child process against a real PostgreSQL
// database with the real built-in plugins, kill it with SIGKILL at the worst
// moments and start it again on the same data directory and database, then
// check through the public API (and the database, the git remotes and /proc)
// that nothing was lost, duplicated or left running.
//
// The tests are slow (real builds and tests of a sample project) and are
// skipped under -short.
package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/internal/dbtest"
	"github.com/moosehq/moose/server/servertest"
)

// moosedBin is the moosed binary TestMain built for every test.
var moosedBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "moose-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	// Others may run it: the start-up tests run it as nobody.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	moosedBin = filepath.Join(dir, "moosed")
	// A directory of its own, not the shared tmp/: several engineers' test
	// runs must not overwrite each other's binary.
	out, err := exec.Command("go", "build", "-o", moosedBin, "github.com/moosehq/moose/server/cmd/moosed").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: build moosed: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// skipShort skips slow tests under -short.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds and runs moosed, real builds and tests")
	}
}

// node is one moosed process (and its restarts) on a fixed data directory and
// database.
type node struct {
	t         testing.TB
	dataDir   string
	dsn       string
	pluginDir string
	args      []string // extra flags
	env       []string // extra environment
	logPath   string

	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	conn *grpc.ClientConn
	// httpAddr is the REST listener of the running moosed.
	httpAddr string

	// token is the admin token moosed bootstrapped in its data dir.
	token    string
	projects moosev1.ProjectServiceClient
	wos      moosev1.WorkOrderServiceClient
	variants moosev1.VariantServiceClient
	routing  moosev1.RoutingServiceClient
}

type nodeOption func(*node)

func withArgs(args ...string) nodeOption { return func(n *node) { n.args = append(n.args, args...) } }
func withEnv(kv ...string) nodeOption    { return func(n *node) { n.env = append(n.env, kv...) } }

// withDatabase runs moosed on database dsn (several nodes share one).
func withDatabase(dsn string) nodeOption { return func(n *node) { n.dsn = dsn } }

// withToken gives the node the admin token instead of reading it from its
// data directory.
func withToken(secret string) nodeOption { return func(n *node) { n.token = secret } }

// withEmbeddedDatabase runs moosed on its own embedded cluster under its data
// directory instead of a test database.
func withEmbeddedDatabase() nodeOption { return func(n *node) { n.dsn = "" } }

// newNode prepares a moosed with a fresh database and data directory; start
// runs it. Whatever runs when the test ends is killed.
func newNode(t testing.TB, opts ...nodeOption) *node {
	t.Helper()
	n := &node{t: t, dsn: dbtest.DSN(t), pluginDir: servertest.BuiltinPluginDir(t)}
	n.dataDir = traversableDir(t, "moose-e2e-data-")
	n.logPath = filepath.Join(traversableDir(t, "moose-e2e-log-"), "moosed.log")
	for _, o := range opts {
		o(n)
	}
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			t.Logf("moosed log (tail):\n%s", tailFile(n.logPath, 150))
		}
	})
	return n
}

// traversableDir makes a temporary directory others may enter (moosed's data
// directory must be: PostgreSQL and sandboxes run as other users), removed
// when the test ends.
func traversableDir(t testing.TB, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	t.Cleanup(func() {
		// A killed moosed leaves its worktrees' overlay mounts behind (the next
		// start would clear them); nothing starts again, so unmount here.
		unmountUnder(dir)
		// Go's module cache marks files read-only; make everything removable.
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(p, 0o755)
			}
			return nil
		})
		_ = os.RemoveAll(dir)
	})
	return dir
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(dir string) {
	raw, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return
	}
	var points []string
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			points = append(points, f[1])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	for _, p := range points {
		_ = syscall.Unmount(p, syscall.MNT_DETACH)
	}
}

// start runs moosed and waits until it serves (gRPC health SERVING). A port
// taken between picking and listening gets new ports.
func (n *node) start() {
	t := n.t
	t.Helper()
	require.Nil(t, n.cmd, "moosed already running")
	for try := 1; ; try++ {
		grpcAddr, httpAddr := freeAddr(t), freeAddr(t)
		err := n.launch(grpcAddr, httpAddr)
		if err == nil {
			return
		}
		if try < 3 && strings.Contains(tailFile(n.logPath, 20), "address already in use") {
			t.Logf("moosed could not listen (%v); new ports", err)
			continue
		}
		t.Fatalf("moosed did not come up: %v\nlog:\n%s", err, tailFile(n.logPath, 100))
	}
}

func (n *node) launch(grpcAddr, httpAddr string) error {
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "\n===== e2e: starting moosed at %s =====\n", time.Now().Format(time.RFC3339Nano))
	args := append([]string{
		"--grpc-addr", grpcAddr, "--http-addr", httpAddr,
		"--data-dir", n.dataDir, "--plugin-dir", n.pluginDir,
		"--log-level", "debug", "--build-cache-seed", servertest.TestBuildCacheSeed(),
		// The tests' local repositories live in traversable temporary dirs.
		"--repo-roots", os.TempDir(),
		// A project's warm-up would race its first work order in tests that
		// time or count what that work order runs; the warm-up's own test
		// turns it on (a later flag wins).
		"--warm-projects=false",
	}, n.args...)
	if n.dsn != "" {
		args = append(args, "--database-url", n.dsn)
	}
	cmd := exec.Command(moosedBin, args...)
	cmd.Env = append(cleanEnv(), n.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	n.cmd, n.done = cmd, done

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		n.kill()
		return err
	}
	health := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		select {
		case <-done:
			conn.Close()
			n.cmd, n.done = nil, nil
			return fmt.Errorf("moosed exited: %v", cmd.ProcessState)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			break
		}
		if time.Now().After(deadline) {
			conn.Close()
			n.kill()
			return fmt.Errorf("not serving after 3 minutes (last: %v %v)", resp.GetStatus(), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// API calls carry the admin token moosed wrote to its data dir on the
	// first start (health, above, needs none).
	conn.Close()
	// A node joining a database that already has tokens writes none: it is
	// given the first node's (withToken).
	if n.token == "" {
		secret, err := os.ReadFile(filepath.Join(n.dataDir, server.AdminTokenFileName))
		if err != nil {
			n.kill()
			return fmt.Errorf("read moosed's admin token: %w", err)
		}
		n.token = strings.TrimSpace(string(secret))
	}
	conn, err = grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(servertest.Bearer(n.token)))
	if err != nil {
		n.kill()
		return err
	}
	n.conn = conn
	n.httpAddr = httpAddr
	n.projects = moosev1.NewProjectServiceClient(conn)
	n.wos = moosev1.NewWorkOrderServiceClient(conn)
	n.variants = moosev1.NewVariantServiceClient(conn)
	n.routing = moosev1.NewRoutingServiceClient(conn)
	return nil
}

// pid is the running moosed's process id.
func (n *node) pid() int {
	n.t.Helper()
	require.NotNil(n.t, n.cmd, "moosed not running")
	return n.cmd.Process.Pid
}

// term sends moosed SIGTERM and waits up to timeout for it to exit,
// returning its exit code.
func (n *node) term(timeout time.Duration) int {
	n.t.Helper()
	require.NotNil(n.t, n.cmd, "moosed not running")
	require.NoError(n.t, n.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-n.done:
	case <-time.After(timeout):
		n.t.Fatalf("moosed %d did not exit within %v of SIGTERM", n.cmd.Process.Pid, timeout)
	}
	code := n.cmd.ProcessState.ExitCode()
	if n.conn != nil {
		n.conn.Close()
	}
	n.cmd, n.done, n.conn = nil, nil, nil
	return code
}

// kill SIGKILLs moosed and waits for it to be gone; a no-op when not running.
// Safe to call from any goroutine, once per start.
func (n *node) kill() {
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
		n.t.Errorf("moosed %d did not die within 30s of SIGKILL", n.cmd.Process.Pid)
	}
	if n.conn != nil {
		n.conn.Close()
	}
	n.cmd, n.done, n.conn = nil, nil, nil
}

// cleanEnv is the test's environment without settings that would change how
// moosed runs (they would come from whoever runs the tests).
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "MOOSE_") || strings.HasPrefix(k, "GIT_") || k == "GITHUB_TOKEN" {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// tailFile returns the last lines of a moosed log, leaving out successful API
// calls.
func tailFile(path string, lines int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	defer f.Close()
	var ring []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, "msg=call ") && strings.Contains(line, " code=OK ") {
			continue // a test's polling would push out what went wrong
		}
		ring = append(ring, sc.Text())
		if len(ring) > lines {
			ring = ring[1:]
		}
	}
	return strings.Join(ring, "\n")
}

// db runs fn on a connection to the node's database.
func (n *node) db(fn func(ctx context.Context, conn *pgx.Conn) error) {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, n.dsn)
	require.NoError(n.t, err)
	defer conn.Close(context.Background())
	require.NoError(n.t, fn(ctx, conn))
}

// setup creates the project and a replay variant answering from cassette, and
// points the tier serving complexity 2 at it.
func (n *node) setup(ctx context.Context, repoURL string, c cassette) (projectID string) {
	t := n.t
	t.Helper()
	path := filepath.Join(traversableDir(t, "moose-e2e-cassette-"), "cassette.json")
	raw, err := json.Marshal(c)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, raw, 0o644))

	p, err := n.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "go-calc", RepoUrl: repoURL, DefaultBranch: "main", Language: "go"})
	require.NoError(t, err)
	v, err := n.variants.CreateVariant(ctx, &moosev1.CreateVariantRequest{
		Name: "replay-e2e", PluginName: "replay", BaseUrl: path, EditFormat: "whole",
		InputPricePerMtok: 0.15, OutputPricePerMtok: 0.60,
	})
	require.NoError(t, err)
	_, err = n.routing.SetTier(ctx, &moosev1.SetTierRequest{Name: "cheap", MinComplexity: 1, MaxComplexity: 3, VariantId: v.GetVariant().GetId()})
	require.NoError(t, err)
	return p.GetProject().GetId()
}

// submit creates and approves a work order of complexity 2.
func (n *node) submit(ctx context.Context, projectID, title string) string {
	n.t.Helper()
	r, err := n.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: projectID, Title: title, Complexity: 2,
		Description: "end-to-end durability test", AcceptanceCriteria: []string{"has tests"}})
	require.NoError(n.t, err)
	_, err = n.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: r.GetWorkOrder().GetId()})
	require.NoError(n.t, err)
	return r.GetWorkOrder().GetId()
}

func (n *node) get(ctx context.Context, id string) *moosev1.WorkOrder {
	n.t.Helper()
	r, err := n.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: id})
	require.NoError(n.t, err)
	return r.GetWorkOrder()
}

func (n *node) events(ctx context.Context, id string) []*moosev1.Event {
	n.t.Helper()
	r, err := n.wos.ListWorkOrderEvents(ctx, &moosev1.ListWorkOrderEventsRequest{Id: id})
	require.NoError(n.t, err)
	return r.GetEvents()
}

func hasPhase(evs []*moosev1.Event, phase string) bool {
	for _, e := range evs {
		if e.GetPhase() == phase {
			return true
		}
	}
	return false
}

// publishedEvents are the events saying where a change was published.
func publishedEvents(evs []*moosev1.Event) []*moosev1.Event {
	var out []*moosev1.Event
	for _, e := range evs {
		if e.GetPhase() == "publishing" && strings.HasPrefix(e.GetMessage(), "published ") {
			out = append(out, e)
		}
	}
	return out
}

func terminal(s moosev1.WorkOrderStatus) bool {
	switch s {
	case moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_NEEDS_REVIEW,
		moosev1.WorkOrderStatus_WORK_ORDER_STATUS_FAILED, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_CANCELLED:
		return true
	}
	return false
}

// waitFor polls cond every 250ms until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// cassette is the replay plugin's file format (JSON is YAML).
type cassette struct {
	Model   string  `json:"model"`
	Entries []entry `json:"entries"`
}

type entry struct {
	Key          string `json:"key"`
	Cycle        int    `json:"cycle,omitempty"`
	InputTokens  int64  `json:"input_tokens"`
	OutputTokens int64  `json:"output_tokens"`
	Text         string `json:"text"`
}

// wholeFiles renders files (path → content) in the "whole" edit format.
func wholeFiles(files ...[2]string) string {
	var b strings.Builder
	b.WriteString("Here is the change.\n\n")
	for _, f := range files {
		fmt.Fprintf(&b, "%s\n```go\n%s```\n\n", f[0], f[1])
	}
	return b.String()
}

// sampleRepo makes a git repository from examples/go-calc and returns its path.
func sampleRepo(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(traversableDir(t, "moose-e2e-repo-"), "go-calc")
	require.NoError(t, os.CopyFS(dir, os.DirFS("../../examples/go-calc")))
	gitRun(t, dir, "init", "-q", "-b", "main")
	gitRun(t, dir, "add", "-A")
	gitRun(t, dir, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "sample")
	return dir
}

// bareClone makes a bare clone of src at dst.
func bareClone(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	out, err := exec.Command("git", "clone", "-q", "--bare", "--", src, dst).CombinedOutput()
	require.NoError(t, err, string(out))
}

func gitRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

// process is one entry of /proc.
type process struct {
	pid, ppid int
	start     uint64 // clock ticks since boot: with pid, identifies the process
	state     byte
	cmdline   string
	owner     string // MOOSE_PLUGIN_HOST_OWNER of a plugin process
}

// processes lists every process, best effort (they come and go while we read).
func processes() []process {
	entries, _ := os.ReadDir("/proc")
	var out []process
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		p, ok := readProcess(pid)
		if ok {
			out = append(out, p)
		}
	}
	return out
}

func readProcess(pid int) (process, bool) {
	dir := fmt.Sprintf("/proc/%d", pid)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return process{}, false
	}
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return process{}, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 20 {
		return process{}, false
	}
	p := process{pid: pid, state: f[0][0]}
	fmt.Sscan(f[1], &p.ppid)
	fmt.Sscan(f[19], &p.start)
	if cl, err := os.ReadFile(dir + "/cmdline"); err == nil {
		p.cmdline = strings.ReplaceAll(strings.TrimRight(string(cl), "\x00"), "\x00", " ")
	}
	if env, err := os.ReadFile(dir + "/environ"); err == nil {
		for _, kv := range strings.Split(string(env), "\x00") {
			if v, ok := strings.CutPrefix(kv, "MOOSE_PLUGIN_HOST_OWNER="); ok {
				p.owner = v
			}
		}
	}
	return p, true
}

// descendants returns the processes below root in ps.
func descendants(ps []process, root int) []process {
	children := map[int][]process{}
	for _, p := range ps {
		children[p.ppid] = append(children[p.ppid], p)
	}
	var out []process
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			out = append(out, c)
			queue = append(queue, c.pid)
		}
	}
	return out
}

// running reports whether p (the same pid and start time) still runs; a
// zombie does not.
func (p process) running() bool {
	now, ok := readProcess(p.pid)
	return ok && now.start == p.start && now.state != 'Z' && now.state != 'X'
}

func (p process) String() string { return fmt.Sprintf("pid %d [%s]", p.pid, p.cmdline) }

// stillRunning returns the processes of ps that still run.
func stillRunning(ps []process) []process {
	var out []process
	for _, p := range ps {
		if p.running() {
			out = append(out, p)
		}
	}
	return out
}

// pluginTree returns the plugin processes of the moosed with pid owner and all
// their descendants (the sandboxes and what runs in them).
func pluginTree(ps []process, owner int) []process {
	var out []process
	prefix := fmt.Sprintf("%d-", owner)
	for _, p := range ps {
		if strings.HasPrefix(p.owner, prefix) {
			out = append(out, p)
			out = append(out, descendants(ps, p.pid)...)
		}
	}
	return dedupe(out)
}

func dedupe(ps []process) []process {
	seen := map[int]bool{}
	var out []process
	for _, p := range ps {
		if !seen[p.pid] {
			seen[p.pid] = true
			out = append(out, p)
		}
	}
	return out
}

var errNotFound = errors.New("not found")

// findFile looks for a file named name under root.
func findFile(root, name string) (string, error) {
	var found string
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil // vanished or unreadable: keep looking
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "mirror.git") {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() == name {
			found = p
			return filepath.SkipAll
		}
		return nil
	})
	if found == "" {
		return "", errNotFound
	}
	return found, nil
}
