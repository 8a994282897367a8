// Package pipeline benchmarks work-order execution throughput: the replay
// proposer and the trivial static validator, so the numbers measure Moose's
// own overhead (jobs, routing, worktrees, plugin calls, edits, events,
// scoring, publishing) rather than a model or a compiler. The baseline is the
// same pipeline executing one work order at a time, in the same run.
package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

const cassette = `model: bench
entries:
  - key: bench
    input_tokens: 1000
    output_tokens: 200
    text: |
      strutil/bench.go
      ` + "```go" + `
      package strutil

      // Bench returns its argument.
      func Bench(s string) string { return s }
      ` + "```" + `
`

func BenchmarkPipelineThroughput(b *testing.B) {
	if testing.Short() {
		b.Skip("starts moosed with plugins")
	}
	for _, conc := range []int{1, 15} {
		b.Run(fmt.Sprintf("concurrency_%d", conc), func(b *testing.B) {
			var rate float64
			var phases map[string]time.Duration
			for range b.N {
				rate, phases = runOnce(b, conc, 45)
			}
			b.ReportMetric(rate, "WOs/s")
			names := make([]string, 0, len(phases))
			for k := range phases {
				names = append(names, k)
			}
			sort.Strings(names)
			var parts []string
			for _, k := range names {
				b.ReportMetric(float64(phases[k].Microseconds())/1000, k+"-ms")
				parts = append(parts, fmt.Sprintf("%s %.1fms", k, float64(phases[k].Microseconds())/1000))
			}
			b.Logf("concurrency %d: %.2f WOs/s; mean time per phase: %s", conc, rate, strings.Join(parts, ", "))
		})
	}
}

func runOnce(b *testing.B, conc, n int) (float64, map[string]time.Duration) {
	repo := filepath.Join(servertest.RepoDir(b), "repo")
	if err := os.CopyFS(repo, os.DirFS("../../examples/go-calc")); err != nil {
		b.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "x"}} {
		if out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput(); err != nil {
			b.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	cas := filepath.Join(b.TempDir(), "cassette.yaml")
	if err := os.WriteFile(cas, []byte(cassette), 0o644); err != nil {
		b.Fatal(err)
	}
	srv := servertest.Start(b, servertest.WithBuiltinPlugins(b), servertest.WithConfig(func(c *server.Config) {
		c.Concurrency = conc
		c.Validators = []string{"static"}
		c.MaxRefinements = -1 // one cycle per work order: the static validator alone never passes the build gate
		c.DisablePublish = true
		c.MaxDBConns = 40
	}))
	conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(servertest.Bearer(srv.AdminToken())))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	p, err := moosev1.NewProjectServiceClient(conn).CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "bench", RepoUrl: repo, DefaultBranch: "main", Language: "go"})
	if err != nil {
		b.Fatal(err)
	}
	v, err := moosev1.NewVariantServiceClient(conn).CreateVariant(ctx, &moosev1.CreateVariantRequest{Name: "bench", PluginName: "replay", BaseUrl: cas})
	if err != nil {
		b.Fatal(err)
	}
	wos := moosev1.NewWorkOrderServiceClient(conn)
	// Warm the workspace pool and plugins with one work order outside the timing.
	run := func(i int) string {
		r, err := wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(), Title: fmt.Sprintf("bench %d", i),
			Complexity: 1, VariantId: v.GetVariant().GetId(), Metadata: map[string]string{"replay_key": "bench"}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: r.GetWorkOrder().GetId()}); err != nil {
			b.Fatal(err)
		}
		return r.GetWorkOrder().GetId()
	}
	wait := func(id string) {
		stream, err := wos.WatchWorkOrder(ctx, &moosev1.WatchWorkOrderRequest{Id: id})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := stream.Recv(); err != nil {
				return
			}
		}
	}
	wait(run(-1))

	start := time.Now()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = run(i)
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() { defer wg.Done(); wait(id) }()
	}
	wg.Wait()
	elapsed := time.Since(start)

	totals := map[string]time.Duration{}
	for _, id := range ids {
		got, err := wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: id})
		if err != nil {
			b.Fatal(err)
		}
		if got.GetWorkOrder().GetStatus() != moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED &&
			got.GetWorkOrder().GetStatus() != moosev1.WorkOrderStatus_WORK_ORDER_STATUS_NEEDS_REVIEW {
			b.Fatalf("work order %s ended %s", id, got.GetWorkOrder().GetStatus())
		}
		evs, err := wos.ListWorkOrderEvents(ctx, &moosev1.ListWorkOrderEventsRequest{Id: id})
		if err != nil {
			b.Fatal(err)
		}
		// A phase lasts from its first event to the next event of another phase.
		es := evs.GetEvents()
		for i, e := range es {
			name := e.GetPhase()
			if e.GetType() == "transition" {
				name = "queued"
				if e.GetToStatus() != moosev1.WorkOrderStatus_WORK_ORDER_STATUS_APPROVED {
					continue
				}
			}
			if name == "" || i+1 == len(es) {
				continue
			}
			totals[name] += es[i+1].GetCreateTime().AsTime().Sub(e.GetCreateTime().AsTime())
		}
	}
	for k := range totals {
		totals[k] /= time.Duration(n)
	}
	return float64(n) / elapsed.Seconds(), totals
}
