package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/publish/publishtest"
)

// skeletalChange builds but does nothing and tests nothing: every execution of
// it ends needs_review (after its refinement cycles) with a pull request.
var skeletalChange = wholeFiles([2]string{"strutil/slug.go", `package strutil

// Slugify turns a title into a URL slug.
func Slugify(s string) string {
	// TODO: implement
	panic("not implemented")
}
`})

// lcSlowChange's test runs for two minutes: an execution answering it is
// still validating long after it started.
var lcSlowChange = wholeFiles(
	[2]string{"e2eslow/slow.go", `package e2eslow

// Slow returns d unchanged.
func Slow(d int) int { return d }
`},
	[2]string{"e2eslow/slow_test.go", `package e2eslow

import (
	"testing"
	"time"
)

func TestSlow(t *testing.T) {
	time.Sleep(120 * time.Second)
	if Slow(1) != 1 {
		t.Fatal("Slow")
	}
}
`},
)

const lifecycleKey = "E2E pull request lifecycle"

// lifecycle is one moosed publishing to the fake GitHub, with a cassette the
// test can rewrite between executions.
type lifecycle struct {
	t        *testing.T
	n        *node
	fake     *publishtest.GitHub
	bare     string // the repository's bare clone, what git pushes reach
	cassette string // path of the replay variant's cassette
	project  string
}

// newLifecycle starts moosed against a fake GitHub Enterprise whose repository
// acme/widgets is a bare clone of the sample project (as in the crash test),
// with a replay variant answering skeletalChange for lifecycleKey.
func newLifecycle(t *testing.T, ctx context.Context) *lifecycle {
	t.Helper()
	lc := &lifecycle{t: t, fake: publishtest.New(ghToken)}
	t.Cleanup(lc.fake.Close)
	gitRoot := traversableDir(t, "moose-e2e-github-")
	lc.bare = filepath.Join(gitRoot, "acme", "widgets.git")
	bareClone(t, sampleRepo(t), lc.bare)
	lc.fake.AddRepo("acme", "widgets", "main", lc.bare)
	gitconfig := filepath.Join(gitRoot, "gitconfig")
	require.NoError(t, os.WriteFile(gitconfig, []byte(fmt.Sprintf("[url %q]\n\tinsteadOf = https://%s/\n", gitRoot+"/", ghHost)), 0o644))

	lc.n = newNode(t,
		withArgs("--github-base-url", lc.fake.URL(), "--github-hosts", ghHost, "--git-config", gitconfig),
		withEnv("GITHUB_TOKEN="+ghToken),
	)
	lc.n.start()

	lc.cassette = filepath.Join(traversableDir(t, "moose-e2e-cassette-"), "cassette.json")
	lc.answer(skeletalChange, 400, 90)
	p, err := lc.n.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "widgets", RepoUrl: "https://" + ghHost + "/acme/widgets.git", DefaultBranch: "main", Language: "go"})
	require.NoError(t, err)
	v, err := lc.n.variants.CreateVariant(ctx, &moosev1.CreateVariantRequest{
		Name: "replay-e2e", PluginName: "replay", BaseUrl: lc.cassette, EditFormat: "whole",
		InputPricePerMtok: 0.15, OutputPricePerMtok: 0.60,
	})
	require.NoError(t, err)
	_, err = lc.n.routing.SetTier(ctx, &moosev1.SetTierRequest{Name: "cheap", MinComplexity: 1, MaxComplexity: 3, VariantId: v.GetVariant().GetId()})
	require.NoError(t, err)
	lc.project = p.GetProject().GetId()
	return lc
}

// answer (re)writes the cassette: text for every cycle (no cycle number, so
// execution and cycle numbering do not matter), costing in and out tokens per
// cycle. The replay plugin re-reads a cassette whose size or modification
// time changed; callers change the digit count to be sure.
func (lc *lifecycle) answer(text string, in, out int64) {
	raw, err := json.Marshal(cassette{Model: "replay-e2e", Entries: []entry{{Key: lifecycleKey, InputTokens: in, OutputTokens: out, Text: text}}})
	require.NoError(lc.t, err)
	tmp := lc.cassette + ".tmp"
	require.NoError(lc.t, os.WriteFile(tmp, raw, 0o644))
	require.NoError(lc.t, os.Rename(tmp, lc.cassette))
}

