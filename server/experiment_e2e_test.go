package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/internal/experiment"
	"github.com/moosehq/moose/server/servertest"
)

// expGoodCassette answers every work order keyed "exp" with a complete,
// tested function, in any cycle.
const expGoodCassette = `model: good-model
entries:
  - key: exp
    input_tokens: 1000
    output_tokens: 200
    text: |
      strutil/title.go
      ` + "```go" + `
      package strutil

      import "strings"

      // Title upper-cases the first letter of every word.
      func Title(s string) string {
      	words := strings.Fields(s)
      	for i, w := range words {
      		words[i] = strings.ToUpper(w[:1]) + w[1:]
      	}
      	return strings.Join(words, " ")
      }
      ` + "```" + `

      strutil/title_test.go
      ` + "```go" + `
      package strutil

      import "testing"

      func TestTitle(t *testing.T) {
      	for in, want := range map[string]string{"hello world": "Hello World", "": "", "a": "A"} {
      		if got := Title(in); got != want {
      			t.Errorf("Title(%q) = %q, want %q", in, got, want)
      		}
      	}
      }
      ` + "```" + `
`

// expBadCassette answers with a skeleton that builds but does nothing and
// has no test.
const expBadCassette = `model: bad-model
entries:
  - key: exp
    input_tokens: 1000
    output_tokens: 200
    text: |
      strutil/title.go
      ` + "```go" + `
      package strutil

      // Title upper-cases the first letter of every word.
      func Title(s string) string {
      	// TODO: implement
      	panic("not implemented")
      }
      ` + "```" + `
`

var (
	moosectlOnce sync.Once
	moosectlBin  string
	moosectlErr  error
)

// moosectl builds the real CLI once per test binary.
func moosectl(t *testing.T) string {
	t.Helper()
	moosectlOnce.Do(buildMoosectl)
	require.NoError(t, moosectlErr)
	return moosectlBin
}

// buildMoosectl builds into one directory per user, renaming the binary into
// place, so repeated test runs do not leave a copy each behind.
func buildMoosectl() {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("moose-test-moosectl-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		moosectlErr = err
		return
	}
	bin := filepath.Join(dir, "moosectl")
	tmp, err := os.CreateTemp(dir, "moosectl-*.new")
	if err != nil {
		moosectlErr = err
		return
	}
	tmp.Close()
	if out, err := exec.Command("go", "build", "-o", tmp.Name(), "../clients/cmd/moosectl").CombinedOutput(); err != nil {
		os.Remove(tmp.Name())
		moosectlErr = fmt.Errorf("build moosectl: %w: %s", err, out)
		return
	}
	if err := os.Rename(tmp.Name(), bin); err != nil {
		moosectlErr = err
		return
	}
	moosectlBin = bin
}

