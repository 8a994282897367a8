package cli_test

import (
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/metadata"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/cli"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/servertest"
)

func TestExperimentCommands(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.APIOnly())
	s := sessionFor(t, srv)
	// The actor recorded is the name of the calling token.
	alice, bob, carol := srv.NamedToken(t, "alice", "admin"), srv.NamedToken(t, "bob", "admin"), srv.NamedToken(t, "carol", "admin")
	s.token = alice
	if r := s.run("exp", "list"); strings.Contains(r.stderr, "(Unimplemented)") {
		t.Skip("ExperimentService is not registered in server.New yet")
	}
	pool := srv.Server().Pool()
	ctx := t.Context()
	base, cand := uuid.New(), uuid.New()
	_, err := pool.Exec(ctx, `INSERT INTO variants (id, name, plugin_name) VALUES ($1, 'base', 'replay'), ($2, 'cand', 'replay')`, base, cand)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE routing_tiers SET variant_id = $1 WHERE name = 'cheap'`, base)
	require.NoError(t, err)

	// Mistakes: a missing flag is a usage error; an invalid request shows the field.
	r := s.run("exp", "start", "--candidate", "cand")
	require.Equal(t, cli.ExitUsage, r.code, r.stderr)
	r = s.run("exp", "start", "--tier", "cheap", "--candidate", "base")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "candidate_variant")

	var e moosev1.Experiment
	s.json(&e, "exp", "start", "--tier", "cheap", "--candidate", "cand", "--share", "0.5", "--margin", "0.3",
		"--budget-days", "7", "--actor", "mallory")
	require.Equal(t, "alice", e.GetStartedBy(), "the token's name, not a claimed --actor")
	r = s.run("exp", "rollback", uuid.NewString(), "--actor", "mallory")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "--actor is ignored", "someone still passing --actor is told")
	require.Equal(t, 0.5, e.GetCandidateShare())
	require.Equal(t, 0.3, e.GetConfig().GetMargin())
	require.Equal(t, 6.0, e.GetConfig().GetFloor(), "unset flags take the server's defaults")
	require.Equal(t, 7*24.0, e.GetConfig().GetBudgetDuration().AsDuration().Hours())
	require.Equal(t, base.String(), e.GetBaselineVariantId())

	r = s.run("exp", "start", "--tier", "cheap", "--candidate", "cand")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "(FailedPrecondition)")

	// Twelve finished work orders per arm, recorded as the pipeline would
	// have (the CLI test cannot reach the service itself).
	project := uuid.New()
	_, err = pool.Exec(ctx, `INSERT INTO projects (id, name, repo_url, default_branch, language) VALUES ($1, 'p', '/p', 'main', 'go')`, project)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `WITH wo AS (
			INSERT INTO work_orders (id, project_id, title, complexity, status, result)
			SELECT gen_random_uuid(), $1, 'wo ' || i, 2, 'completed',
				jsonb_build_object('dimensions', jsonb_build_array(jsonb_build_object('name', 'correctness', 'score', 5 + i % 2 * 3)))
			FROM generate_series(1, 24) i RETURNING id, title)
		INSERT INTO experiment_observations (experiment_id, work_order_id, arm, variant_id, score, passed, cost_usd, finished_at)
		SELECT $2, id, CASE WHEN split_part(title, ' ', 2)::int % 2 = 1 THEN 'candidate' ELSE 'baseline' END,
			$3, 6 + split_part(title, ' ', 2)::int % 2 * 2 + (split_part(title, ' ', 2)::int % 3) * 0.5, true, 0.02, now()
		FROM wo`, project, e.GetId(), base)
	require.NoError(t, err)

	out := s.ok("exp", "show", e.GetId())
	require.Regexp(t, `(?m)^Status:\s+running$`, out)
	// Variants by name, with their ids where there is room.
	require.Regexp(t, `(?m)^Baseline:\s+base \(`+base.String()+`\)$`, out)
	require.Regexp(t, `(?m)^Candidate:\s+cand \(`+cand.String()+`\), 50% of traffic$`, out)
	require.Regexp(t, `(?m)^baseline\s+base\s+12\s+0\s+6\.\d\d\s+\S+\s+100\.0%\s+\$0\.0\d+\s+\[\d`, out)
	require.Regexp(t, `(?m)^candidate\s+cand\s+12\s+0\s+8\.\d\d`, out)
	require.Regexp(t, `(?m)^correctness\s+5\.00 \(n=12\)\s+8\.00 \(n=12\)$`, out)
	require.Regexp(t, `(?m)^Decision:\s+continue \(live look\)$`, out)
	require.Regexp(t, `(?m)^Reason:\s+continue: baseline 12 and candidate 12 WOs, promotion needs 30 each`, out)
	require.Regexp(t, `(?m)^Score diff CS:\s+\[\d\.\d{3}, \d\.\d{3}\], estimate 2, n=24$`, out)
	require.Regexp(t, `(?m)^Fixed-horizon \(reference only\):\s+Welch t=`, out)

	out = s.ok("exp", "list", "--status", "running")
	require.Regexp(t, `(?m)^`+e.GetId()+`\s+cheap\s+running\s+base\s+cand\s+50%\s+12/12\s+continue\s`, out)
	out = s.ok("exp", "list", "--tier", "strong")
	require.Equal(t, 1, strings.Count(out, "\n"), "header only:\n%s", out)

	s.token = bob
	out = s.ok("exp", "stop", e.GetId(), "--reason", "budget freeze")
	require.Regexp(t, `(?m)^Status:\s+stopped$`, out)
	require.Regexp(t, `(?m)^Decision:\s+stop \(by bob, `, out)
	require.Regexp(t, `(?m)^Reason:\s+stop: by bob: budget freeze`, out)

	s.token = carol
	s.ok("exp", "promote", e.GetId())
	var tier uuid.UUID
	require.NoError(t, pool.QueryRow(ctx, `SELECT variant_id FROM routing_tiers WHERE name = 'cheap'`).Scan(&tier))
	require.Equal(t, cand, tier)

	r = s.run("exp", "rollback", e.GetId())
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "(FailedPrecondition)")

	var got moosev1.Experiment
	s.json(&got, "exp", "show", e.GetId())
	require.Equal(t, moosev1.ExperimentStatus_EXPERIMENT_STATUS_PROMOTED, got.GetStatus())
	require.Equal(t, moosev1.DecisionOutcome_DECISION_OUTCOME_PROMOTE, got.GetDecision().GetOutcome())
	require.Equal(t, "carol", got.GetDecision().GetDecidedBy())
	require.Equal(t, int32(24), got.GetDecision().GetTotal())
	var actors []string
	for _, ev := range got.GetEvents() {
		actors = append(actors, ev.GetType()+"/"+ev.GetActor())
	}
	require.Equal(t, []string{"started/alice", "stop/bob", "promote/carol"}, actors)

	// A variant retired since is still named, and marked.
	_, err = pool.Exec(ctx, `UPDATE variants SET status = 'retired', retired_at = now() WHERE id = $1`, base)
	require.NoError(t, err)
	out = s.ok("exp", "list")
	require.Regexp(t, `(?m)^`+e.GetId()+`\s+cheap\s+promoted\s+base \(retired\)\s+cand\s+50%`, out)
	out = s.ok("exp", "show", e.GetId())
	require.Regexp(t, `(?m)^Baseline:\s+base \(retired, `+base.String()+`\)$`, out)
}

// TestExperimentActorIsTheTokenName: with neither $USER nor --actor, the
// actor recorded is the calling token's name, not "unknown"; and a caller
// naming someone else, by request field or by metadata, is still recorded as
// its token.
func TestExperimentActorIsTheTokenName(t *testing.T) {
	// Not parallel: it unsets $USER for the whole process.
	t.Setenv("USER", "")
	require.NoError(t, os.Unsetenv("USER"))
	srv := servertest.Start(t, servertest.APIOnly())
	s := sessionFor(t, srv)
	s.token = srv.NamedToken(t, "ci-bot", "admin")
	pool := srv.Server().Pool()
	ctx := t.Context()
	base, cand, other := uuid.New(), uuid.New(), uuid.New()
	_, err := pool.Exec(ctx, `INSERT INTO variants (id, name, plugin_name) VALUES ($1, 'base', 'replay'), ($2, 'cand', 'replay'), ($3, 'other', 'replay')`,
		base, cand, other)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE routing_tiers SET variant_id = $1 WHERE name IN ('cheap', 'strong')`, base)
	require.NoError(t, err)

	var e moosev1.Experiment
	s.json(&e, "exp", "start", "--tier", "cheap", "--candidate", "cand")
	require.Equal(t, "ci-bot", e.GetStartedBy())
	var stopped moosev1.Experiment
	s.json(&stopped, "exp", "stop", e.GetId(), "--reason", "done")
	require.Equal(t, "ci-bot", stopped.GetDecision().GetDecidedBy())
	var shown moosev1.Experiment
	s.json(&shown, "exp", "show", e.GetId())
	var actors []string
	for _, ev := range shown.GetEvents() {
		actors = append(actors, ev.GetType()+"/"+ev.GetActor())
	}
	require.Equal(t, []string{"started/ci-bot", "stop/ci-bot"}, actors)
	out := s.ok("exp", "show", e.GetId())
	require.Regexp(t, `(?m)^Started:\s+\S+ by ci-bot$`, out)
	require.NotContains(t, out, "unknown")

	// A client of its own claiming to be mallory, both ways at once.
	exps := moosev1.NewExperimentServiceClient(srv.DialToken(t, s.token))
	claim := metadata.AppendToOutgoingContext(ctx, "x-moose-actor", "mallory")
	started, err := exps.StartExperiment(claim, &moosev1.StartExperimentRequest{Tier: "strong", CandidateVariant: "other", Actor: "mallory"})
	require.NoError(t, err)
	require.Equal(t, "ci-bot", started.GetExperiment().GetStartedBy())
	rolled, err := exps.RollbackExperiment(claim, &moosev1.RollbackExperimentRequest{Id: started.GetExperiment().GetId(), Actor: "mallory"})
	require.NoError(t, err)
	require.Equal(t, "ci-bot", rolled.GetExperiment().GetDecision().GetDecidedBy())
}
