package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/cli"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/servertest"
)

// snakeKey is what every field name in -o json output looks like: the
// proto's own names, which the REST API uses too.
var snakeKey = regexp.MustCompile(`^[a-z0-9_]+$`)

// dataMaps are the JSON objects whose keys are data (metadata keys, plugin
// params, dimension and finding names), not field names: their keys are not
// checked.
var dataMaps = map[string]bool{"metadata": true, "params": true, "data": true, "mean_dimension": true, "failure_categories": true}

// requireSnakeCaseKeys decodes doc and checks every object key at any depth.
// It returns the keys seen, so a test can tell the walk found something.
func requireSnakeCaseKeys(t *testing.T, doc string) map[string]bool {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(doc), &v), doc)
	seen := map[string]bool{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				require.Regexp(t, snakeKey, k, "key %q at %s is not snake_case in:\n%s", k, path, doc)
				seen[k] = true
				if !dataMaps[k] {
					walk(path+"."+k, child)
				}
			}
		case []any:
			for i, child := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), child)
			}
		}
	}
	walk("$", v)
	return seen
}

// TestJSONOutputIsSnakeCase runs a suite through two variants (the work
// orders are finished in the database, as the pipeline would) and checks
// that suite run -o json, and a sample of other commands' -o json, name
// every field in snake_case.
func TestJSONOutputIsSnakeCase(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.APIOnly())
	s := sessionFor(t, srv)
	pool := srv.Server().Pool()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	_, err := pool.Exec(ctx, `INSERT INTO variants (id, name, plugin_name) VALUES ($1, 'mini', 'replay'), ($2, 'tuned', 'replay')`,
		uuid.New(), uuid.New())
	require.NoError(t, err)

	suite := filepath.Join(t.TempDir(), "suite.yaml")
	require.NoError(t, os.WriteFile(suite, []byte(`project:
  name: calc
  language: go
  repo_url: https://git.example.com/repos/calc
work_orders:
  - title: Add Mod
    description: Mod(a, b)
    acceptance_criteria: [Mod(7,3) == 1]
    complexity: 2
  - title: Add Abs
    description: Abs(x)
    acceptance_criteria: [Abs(-1) == 1]
    complexity: 2
    metadata:
      Ticket: MOO-1
`), 0o600))

	// Stand-in for the pipeline: every approved work order finishes; tuned's
	// Abs fails for a system reason, mini's Abs passes after a refinement.
	executor, stopExecutor := context.WithCancel(ctx)
	defer stopExecutor()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for executor.Err() == nil {
			_, err := pool.Exec(executor, `WITH finished AS (
					UPDATE work_orders w SET
						status = CASE WHEN v.name = 'tuned' AND w.title = 'Add Abs' THEN 'failed' ELSE 'completed' END,
						result = CASE WHEN v.name = 'tuned' AND w.title = 'Add Abs' THEN NULL ELSE jsonb_build_object(
							'overall_score', 8.5, 'passed', true, 'build_passed', true, 'tests_passed', true, 'tests_total', 3,
							'cycles', CASE WHEN v.name = 'mini' AND w.title = 'Add Abs' THEN 2 ELSE 1 END, 'cost_usd', 0.02,
							'dimensions', jsonb_build_array(jsonb_build_object('name', 'correctness', 'score', 8, 'weight', 1))) END,
						updated_at = now()
					FROM variants v WHERE v.id = w.pinned_variant_id AND w.status = 'approved'
					RETURNING w.id, w.status)
				INSERT INTO work_order_events (work_order_id, type, from_status, to_status, message)
				SELECT id, 'transition', 'approved', status, 'finished by the test' FROM finished`)
			if err != nil && executor.Err() == nil {
				t.Errorf("finish work orders: %v", err)
				return
			}
			select {
			case <-executor.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()

	r := moosectlCtx(ctx, nil, "--server", s.addr, "--token", s.token, "-o", "json",
		"suite", "run", suite, "--variant", "mini", "--variant", "tuned")
	stopExecutor()
	<-done
	require.Equal(t, cli.ExitOK, r.code, r.stderr)
	keys := requireSnakeCaseKeys(t, r.stdout)
	for _, k := range []string{"variant", "work_orders", "passed", "pass_rate", "mean_score", "mean_dimension",
		"fixed_by_refinement", "system_failures", "failure_categories", "cost_per_accepted_usd"} {
		require.True(t, keys[k], "suite run -o json has %q:\n%s", k, r.stdout)
	}
	var sums []struct {
		Variant           string             `json:"variant"`
		WorkOrders        int                `json:"work_orders"`
		Passed            int                `json:"passed"`
		PassRate          float64            `json:"pass_rate"`
		FixedByRefinement int                `json:"fixed_by_refinement"`
		SystemFailures    int                `json:"system_failures"`
		MeanDimension     map[string]float64 `json:"mean_dimension"`
		FailureCategories map[string]int     `json:"failure_categories"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &sums))
	require.Len(t, sums, 2)
	require.Equal(t, "mini", sums[0].Variant)
	require.Equal(t, 2, sums[0].WorkOrders)
	require.Equal(t, 2, sums[0].Passed)
	require.Equal(t, 1.0, sums[0].PassRate)
	require.Equal(t, 1, sums[0].FixedByRefinement)
	require.Equal(t, map[string]float64{"correctness": 8}, sums[0].MeanDimension)
	require.Equal(t, "tuned", sums[1].Variant)
	require.Equal(t, 0.5, sums[1].PassRate)
	require.Equal(t, 1, sums[1].SystemFailures)
	require.Equal(t, map[string]int{"system_failure": 1}, sums[1].FailureCategories)

	// A sample of the other commands, on what the suite run left behind.
	var wos moosev1.ListWorkOrdersResponse
	s.json(&wos, "wo", "list")
	require.Len(t, wos.GetWorkOrders(), 4)
	var failed *moosev1.WorkOrder
	for _, w := range wos.GetWorkOrders() {
		if w.GetStatus() == moosev1.WorkOrderStatus_WORK_ORDER_STATUS_FAILED {
			failed = w
		}
	}
	require.NotNil(t, failed)
	_ = s.ok("token", "create", "viewer", "--scope", "read")
	for _, args := range [][]string{
		{"project", "list"},
		{"wo", "list"},
		{"wo", "get", wos.GetWorkOrders()[0].GetId()},
		{"wo", "events", failed.GetId()},
		{"wo", "attempts", failed.GetId()},
		{"variant", "list"},
		{"variant", "get", "mini"},
		{"routing", "list"},
		{"exp", "list"},
		{"token", "list"},
		{"token", "create", "ci", "--scope", "write"},
	} {
		out := s.ok(append([]string{"-o", "json"}, args...)...)
		require.NotEmpty(t, requireSnakeCaseKeys(t, out), "moosectl -o json %v printed no object:\n%s", args, out)
	}
}
