// Package verdict benchmarks what proving a change costs: the extra
// validation time of test strength (mutation testing) per work order, beside
// the same run without it, and the verdict latency of a project's first work
// order (the base-commit baseline included) and of later ones, beside a warm
// `go test ./...` of the same tree outside Moose, in the same run. Real
// plugins, real builds, real tests; the replay proposer stands in for a model.
package verdict_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"gopkg.in/yaml.v3"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

const clamp = "package strutil\n\n// Clamp limits n to the range [lo, hi].\nfunc Clamp(n, lo, hi int) int {\n\tif n < lo {\n\t\treturn lo\n\t}\n\tif n > hi {\n\t\treturn hi\n\t}\n\treturn n\n}\n"

const clampTest = "package strutil\n\nimport \"testing\"\n\nfunc TestClamp(t *testing.T) {\n\tfor _, c := range []struct{ n, want int }{{-5, 0}, {0, 0}, {4, 4}, {10, 10}, {12, 10}} {\n\t\tif got := Clamp(c.n, 0, 10); got != c.want {\n\t\t\tt.Errorf(\"Clamp(%d) = %d, want %d\", c.n, got, c.want)\n\t\t}\n\t}\n}\n"

// answer is the proposal of work order i: the same change with a comment
// that differs, so every work order's tree is new and none is answered from
// the validation cache (each pays its real build, tests and mutants).
func answer(i int) string {
	src := strings.Replace(clamp, "// Clamp limits", fmt.Sprintf("// Revision %d.\n//\n// Clamp limits", i), 1)
	return "strutil/clamp.go\n````go\n" + src + "````\n\nstrutil/clamp_test.go\n````go\n" + clampTest + "````\n"
}

// runs is how many work orders one server of the benchmark may be asked for.
const runs = 16

func git(b *testing.B, dir string, args ...string) {
	b.Helper()
	if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
		b.Fatalf("git %v: %v %s", args, err, out)
	}
}

// demoRepo is examples/go-calc, the demo's project.
func demoRepo(b *testing.B) string {
	dir := filepath.Join(servertest.RepoDir(b), "go-calc")
	if err := os.CopyFS(dir, os.DirFS("../../examples/go-calc")); err != nil {
		b.Fatal(err)
	}
	git(b, dir, "init", "-q", "-b", "main")
	git(b, dir, "add", "-A")
	git(b, dir, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "x")
	return dir
}

