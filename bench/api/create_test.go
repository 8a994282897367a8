// Package api benchmarks work-order creation through moosed's public APIs
// against the embedded PostgreSQL, beside a raw pgx insert loop on the same
// database as the baseline.
//
//	make bench   (or: go test -run '^$' -bench . ./bench/api/)
package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

const (
	clients = 16
	creates = 4000
)

// BenchmarkCreateWorkOrder reports creates/s at 16 concurrent clients for the
// raw insert baseline, gRPC and REST, all in one run on one embedded cluster.
func BenchmarkCreateWorkOrder(b *testing.B) {
	if testing.Short() {
		b.Skip("needs an embedded PostgreSQL")
	}
	dir, err := os.MkdirTemp("", "moose-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	_ = os.Chmod(dir, 0o755)
	srv := servertest.StartEmbedded(b, servertest.WithConfig(func(c *server.Config) { c.DataDir = dir; c.MaxDBConns = 40 }))
	conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(servertest.Bearer(srv.AdminToken())))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	p, err := moosev1.NewProjectServiceClient(conn).CreateProject(ctx, &moosev1.CreateProjectRequest{
		Name: "bench", RepoUrl: "/bench", DefaultBranch: "main", Language: "go"})
	if err != nil {
		b.Fatal(err)
	}
	pid := p.GetProject().GetId()
	wos := moosev1.NewWorkOrderServiceClient(conn)
	pool := srv.Server().Pool()
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}

	raw := func(i int) error {
		id := uuid.New()
		_, err := pool.Exec(ctx, `INSERT INTO work_orders (id, project_id, title, description, acceptance_criteria, complexity, status, metadata)
			VALUES ($1,$2,$3,$4,$5,$6,'pending','{}')`, id, pid, fmt.Sprintf("raw %d", i), "desc", `["a","b"]`, 3)
		return err
	}
	// The same rows a create writes (the work order and its "created" event),
	// in one statement: this baseline isolates the API layers' own cost.
	rawSameRows := func(i int) error {
		_, err := pool.Exec(ctx, `WITH ins AS (INSERT INTO work_orders (id, project_id, title, description, acceptance_criteria, complexity, status, metadata)
				VALUES ($1,$2,$3,$4,$5,$6,'pending','{}') RETURNING id)
			INSERT INTO work_order_events (work_order_id, type, to_status, message) SELECT id, 'created', 'pending', 'work order created' FROM ins`,
			uuid.New(), pid, fmt.Sprintf("raw2 %d", i), "desc", `["a","b"]`, 3)
		return err
	}
	viaGRPC := func(i int) error {
		_, err := wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: pid, Title: fmt.Sprintf("grpc %d", i),
			Description: "desc", AcceptanceCriteria: []string{"a", "b"}, Complexity: 3})
		return err
	}
	viaREST := func(i int) error {
		body, _ := json.Marshal(map[string]any{"project_id": pid, "title": fmt.Sprintf("rest %d", i), "description": "desc",
			"acceptance_criteria": []string{"a", "b"}, "complexity": 3})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.HTTPURL()+"/v1/workorders", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+srv.AdminToken())
		resp, err := httpc.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	rates := map[string]float64{}
	for _, arm := range []struct {
		name string
		fn   func(int) error
	}{{"raw_pgx", raw}, {"raw_pgx_same_rows", rawSameRows}, {"grpc", viaGRPC}, {"rest", viaREST}} {
		b.Run(arm.name, func(b *testing.B) {
			var rate float64
			for range b.N {
				rate = run(b, arm.fn)
			}
			rates[arm.name] = rate
			b.ReportMetric(rate, "creates/s")
		})
	}
	if rates["raw_pgx"] > 0 && rates["raw_pgx_same_rows"] > 0 {
		b.Logf("16 clients: raw pgx %.0f/s (same rows %.0f/s), gRPC %.0f/s (%.0f%% of raw, %.0f%% of same rows), REST %.0f/s (%.0f%% of raw)",
			rates["raw_pgx"], rates["raw_pgx_same_rows"], rates["grpc"], 100*rates["grpc"]/rates["raw_pgx"],
			100*rates["grpc"]/rates["raw_pgx_same_rows"], rates["rest"], 100*rates["rest"]/rates["raw_pgx"])
	}
}

// run performs `creates` calls from `clients` goroutines and returns calls/s.
func run(b *testing.B, fn func(int) error) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > creates {
					return
				}
				if err := fn(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatal(err)
	}
	return float64(creates) / time.Since(start).Seconds()
}
