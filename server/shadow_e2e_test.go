package server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

// shadowGoodCassette answers every work order keyed "shadow" with a
// complete, tested function.
const shadowGoodCassette = `model: shadow-good-model
entries:
  - key: shadow
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

// shadowBadCassette answers with a skeleton that builds but does nothing and
// has no test.
const shadowBadCassette = `model: shadow-bad-model
entries:
  - key: shadow
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

// TestShadowExperimentScoresTheCandidateWithoutPublishingIt runs a shadow
// experiment through the real pipeline: every work order of the tier is
// served (and published) by the baseline, and the candidate runs on a copy
// afterwards, as its own job. The copy is validated and scored (shadow_
// phase events, shadow attempts) but never published, never moves the work
// order, and counts for the candidate arm while the published run counts for
// the baseline.
func TestShadowExperimentScoresTheCandidateWithoutPublishingIt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real builds and tests of several work orders")
	}
	t.Parallel()

	srv := servertest.Start(t, servertest.WithBuiltinPlugins(t),
		servertest.WithConfig(func(c *server.Config) { c.MaxRefinements = -1 }))
	c := dial(t, srv)
	pool := srv.Server().Pool()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
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
	good, bad := variant("shadow-good", shadowGoodCassette), variant("shadow-bad", shadowBadCassette)

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

	// Share 1: every work order of the tier is shadowed by the candidate.
	started, err := exps.StartExperiment(ctx, &moosev1.StartExperimentRequest{
		Tier: "cheap", CandidateVariant: "shadow-bad", CandidateShare: 1, Shadow: true, Actor: "e2e",
	})
	require.NoError(t, err)
	exp := started.GetExperiment()
	expID := exp.GetId()
	require.True(t, exp.GetShadow())
	require.Equal(t, good, exp.GetBaselineVariantId())
	require.Equal(t, bad, exp.GetCandidateVariantId())
	require.Equal(t, 1.0, exp.GetCandidateShare())
	require.Equal(t, moosev1.ExperimentStatus_EXPERIMENT_STATUS_RUNNING, exp.GetStatus())

	p, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "go-calc", RepoUrl: repo, DefaultBranch: "main", Language: "go"})
	require.NoError(t, err)
	const n = 3
	var ids []string
	for i := range n {
		r, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(),
			Title: fmt.Sprintf("Add Title %d", i+1), Complexity: 2, Description: "Add a Title function with tests.",
			AcceptanceCriteria: []string{"has tests"}, Metadata: map[string]string{"replay_key": "shadow"}})
		require.NoError(t, err)
		id := r.GetWorkOrder().GetId()
		_, err = c.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: id})
		require.NoError(t, err)
		ids = append(ids, id)
	}

	getWO := func(id string) *moosev1.WorkOrder {
		got, err := c.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: id})
		require.NoError(t, err)
		return got.GetWorkOrder()
	}
	events := func(id string) []*moosev1.Event {
		evs, err := c.wos.ListWorkOrderEvents(ctx, &moosev1.ListWorkOrderEventsRequest{Id: id})
		require.NoError(t, err)
		return evs.GetEvents()
	}
	hasPhase := func(evs []*moosev1.Event, phase string) bool {
		for _, e := range evs {
			if e.GetPhase() == phase {
				return true
			}
		}
		return false
	}
	poll := func(what string, done func() bool) {
		t.Helper()
		for !done() {
			select {
			case <-ctx.Done():
				t.Fatalf("waiting for %s: %v", what, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	get := func() *moosev1.Experiment {
		r, err := exps.GetExperiment(ctx, &moosev1.GetExperimentRequest{Id: expID})
		require.NoError(t, err)
		return r.GetExperiment()
	}

	// Every work order is served and published by the baseline.
	finished := map[string]*moosev1.WorkOrder{}
	for _, id := range ids {
		stream, err := c.wos.WatchWorkOrder(ctx, &moosev1.WatchWorkOrderRequest{Id: id})
		require.NoError(t, err)
		for {
			if _, err := stream.Recv(); err != nil {
				break
			}
		}
		wo := getWO(id)
		require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, wo.GetStatus(), "%s: %+v", wo.GetTitle(), wo.GetResult())
		require.Equal(t, good, wo.GetVariantId(), "%s is served by the baseline", wo.GetTitle())
		require.GreaterOrEqual(t, wo.GetResult().GetOverallScore(), 7.0, wo.GetTitle())
		require.Equal(t, "moose/wo-"+id[:8], wo.GetResult().GetBranch())
		finished[id] = wo

		var routed []map[string]string
		for _, e := range events(id) {
			if e.GetPhase() == "routing" {
				routed = append(routed, e.GetData())
			}
		}
		require.Len(t, routed, 1, "%s is routed once", wo.GetTitle())
		require.Equal(t, expID, routed[0]["experiment_id"])
		require.Equal(t, "candidate", routed[0]["arm"], "share 1 assigns every work order to the candidate")
		require.Equal(t, good, routed[0]["variant_id"], "a shadow assignment still routes to the baseline")
	}

	// The shadow runs are jobs of their own, scheduled after each work order
	// finished: wait for each to score and record its observation.
	for _, id := range ids {
		poll("the shadow run of "+id, func() bool { return hasPhase(events(id), "shadow_scoring") })
	}
	poll("the candidate arm to count every shadow run", func() bool { return get().GetCandidate().GetN() >= n })

	for _, id := range ids {
		before := finished[id]
		title := before.GetTitle()
		evs := events(id)

		// The shadow run moved nothing: same status, result and variant, and
		// no transition after the one that finished the work order.
		after := getWO(id)
		require.Equal(t, before.GetStatus(), after.GetStatus(), title)
		require.Equal(t, before.GetVariantId(), after.GetVariantId(), title)
		require.Equal(t, before.GetResult().GetOverallScore(), after.GetResult().GetOverallScore(), title)
		require.Equal(t, before.GetResult().GetBranch(), after.GetResult().GetBranch(), title)
		require.Equal(t, before.GetResult().GetCostUsd(), after.GetResult().GetCostUsd(), "%s: the shadow run's cost is not the work order's", title)

		var lastTransition, firstShadow int64 = -1, -1
		published, publishing := 0, 0
		var shadowPhases []string
		for _, e := range evs {
			if e.GetToStatus() != moosev1.WorkOrderStatus_WORK_ORDER_STATUS_UNSPECIFIED {
				lastTransition = e.GetId()
			}
			if e.GetPhase() == "publishing" {
				publishing++
				if strings.HasPrefix(e.GetMessage(), "published ") {
					published++
				}
			}
			if strings.HasPrefix(e.GetPhase(), "shadow_") {
				if firstShadow < 0 {
					firstShadow = e.GetId()
				}
				shadowPhases = append(shadowPhases, e.GetPhase())
			}
			if e.GetPhase() == "shadow_proposing" {
				require.Equal(t, bad, e.GetData()["variant_id"], "%s: the shadow run asks the candidate", title)
			}
			if e.GetPhase() == "shadow_scoring" {
				require.Contains(t, e.GetMessage(), "shadow candidate "+bad, title)
			}
		}
		require.GreaterOrEqual(t, lastTransition, int64(0), "%s has transitions", title)
		require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, evs[shadowEventIndex(evs, lastTransition)].GetToStatus(),
			"%s: the last transition is the baseline's completion", title)
		require.Greater(t, firstShadow, lastTransition, "%s: the shadow run starts after the work order finished", title)
		require.Equal(t, 1, published, "%s is published once, by the baseline", title)
		require.Equal(t, 2, publishing, "%s: only the baseline's run publishes", title)
		for _, ph := range []string{"shadow_workspace", "shadow_proposing", "shadow_applying", "shadow_validating", "shadow_scoring"} {
			require.Contains(t, shadowPhases, ph, title)
		}
		require.NotContains(t, shadowPhases, "shadow_publishing", title)

		// One attempt per run (no refinements): the baseline's and the
		// candidate's shadow attempt, told apart by the shadow flag.
		rows, err := pool.Query(ctx, `SELECT variant_id, shadow, build_passed, count(*) OVER (PARTITION BY shadow)
			FROM attempts WHERE work_order_id = $1 ORDER BY shadow`, uuid.MustParse(id))
		require.NoError(t, err)
		type attempt struct {
			variant       uuid.UUID
			shadow, build bool
			count         int
		}
		var attempts []attempt
		for rows.Next() {
			var a attempt
			require.NoError(t, rows.Scan(&a.variant, &a.shadow, &a.build, &a.count))
			attempts = append(attempts, a)
		}
		require.NoError(t, rows.Err())
		require.Len(t, attempts, 2, "%s: %+v", title, attempts)
		require.Equal(t, attempt{uuid.MustParse(good), false, true, 1}, attempts[0], title)
		require.Equal(t, attempt{uuid.MustParse(bad), true, true, 1}, attempts[1], title)
	}

	// Nothing but the baseline's branches reached the project's repository.
	out, err := exec.Command("git", "-C", repo, "branch", "--list", "moose/*", "--format=%(refname:short)").CombinedOutput()
	require.NoError(t, err, string(out))
	var want []string
	for _, id := range ids {
		want = append(want, "moose/wo-"+id[:8])
	}
	sort.Strings(want)
	require.Equal(t, want, strings.Fields(string(out)))

	// Each work order counts once in each arm: its published run for the
	// baseline, its shadow run for the candidate. Three work orders decide
	// nothing, so the experiment keeps running and looking.
	exp = get()
	require.Equal(t, moosev1.ExperimentStatus_EXPERIMENT_STATUS_RUNNING, exp.GetStatus(), exp.GetDecision().GetReason())
	require.Equal(t, int32(n), exp.GetBaseline().GetN())
	require.Equal(t, int32(n), exp.GetCandidate().GetN())
	require.Equal(t, int32(2*n), exp.GetLooks(), "one look per counted outcome")
	require.Equal(t, moosev1.DecisionOutcome_DECISION_OUTCOME_CONTINUE, exp.GetDecision().GetOutcome(), exp.GetDecision().GetReason())
	require.Equal(t, 1.0, exp.GetBaseline().GetPassRate())
	require.Zero(t, exp.GetCandidate().GetPassed(), "the skeleton never passes")
	require.Less(t, exp.GetCandidate().GetMeanScore(), exp.GetBaseline().GetMeanScore()-2)
	require.InDelta(t, shadowMeanScore(finished), exp.GetBaseline().GetMeanScore(), 1e-9, "the baseline arm is the published results")
}

func shadowEventIndex(evs []*moosev1.Event, id int64) int {
	for i, e := range evs {
		if e.GetId() == id {
			return i
		}
	}
	return -1
}

func shadowMeanScore(wos map[string]*moosev1.WorkOrder) float64 {
	var sum float64
	for _, wo := range wos {
		sum += wo.GetResult().GetOverallScore()
	}
	return sum / float64(len(wos))
}