// TestExperimentEndToEndRollsBackAWorseCandidate runs an A/B experiment
// through the real pipeline (real builds and tests of proposals replayed
// from cassettes): the tier's variant answers well, the candidate answers
// with a skeleton. With the default decision rule the candidate must be
// rolled back once it has enough finished work orders, the decision must be
// visible through gRPC, REST and moosectl, and the tier's work orders must go
// back to the baseline.
func TestExperimentEndToEndRollsBackAWorseCandidate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real builds and tests of dozens of work orders")
	}
	t.Parallel()
	// Build the CLI while the server starts and the work orders run.
	go moosectlOnce.Do(buildMoosectl)

	srv := servertest.Start(t, servertest.WithBuiltinPlugins(t),
		servertest.WithConfig(func(c *server.Config) { c.MaxRefinements = -1 }))
	c := dial(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	variants := moosev1.NewVariantServiceClient(c.conn)
	routing := moosev1.NewRoutingServiceClient(c.conn)
	exps := moosev1.NewExperimentServiceClient(c.conn)

	repo := sampleRepo(t)
	dir := t.TempDir()
	variant := func(name, cassette string) string {
		path := filepath.Join(dir, name+".yaml")
		require.NoError(t, os.WriteFile(path, []byte(cassette), 0o644))
		v, err := variants.CreateVariant(ctx, &moosev1.CreateVariantRequest{
			Name: name, PluginName: "replay", BaseUrl: path, EditFormat: "whole",
			InputPricePerMtok: 0.15, OutputPricePerMtok: 0.60,
		})
		require.NoError(t, err)
		return v.GetVariant().GetId()
	}
	good, bad := variant("good", expGoodCassette), variant("bad", expBadCassette)

	tiers, err := routing.ListTiers(ctx, &moosev1.ListTiersRequest{})
	require.NoError(t, err)
	var cheap *moosev1.RoutingTier
	for _, tr := range tiers.GetTiers() {
		if tr.GetName() == "cheap" {
			cheap = tr
		}
	}
	require.NotNil(t, cheap, "the default tiers include cheap")
	require.True(t, cheap.GetMinComplexity() <= 2 && 2 <= cheap.GetMaxComplexity())
	_, err = routing.SetTier(ctx, &moosev1.SetTierRequest{Name: "cheap", MinComplexity: cheap.GetMinComplexity(),
		MaxComplexity: cheap.GetMaxComplexity(), VariantId: good})
	require.NoError(t, err)

	// The default rule (rollback after 10 candidate WOs, α 0.05, floor 6),
	// with the WO budget lowered to the test's cap so that an experiment that
	// cannot decide ends inconclusive instead of running on.
	const maxWOs = 60
	budget := int32(maxWOs)
	started, err := exps.StartExperiment(ctx, &moosev1.StartExperimentRequest{
		Tier: "cheap", CandidateVariant: "bad", CandidateShare: 0.5, Actor: "e2e",
		Config: &moosev1.ExperimentConfig{BudgetWorkOrders: &budget},
	})
	require.NoError(t, err)
	exp := started.GetExperiment()
	expID := exp.GetId()
	require.Equal(t, good, exp.GetBaselineVariantId(), "the baseline defaults to the tier's variant")
	require.Equal(t, bad, exp.GetCandidateVariantId())
	require.Equal(t, moosev1.ExperimentStatus_EXPERIMENT_STATUS_RUNNING, exp.GetStatus())
	require.Equal(t, int32(10), exp.GetConfig().GetMinSamplesRollback(), "rollback keeps its default")
	require.Equal(t, budget, exp.GetConfig().GetBudgetWorkOrders())

	p, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "go-calc", RepoUrl: repo, DefaultBranch: "main", Language: "go"})
	require.NoError(t, err)
	n := 0
	create := func() string {
		n++
		r, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(),
			Title: fmt.Sprintf("Add Title %d", n), Complexity: 2, Description: "Add a Title function with tests.",
			AcceptanceCriteria: []string{"has tests"}, Metadata: map[string]string{"replay_key": "exp"}})
		require.NoError(t, err)
		id := r.GetWorkOrder().GetId()
		_, err = c.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: id})
		require.NoError(t, err)
		return id
	}
	wait := func(id string) *moosev1.WorkOrder {
		stream, err := c.wos.WatchWorkOrder(ctx, &moosev1.WatchWorkOrderRequest{Id: id})
		require.NoError(t, err)
		for {
			if _, err := stream.Recv(); err != nil {
				break
			}
		}
		got, err := c.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: id})
		require.NoError(t, err)
		return got.GetWorkOrder()
	}
	get := func() *moosev1.Experiment {
		r, err := exps.GetExperiment(ctx, &moosev1.GetExperimentRequest{Id: expID})
		require.NoError(t, err)
		return r.GetExperiment()
	}
	// counted waits until the experiment has looked at every finished work
	// order (the observation is recorded just after the work order's final
	// transition) or has decided. GetExperiment reads the experiment row and
	// its observations in separate statements, so it can show a running
	// experiment whose live look already says rollback while the deciding
	// transaction commits: that is read again.
	counted := func(finished int) *moosev1.Experiment {
		for {
			e := get()
			if e.GetStatus() != moosev1.ExperimentStatus_EXPERIMENT_STATUS_RUNNING ||
				(int(e.GetBaseline().GetN()+e.GetCandidate().GetN()) >= finished &&
					e.GetDecision().GetOutcome() == moosev1.DecisionOutcome_DECISION_OUTCOME_CONTINUE) {
				return e
			}
			select {
			case <-ctx.Done():
				t.Fatalf("experiment counted %d+%d of %d finished work orders: %v",
					e.GetBaseline().GetN(), e.GetCandidate().GetN(), finished, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}

	var inExperiment []*moosev1.WorkOrder
	for exp = get(); exp.GetStatus() == moosev1.ExperimentStatus_EXPERIMENT_STATUS_RUNNING; {
		require.Less(t, len(inExperiment), maxWOs, "no decision within %d work orders: %s", maxWOs, exp.GetDecision().GetReason())
		var batch []string
		for range 6 {
			batch = append(batch, create())
		}
		for _, id := range batch {
			wo := wait(id)
			require.Contains(t, []moosev1.WorkOrderStatus{moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED,
				moosev1.WorkOrderStatus_WORK_ORDER_STATUS_NEEDS_REVIEW}, wo.GetStatus(), "%s: %+v", wo.GetTitle(), wo.GetResult())
			inExperiment = append(inExperiment, wo)
		}
		exp = counted(len(inExperiment))
		t.Logf("%d WOs: baseline n=%d mean %.2f, candidate n=%d mean %.2f: %s", len(inExperiment),
			exp.GetBaseline().GetN(), exp.GetBaseline().GetMeanScore(), exp.GetCandidate().GetN(),
			exp.GetCandidate().GetMeanScore(), exp.GetDecision().GetReason())
	}

	// The decision through gRPC: a final, automatic rollback with its numbers.
	d := exp.GetDecision()
	require.Equal(t, moosev1.ExperimentStatus_EXPERIMENT_STATUS_ROLLED_BACK, exp.GetStatus(), d.GetReason())
	require.Equal(t, moosev1.DecisionOutcome_DECISION_OUTCOME_ROLLBACK, d.GetOutcome())
	require.Equal(t, "auto", d.GetDecidedBy())
	require.NotNil(t, d.GetDecideTime())
	require.NotNil(t, exp.GetEndTime())
	require.True(t, strings.HasPrefix(d.GetReason(), "rollback: "), d.GetReason())
	require.GreaterOrEqual(t, exp.GetCandidate().GetN(), int32(10), "rollback waits for 10 candidate WOs")
	require.Equal(t, d.GetTotal(), exp.GetBaseline().GetN()+exp.GetCandidate().GetN())
	require.Equal(t, exp.GetLooks(), d.GetTotal(), "one look per counted work order")
	require.NotNil(t, d.GetScoreDiff())
	require.NotNil(t, d.GetFloor())
	require.True(t, d.GetScoreDiff().GetUpper() < 0 || d.GetFloor().GetUpper() < 6,
		"score difference CS %v, floor CS %v", d.GetScoreDiff(), d.GetFloor())
	require.True(t, containsAny(d.GetTriggers(), string(experiment.TriggerScoreWorse), string(experiment.TriggerBelowFloor)), d.GetTriggers())
	require.GreaterOrEqual(t, exp.GetBaseline().GetMeanScore(), 7.0)
	require.Less(t, exp.GetCandidate().GetMeanScore(), exp.GetBaseline().GetMeanScore()-2)
	require.Equal(t, 1.0, exp.GetBaseline().GetPassRate())
	require.Zero(t, exp.GetCandidate().GetPassed())
	require.NotEmpty(t, exp.GetBaseline().GetDimensions(), "per-dimension means come from the work orders' results")
	require.NotEmpty(t, exp.GetCandidate().GetDimensions())
	var types []string
	for _, ev := range exp.GetEvents() {
		types = append(types, ev.GetType()+"/"+ev.GetActor())
	}
	require.Len(t, types, 2, types)
	require.Regexp(t, `^started/`+servertest.AdminTokenName+`-\d+$`, types[0], "the calling token's name is the actor, not the request's actor field")
	require.Equal(t, "rollback/auto", types[1])

	// Assignment is sticky and deterministic: every work order routed while
	// the experiment ran was served by its arm's variant, recorded once in
	// the routing event, and the arm is the hash of the two ids.
	expUUID := uuid.MustParse(expID)
	arms := map[string]int{}
	for _, wo := range inExperiment {
		evs, err := c.wos.ListWorkOrderEvents(ctx, &moosev1.ListWorkOrderEventsRequest{Id: wo.GetId()})
		require.NoError(t, err)
		var routed []map[string]string
		for _, e := range evs.GetEvents() {
			if e.GetPhase() == "routing" {
				routed = append(routed, e.GetData())
			}
		}
		require.Len(t, routed, 1, "%s is routed once", wo.GetTitle())
		arm := routed[0]["arm"]
		if arm == "" {
			// Routed after the decision: the experiment no longer assigns.
			require.Equal(t, good, wo.GetVariantId(), wo.GetTitle())
			continue
		}
		arms[arm]++
		require.Equal(t, expID, routed[0]["experiment_id"])
		want, wantArm := good, "baseline"
		if experiment.Bucket(expUUID, uuid.MustParse(wo.GetId())) < 0.5 {
			want, wantArm = bad, "candidate"
		}
		require.Equal(t, wantArm, arm, "%s: the arm is the hash of experiment and work order", wo.GetTitle())
		require.Equal(t, want, wo.GetVariantId(), "%s: served by its arm's variant", wo.GetTitle())
		require.Equal(t, want, routed[0]["variant_id"])
		if arm == "candidate" {
			require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_NEEDS_REVIEW, wo.GetStatus(), wo.GetTitle())
			require.Less(t, wo.GetResult().GetOverallScore(), 7.0, wo.GetTitle())
		} else {
			require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, wo.GetStatus(), wo.GetTitle())
			require.GreaterOrEqual(t, wo.GetResult().GetOverallScore(), 7.0, wo.GetTitle())
		}
	}
	require.GreaterOrEqual(t, arms["candidate"], int(exp.GetCandidate().GetN()))
	require.GreaterOrEqual(t, arms["baseline"], int(exp.GetBaseline().GetN()))

	// After the rollback the tier's work orders all go to the baseline, and
	// the ended experiment counts none of them.
	var after []string
	for range 3 {
		after = append(after, create())
	}
	for _, id := range after {
		wo := wait(id)
		require.Equal(t, good, wo.GetVariantId(), "%s is routed to the baseline after the rollback", wo.GetTitle())
		evs, err := c.wos.ListWorkOrderEvents(ctx, &moosev1.ListWorkOrderEventsRequest{Id: id})
		require.NoError(t, err)
		for _, e := range evs.GetEvents() {
			if e.GetPhase() == "routing" {
				require.Empty(t, e.GetData()["arm"], "no experiment assigns %s", wo.GetTitle())
			}
		}
	}
	tiers, err = routing.ListTiers(ctx, &moosev1.ListTiersRequest{})
	require.NoError(t, err)
	for _, tr := range tiers.GetTiers() {
		if tr.GetName() == "cheap" {
			require.Equal(t, good, tr.GetVariantId(), "a rollback leaves the baseline in the tier")
		}
	}
	final := get()
	require.Equal(t, exp.GetLooks(), final.GetLooks(), "an ended experiment takes no more looks")
	require.Equal(t, exp.GetCandidate().GetN(), final.GetCandidate().GetN())

	// The same decision through REST.
	resp, err := c.http.Get(c.base + "/v1/experiments/" + expID)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Contains(t, string(body), `"DECISION_OUTCOME_ROLLBACK"`)
	require.Contains(t, string(body), `"EXPERIMENT_STATUS_ROLLED_BACK"`)
	var viaREST moosev1.GetExperimentResponse
	require.NoError(t, protojson.Unmarshal(body, &viaREST), string(body))
	requireSameDecision(t, final, viaREST.GetExperiment())

	// And through moosectl, as JSON and as the table people read.
	bin := moosectl(t)
	cli := func(args ...string) string {
		cmd := exec.CommandContext(ctx, bin, append([]string{"--server", srv.GRPCAddr()}, args...)...)
		cmd.Env = append(os.Environ(), "MOOSE_TOKEN="+srv.AdminToken())
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Run(), "moosectl %v: %s", args, stderr.String())
		return stdout.String()
	}
	var viaCLI moosev1.Experiment
	out := cli("exp", "show", expID, "-o", "json")
	require.NoError(t, protojson.Unmarshal([]byte(out), &viaCLI), out)
	requireSameDecision(t, final, &viaCLI)
	table := cli("exp", "show", expID)
	require.Contains(t, table, "rolled_back")
	require.Contains(t, table, "rollback (by auto")
	require.Contains(t, table, d.GetReason())
}