// bigRepo is go-calc plus packages packages of files files each (a function
// per file) and tests tests in all: a real-sized module.
func bigRepo(b *testing.B, packages, files, tests int) string {
	dir := demoRepo(b)
	perPkg := tests / packages
	for p := range packages {
		pkg := fmt.Sprintf("gen%03d", p)
		d := filepath.Join(dir, "internal", pkg)
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := range files {
			src := fmt.Sprintf("package %s\n\n// F%d adds %d to n.\nfunc F%d(n int) int {\n\tif n < 0 {\n\t\treturn -n + %d\n\t}\n\treturn n + %d\n}\n", pkg, f, f, f, f, f)
			if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%03d.go", f)), []byte(src), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		var t strings.Builder
		fmt.Fprintf(&t, "package %s\n\nimport \"testing\"\n", pkg)
		for i := range perPkg {
			fmt.Fprintf(&t, "\nfunc TestF%d(t *testing.T) {\n\tif F%d(1) != %d {\n\t\tt.Fatal(\"F%d\")\n\t}\n}\n", i, i, 1+i, i)
		}
		if err := os.WriteFile(filepath.Join(d, "f_test.go"), []byte(t.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	git(b, dir, "add", "-A")
	git(b, dir, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "generated")
	return dir
}

type env struct {
	wos     moosev1.WorkOrderServiceClient
	project string
	variant string
	last    string        // the last work order run
	warmUp  time.Duration // how long the project's warm-up took (startWarm)
}

func start(b *testing.B, repo string, mutants int) *env { return startWith(b, repo, mutants, false) }

// startWarm is start with project warm-ups on; it returns once the
// project's warm-up is ready.
func startWarm(b *testing.B, repo string, mutants int) *env { return startWith(b, repo, mutants, true) }

func startWith(b *testing.B, repo string, mutants int, warm bool) *env {
	cas := filepath.Join(b.TempDir(), "cassette.yaml")
	var entries []map[string]any
	for i := -1; i < runs; i++ {
		entries = append(entries, map[string]any{"key": fmt.Sprintf("clamp-%d", i), "text": answer(i)})
	}
	data, _ := yaml.Marshal(map[string]any{"model": "bench", "entries": entries})
	if err := os.WriteFile(cas, data, 0o644); err != nil {
		b.Fatal(err)
	}
	srv := servertest.Start(b, servertest.WithBuiltinPlugins(b), servertest.WithConfig(func(c *server.Config) {
		c.MaxRefinements = -1
		c.DisablePublish = true
		c.MaxMutants = mutants
		c.WarmProjects = warm
	}))
	conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(servertest.Bearer(srv.AdminToken())))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	ctx := context.Background()
	projects := moosev1.NewProjectServiceClient(conn)
	began := time.Now()
	p, err := projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "bench", RepoUrl: repo, DefaultBranch: "main", Language: "go"})
	if err != nil {
		b.Fatal(err)
	}
	var warmUp time.Duration
	for warm {
		got, err := projects.GetProject(ctx, &moosev1.GetProjectRequest{Id: p.GetProject().GetId()})
		if err != nil {
			b.Fatal(err)
		}
		if st := got.GetProject().GetWarmUpState(); st == "ready" {
			warmUp = time.Since(began)
			fmt.Fprintf(os.Stderr, "project warmed up in %s: %s\n", warmUp.Round(time.Millisecond), got.GetProject().GetWarmUpMessage())
			break
		} else if st == "failed" {
			b.Fatalf("warm-up failed: %s", got.GetProject().GetWarmUpMessage())
		}
		time.Sleep(100 * time.Millisecond)
	}
	v, err := moosev1.NewVariantServiceClient(conn).CreateVariant(ctx, &moosev1.CreateVariantRequest{Name: "bench", PluginName: "replay", BaseUrl: cas, EditFormat: "whole"})
	if err != nil {
		b.Fatal(err)
	}
	return &env{wos: moosev1.NewWorkOrderServiceClient(conn), project: p.GetProject().GetId(), variant: v.GetVariant().GetId(), warmUp: warmUp}
}

// run executes one work order and returns how long it took from approval to
// its end, and whether it passed.
func (e *env) run(b *testing.B, i int, f2p []string) (time.Duration, bool) {
	if i >= runs {
		b.Fatalf("work order %d: the cassette holds %d answers (run with -benchtime 1x)", i, runs)
	}
	ctx := context.Background()
	r, err := e.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: e.project, VariantId: e.variant, Title: fmt.Sprintf("Add Clamp %d", i),
		Complexity: 1, Metadata: map[string]string{"replay_key": fmt.Sprintf("clamp-%d", i)}, FailToPass: f2p})
	if err != nil {
		b.Fatal(err)
	}
	id := r.GetWorkOrder().GetId()
	began := time.Now()
	if _, err := e.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: id}); err != nil {
		b.Fatal(err)
	}
	stream, err := e.wos.WatchWorkOrder(ctx, &moosev1.WatchWorkOrderRequest{Id: id})
	if err != nil {
		b.Fatal(err)
	}
	for {
		if _, err := stream.Recv(); err != nil {
			break
		}
	}
	took := time.Since(began)
	got, err := e.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: id})
	if err != nil {
		b.Fatal(err)
	}
	e.last = id
	return took, got.GetWorkOrder().GetStatus() == moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED
}

// timeline logs where the last work order's time went: its events, each
// with the time since the one before, and each validator's duration.
func (e *env) timeline(b *testing.B) {
	ctx := context.Background()
	ev, err := e.wos.ListWorkOrderEvents(ctx, &moosev1.ListWorkOrderEventsRequest{Id: e.last})
	if err != nil {
		b.Fatal(err)
	}
	var lines []string
	var prev time.Time
	for _, x := range ev.GetEvents() {
		t := x.GetCreateTime().AsTime()
		if !prev.IsZero() {
			lines = append(lines, fmt.Sprintf("+%6dms %s %s", t.Sub(prev).Milliseconds(), x.GetPhase(), x.GetMessage()))
		}
		prev = t
	}
	at, err := e.wos.ListWorkOrderAttempts(ctx, &moosev1.ListWorkOrderAttemptsRequest{Id: e.last})
	if err != nil {
		b.Fatal(err)
	}
	for _, a := range at.GetAttempts() {
		for _, v := range a.GetValidations() {
			lines = append(lines, fmt.Sprintf("validator %s: %dms", v.GetValidator(), v.GetDurationMs()))
		}
	}
	fmt.Fprintf(os.Stderr, "where the last work order's time went:\n%s\n", strings.Join(lines, "\n"))
}