// awaitExecution waits until the work order has finished its publishes-th
// published execution and returns it; it must be needs_review.
func (lc *lifecycle) awaitExecution(ctx context.Context, id string, publishes int) *moosev1.WorkOrder {
	lc.t.Helper()
	var wo *moosev1.WorkOrder
	waitFor(lc.t, 6*time.Minute, fmt.Sprintf("publication %d of the work order", publishes), func() bool {
		wo = lc.n.get(ctx, id)
		if wo.GetStatus() == moosev1.WorkOrderStatus_WORK_ORDER_STATUS_FAILED || wo.GetStatus() == moosev1.WorkOrderStatus_WORK_ORDER_STATUS_CANCELLED {
			return true // fails below, now rather than at the timeout
		}
		return terminal(wo.GetStatus()) && len(publishedEvents(lc.n.events(ctx, id))) >= publishes
	})
	require.Equal(lc.t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_NEEDS_REVIEW, wo.GetStatus(), "%+v", wo.GetResult())
	require.Len(lc.t, publishedEvents(lc.n.events(ctx, id)), publishes)
	return wo
}

// onlyPull returns the repository's one pull request, failing when there are
// none or several.
func (lc *lifecycle) onlyPull() publishtest.PullRequest {
	lc.t.Helper()
	prs := lc.fake.PullRequests("acme", "widgets")
	require.Len(lc.t, prs, 1, "exactly one pull request; requests: %v", lc.fake.Requests())
	return prs[0]
}

// requireShows checks that pr is open, labelled needs-review and shows wo's
// current result and branch head.
func (lc *lifecycle) requireShows(pr publishtest.PullRequest, wo *moosev1.WorkOrder) {
	t := lc.t
	t.Helper()
	res := wo.GetResult()
	require.Equal(t, "open", pr.State)
	require.Equal(t, "moose/wo-"+wo.GetId()[:8], pr.Head)
	require.Equal(t, []string{"moose:needs-review"}, pr.Labels)
	require.Contains(t, pr.Body, wo.GetId())
	require.Contains(t, pr.Body, fmt.Sprintf("## Score: %.1f/10", res.GetOverallScore()))
	require.Contains(t, pr.Body, fmt.Sprintf("- cycles: %d\n", res.GetCycles()))
	require.Contains(t, pr.Body, fmt.Sprintf("(%d input, %d output tokens)", res.GetInputTokens(), res.GetOutputTokens()))
	require.Equal(t, fmt.Sprintf("%s/acme/widgets/pull/%d", lc.fake.URL(), pr.Number), res.GetPullRequestUrl())
	require.Equal(t, int32(pr.Number), res.GetPullRequestNumber())
	require.Equal(t, gitRun(t, lc.bare, "rev-parse", "refs/heads/"+pr.Head), pr.HeadSHA)
	gitRun(t, lc.bare, "cat-file", "-e", pr.Head+":strutil/slug.go")
}

// edits counts the fake's successful PATCHes of pull request number.
func (lc *lifecycle) edits(number int) int {
	want := fmt.Sprintf("PATCH /repos/acme/widgets/pulls/%d 200", number)
	c := 0
	for _, r := range lc.fake.Requests() {
		if r == want {
			c++
		}
	}
	return c
}