// requireSameDecision checks that another channel shows the decision gRPC shows.
func requireSameDecision(t *testing.T, want, got *moosev1.Experiment) {
	t.Helper()
	require.Equal(t, want.GetId(), got.GetId())
	require.Equal(t, moosev1.ExperimentStatus_EXPERIMENT_STATUS_ROLLED_BACK, got.GetStatus())
	require.Equal(t, moosev1.DecisionOutcome_DECISION_OUTCOME_ROLLBACK, got.GetDecision().GetOutcome())
	require.Equal(t, want.GetDecision().GetReason(), got.GetDecision().GetReason())
	require.Equal(t, "auto", got.GetDecision().GetDecidedBy())
	require.Equal(t, want.GetDecision().GetTriggers(), got.GetDecision().GetTriggers())
	require.InDelta(t, want.GetDecision().GetScoreDiff().GetUpper(), got.GetDecision().GetScoreDiff().GetUpper(), 1e-9)
	require.InDelta(t, want.GetDecision().GetFloor().GetUpper(), got.GetDecision().GetFloor().GetUpper(), 1e-9)
	require.Equal(t, want.GetCandidate().GetN(), got.GetCandidate().GetN())
	require.Equal(t, want.GetBaseline().GetN(), got.GetBaseline().GetN())
}

func containsAny(have []string, want ...string) bool {
	for _, h := range have {
		for _, w := range want {
			if h == w {
				return true
			}
		}
	}
	return false
}