// BenchmarkTestStrength: mean work-order time with mutation testing against
// the same work orders without it (one warm-up work order each, untimed).
func BenchmarkTestStrength(b *testing.B) {
	if testing.Short() {
		b.Skip("real builds and tests")
	}
	repos := map[string]func(*testing.B) string{
		"demo":       demoRepo,
		"5000_files": func(b *testing.B) string { return bigRepo(b, 50, 100, 300) },
	}
	for _, name := range []string{"demo", "5000_files"} {
		b.Run(name, func(b *testing.B) {
			repo := repos[name](b)
			means := map[string]time.Duration{}
			for _, mode := range []struct {
				name    string
				mutants int
			}{{"without", -1}, {"with", 20}} {
				e := start(b, repo, mode.mutants)
				e.run(b, -1, nil)
				const n = 3
				var total time.Duration
				for i := range n * b.N {
					d, ok := e.run(b, i, nil)
					if !ok {
						b.Fatalf("%s: the work order did not pass", mode.name)
					}
					total += d
				}
				means[mode.name] = total / time.Duration(n*b.N)
			}
			extra := means["with"] - means["without"]
			b.ReportMetric(float64(means["without"].Milliseconds()), "without-ms/wo")
			b.ReportMetric(float64(means["with"].Milliseconds()), "with-ms/wo")
			b.ReportMetric(float64(extra.Milliseconds()), "extra-ms/wo")
			b.Logf("%s: %s per work order without test strength, %s with: %s extra", name, means["without"], means["with"], extra)
		})
	}
}

// BenchmarkVerdictLatency: on a module of 5,000 files and 300 tests, the
// first work order of the project (its baseline measured: three runs of the
// base commit's tests) and later ones (baseline reused), and the first work
// order of a project registered with warm-up on, once its warm-up is ready,
// beside a warm `go test ./...` of the same tree outside Moose.
func BenchmarkVerdictLatency(b *testing.B) {
	if testing.Short() {
		b.Skip("real builds and tests")
	}
	repo := bigRepo(b, 50, 100, 300)
	test := func() time.Duration {
		cmd := exec.Command("go", "test", "-count=1", "./...")
		cmd.Dir = repo
		began := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("go test: %v\n%s", err, out)
		}
		return time.Since(began)
	}
	test() // warm the host's build cache
	warm := test()
	e := start(b, repo, 20)
	// FAIL_TO_PASS makes the work order need its baseline.
	f2p := []string{"strutil.TestClamp"}
	first, ok := e.run(b, 0, f2p)
	if !ok {
		b.Fatal("the first work order did not pass")
	}
	e.timeline(b)
	var later time.Duration
	var each []string
	const n = 3
	for i := range n * b.N {
		d, ok := e.run(b, i+1, f2p)
		if !ok {
			b.Fatal("a later work order did not pass")
		}
		later += d
		each = append(each, d.Round(time.Millisecond).String())
	}
	fmt.Fprintf(os.Stderr, "later work orders: %s\n", strings.Join(each, ", "))
	later /= time.Duration(n * b.N)
	e.timeline(b)
	// The same first work order on a project registered with warm-up on,
	// submitted once the warm-up is ready.
	w := startWarm(b, repo, 20)
	firstWarm, ok := w.run(b, 0, f2p)
	if !ok {
		b.Fatal("the first work order after the warm-up did not pass")
	}
	w.timeline(b)
	b.ReportMetric(float64(warm.Milliseconds()), "warm-go-test-ms")
	b.ReportMetric(float64(first.Milliseconds()), "first-wo-ms")
	b.ReportMetric(float64(w.warmUp.Milliseconds()), "warm-up-ms")
	b.ReportMetric(float64(firstWarm.Milliseconds()), "first-after-warm-up-ms")
	b.ReportMetric(firstWarm.Seconds()/warm.Seconds(), "first-after-warm-up/warm")
	b.ReportMetric(float64(later.Milliseconds()), "later-wo-ms")
	b.ReportMetric(first.Seconds()/warm.Seconds(), "first/warm")
	b.ReportMetric(later.Seconds()/warm.Seconds(), "later/warm")
	b.Logf("warm go test %s; first work order %s (%.1f×), later %s (%.1f×); with warm-up (%s): first %s (%.1f×)", warm, first, first.Seconds()/warm.Seconds(),
		later, later.Seconds()/warm.Seconds(), w.warmUp.Round(time.Millisecond), firstWarm, firstWarm.Seconds()/warm.Seconds())
}