// setPullState opens or closes a pull request through the fake's API, as a
// person on GitHub would.
func (lc *lifecycle) setPullState(number int, state string) {
	t := lc.t
	t.Helper()
	url := fmt.Sprintf("%s/api/v3/repos/acme/widgets/pulls/%d", lc.fake.URL(), number)
	req, err := http.NewRequest(http.MethodPatch, url, bytes.NewBufferString(fmt.Sprintf(`{"state": %q}`, state)))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+ghToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func (lc *lifecycle) retry(ctx context.Context, id string) {
	lc.t.Helper()
	r, err := lc.n.wos.RetryWorkOrder(ctx, &moosev1.RetryWorkOrderRequest{Id: id})
	require.NoError(lc.t, err)
	require.Equal(lc.t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_APPROVED, r.GetWorkOrder().GetStatus())
}

func hasMessage(evs []*moosev1.Event, msg string) bool {
	for _, e := range evs {
		if e.GetMessage() == msg {
			return true
		}
	}
	return false
}

const closedMessage = "pull request closed (work order cancelled)"

// TestPullRequestLifecycle is issue 7's lifecycle through a real moosed and a
// fake GitHub: retrying a work order after needs_review updates its pull
// request (no second one); a retry reopens a pull request closed on GitHub;
// cancelling the work order closes it.
func TestPullRequestLifecycle(t *testing.T) {
	skipShort(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	lc := newLifecycle(t, ctx)
	n := lc.n

	id := n.submit(ctx, lc.project, lifecycleKey)
	first := lc.awaitExecution(ctx, id, 1)
	pr := lc.onlyPull()
	lc.requireShows(pr, first)
	number := pr.Number
	t.Logf("execution 1: %.1f/10, %d cycles, %d/%d tokens, pull request #%d",
		first.GetResult().GetOverallScore(), first.GetResult().GetCycles(), first.GetResult().GetInputTokens(), first.GetResult().GetOutputTokens(), number)

	// 1. A retry after needs_review runs again and updates the same pull
	// request. Other token counts make the new execution's body differ.
	lc.answer(skeletalChange, 4000, 900)
	editsBefore := lc.edits(number)
	lc.retry(ctx, id)
	second := lc.awaitExecution(ctx, id, 2)
	require.NotEqual(t, first.GetResult().GetInputTokens(), second.GetResult().GetInputTokens(), "the retry ran on the rewritten cassette")
	pr = lc.onlyPull()
	require.Equal(t, number, pr.Number, "the retry updated the pull request, not a new one")
	lc.requireShows(pr, second)
	require.NotContains(t, pr.Body, fmt.Sprintf("(%d input, %d output tokens)", first.GetResult().GetInputTokens(), first.GetResult().GetOutputTokens()))
	require.Greater(t, lc.edits(number), editsBefore, "the body was edited; requests: %v", lc.fake.Requests())

	// 2. A pull request closed on GitHub while the work order waits for review
	// is reopened by the next retry, not replaced.
	lc.setPullState(number, "closed")
	require.Equal(t, "closed", lc.onlyPull().State)
	lc.answer(skeletalChange, 40000, 9000)
	lc.retry(ctx, id)
	third := lc.awaitExecution(ctx, id, 3)
	pr = lc.onlyPull()
	require.Equal(t, number, pr.Number, "the retry reopened the pull request, not a new one")
	lc.requireShows(pr, third)
	require.Contains(t, pr.Body, fmt.Sprintf("(%d input, %d output tokens)", third.GetResult().GetInputTokens(), third.GetResult().GetOutputTokens()))
	for _, e := range publishedEvents(n.events(ctx, id)) {
		require.Equal(t, strconv.Itoa(pr.Number), e.GetData()["number"], "every execution published to the same pull request")
	}

	// 3. Cancelling the work order closes its pull request.
	require.False(t, hasMessage(n.events(ctx, id), closedMessage))
	r, err := n.wos.CancelWorkOrder(ctx, &moosev1.CancelWorkOrderRequest{Id: id, Reason: "e2e: lifecycle"})
	require.NoError(t, err)
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_CANCELLED, r.GetWorkOrder().GetStatus())
	waitFor(t, 2*time.Minute, "the pull request to be closed", func() bool {
		return lc.onlyPull().State == "closed"
	})
	waitFor(t, time.Minute, "the work order's \"pull request closed\" event", func() bool {
		return hasMessage(n.events(ctx, id), closedMessage)
	})
	pr = lc.onlyPull()
	require.Equal(t, number, pr.Number)
	require.False(t, pr.Merged)
	require.Equal(t, gitRun(t, lc.bare, "rev-parse", "refs/heads/"+pr.Head), pr.HeadSHA, "the branch is kept")
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_CANCELLED, n.get(ctx, id).GetStatus())
	_, err = n.wos.RetryWorkOrder(ctx, &moosev1.RetryWorkOrderRequest{Id: id})
	require.Error(t, err, "cancelled is terminal: no retry")
	require.Equal(t, "closed", lc.onlyPull().State)
}

// TestPullRequestLifecycleCancelDuringRetry cancels a work order while a
// retry of it runs: the pull request its previous execution published is
// still open on GitHub and must be closed all the same, although the retry
// cleared the work order's result (and with it the pull request's URL).
func TestPullRequestLifecycleCancelDuringRetry(t *testing.T) {
	skipShort(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	lc := newLifecycle(t, ctx)
	n := lc.n

	id := n.submit(ctx, lc.project, lifecycleKey)
	first := lc.awaitExecution(ctx, id, 1)
	pr := lc.onlyPull()
	lc.requireShows(pr, first)

	// The retry validates for two minutes: plenty of time to cancel it
	// before it could publish.
	lc.answer(lcSlowChange, 4000, 900)
	lc.retry(ctx, id)
	waitFor(t, 3*time.Minute, "the retry to start", func() bool {
		return n.get(ctx, id).GetStatus() == moosev1.WorkOrderStatus_WORK_ORDER_STATUS_IN_PROGRESS
	})
	r, err := n.wos.CancelWorkOrder(ctx, &moosev1.CancelWorkOrderRequest{Id: id, Reason: "e2e: cancel during retry"})
	require.NoError(t, err)
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_CANCELLED, r.GetWorkOrder().GetStatus())
	require.Len(t, publishedEvents(n.events(ctx, id)), 1, "cancelled before the retry published")

	waitFor(t, 2*time.Minute, "the pull request to be closed", func() bool {
		return lc.onlyPull().State == "closed"
	})
	waitFor(t, time.Minute, "the work order's \"pull request closed\" event", func() bool {
		return hasMessage(n.events(ctx, id), closedMessage)
	})
	require.Equal(t, pr.Number, lc.onlyPull().Number)
}
