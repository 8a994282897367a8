package publish_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/pipeline"
	"github.com/moosehq/moose/server/internal/publish"
	"github.com/moosehq/moose/server/internal/publish/publishtest"
)

const (
	token       = "ghp_fakeTokenThatMustNeverLeak0123456789"
	projectRepo = "https://github.com/acme/widgets.git"
	pullsPath   = "/repos/acme/widgets/pulls"
)

type ghEnv struct {
	fake *publishtest.GitHub
	fx   *fixture
	cfg  publish.GitHubConfig
	logs *syncBuffer
	log  *slog.Logger
}

// newGH starts a fake GitHub holding acme/widgets, whose branches live in the
// fixture's bare repository, and checks at the end that the token never
// reached the logs.
func newGH(t *testing.T) *ghEnv {
	t.Helper()
	e := &ghEnv{fake: publishtest.New(token), fx: newFixture(t), logs: &syncBuffer{}}
	t.Cleanup(e.fake.Close)
	e.fake.AddRepo("acme", "widgets", "main", e.fx.bare)
	e.cfg = publish.GitHubConfig{Token: token, BaseURL: e.fake.URL(), PushURL: e.fx.bare, Backoff: 10 * time.Millisecond, MaxWait: 10 * time.Second}
	e.log = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if strings.Contains(e.logs.String(), token) {
			t.Errorf("token in logs:\n%s", e.logs.String())
		}
	})
	return e
}

func (e *ghEnv) publisher(t *testing.T) *publish.GitHub {
	t.Helper()
	p, err := publish.NewGitHub(e.cfg, e.log)
	require.NoError(t, err)
	return p
}

func (e *ghEnv) pulls() []publishtest.PullRequest { return e.fake.PullRequests("acme", "widgets") }

func (e *ghEnv) countRequests(prefix string) int {
	n := 0
	for _, r := range e.fake.Requests() {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func TestGitHubCreatesPullRequest(t *testing.T) {
	t.Parallel()
	e := newGH(t)
	e.fx.change(t, "v1")
	id := uuid.New()

	pub, err := e.publisher(t).Publish(context.Background(), projectRepo, e.fx.request(id, "## Score: 8.1/10", "completed"))
	require.NoError(t, err)
	require.Equal(t, pipeline.Published{URL: e.fake.URL() + "/acme/widgets/pull/1", Number: 1, Branch: pipeline.BranchFor(id)}, pub)

	prs := e.pulls()
	require.Len(t, prs, 1)
	pr := prs[0]
	require.Equal(t, "open", pr.State)
	require.Equal(t, "Add the feature", pr.Title)
	require.Equal(t, "## Score: 8.1/10", pr.Body)
	require.Equal(t, "main", pr.Base, "the repository's default branch")
	require.Equal(t, pipeline.BranchFor(id), pr.Head)
	require.Equal(t, []string{publish.LabelCompleted}, pr.Labels)
	require.Equal(t, e.fx.branchSHA(t, pr.Head), pr.HeadSHA)
	require.Equal(t, e.fx.base, git(t, e.fx.dir, "rev-parse", pr.HeadSHA+"^"))
}

func TestGitHubRetryUpdatesTheSamePullRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newGH(t)
	id := uuid.New()
	e.fx.change(t, "v1")
	first, err := e.publisher(t).Publish(ctx, projectRepo, e.fx.request(id, "first body", "needs_review"))
	require.NoError(t, err)
	sha1 := e.fx.branchSHA(t, first.Branch)

	// A retry after needs_review: new change, new evidence, new outcome; a
	// fresh publisher, as after a restart.
	e.fx.change(t, "v2")
	second, err := e.publisher(t).Publish(ctx, projectRepo, e.fx.request(id, "second body", "completed"))
	require.NoError(t, err)
	require.Equal(t, first, second)

	prs := e.pulls()
	require.Len(t, prs, 1, "no duplicate pull request")
	require.Equal(t, "second body", prs[0].Body)
	require.Equal(t, []string{publish.LabelCompleted}, prs[0].Labels, "needs-review label removed")
	require.NotEqual(t, sha1, prs[0].HeadSHA, "branch force-updated")
	got, _ := e.fx.show(t, prs[0].HeadSHA, "feature/feature.go")
	require.Contains(t, got, `"v2"`)
	require.Equal(t, 1, e.countRequests("POST "+pullsPath+" "), "created once")
}

func TestGitHubCloseOnCancelAndReopenOnRetry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newGH(t)
	p := e.publisher(t)
	id := uuid.New()
	e.fx.change(t, "v1")
	first, err := p.Publish(ctx, projectRepo, e.fx.request(id, "body", "completed"))
	require.NoError(t, err)

	require.NoError(t, p.Close(ctx, projectRepo, id))
	require.Equal(t, "closed", e.pulls()[0].State)
	require.NoError(t, p.Close(ctx, projectRepo, id), "closing again is a no-op")
	require.NoError(t, p.Close(ctx, projectRepo, uuid.New()), "a work order without a pull request")

	e.fx.change(t, "v2")
	again, err := p.Publish(ctx, projectRepo, e.fx.request(id, "retried", "needs_review"))
	require.NoError(t, err)
	require.Equal(t, first.Number, again.Number, "reopened, not replaced")
	prs := e.pulls()
	require.Len(t, prs, 1)
	require.Equal(t, "open", prs[0].State)
	require.Equal(t, "retried", prs[0].Body)
	require.Equal(t, []string{publish.LabelNeedsReview}, prs[0].Labels)
	got, _ := e.fx.show(t, prs[0].HeadSHA, "feature/feature.go")
	require.Contains(t, got, `"v2"`)
}

func TestGitHubOpensNewPullRequestWhenOldCannotBeReopened(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("branch force-pushed while closed", func(t *testing.T) {
		t.Parallel()
		e := newGH(t)
		p := e.publisher(t)
		id := uuid.New()
		e.fx.change(t, "v1")
		_, err := p.Publish(ctx, projectRepo, e.fx.request(id, "body", "completed"))
		require.NoError(t, err)
		require.NoError(t, p.Close(ctx, projectRepo, id))
		// Someone moves the branch while the pull request is closed.
		git(t, e.fx.dir, "push", "-q", "--force", e.fx.bare, e.fx.base+":refs/heads/"+pipeline.BranchFor(id))

		pub, err := p.Publish(ctx, projectRepo, e.fx.request(id, "body", "completed"))
		require.NoError(t, err)
		require.Equal(t, 2, pub.Number)
		prs := e.pulls()
		require.Len(t, prs, 2)
		require.Equal(t, "closed", prs[0].State)
		require.Equal(t, "open", prs[1].State)
	})
	t.Run("merged", func(t *testing.T) {
		t.Parallel()
		e := newGH(t)
		p := e.publisher(t)
		id := uuid.New()
		e.fx.change(t, "v1")
		_, err := p.Publish(ctx, projectRepo, e.fx.request(id, "body", "completed"))
		require.NoError(t, err)
		e.fake.Merge("acme", "widgets", 1)
		e.fx.change(t, "v2")
		pub, err := p.Publish(ctx, projectRepo, e.fx.request(id, "body", "completed"))
		require.NoError(t, err)
		require.Equal(t, 2, pub.Number)
		require.Len(t, e.pulls(), 2)
	})
}

func TestGitHubWaitsOutRateLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault publishtest.Fault
	}{
		{"primary 403", publishtest.Fault{Method: "POST", Path: pullsPath, Kind: publishtest.PrimaryRateLimit}},
		{"primary 429", publishtest.Fault{Method: "GET", Path: "/repos/acme/widgets", Kind: publishtest.PrimaryRateLimit, Status: http.StatusTooManyRequests}},
		{"secondary 403", publishtest.Fault{Method: "POST", Path: pullsPath, Kind: publishtest.SecondaryRateLimit}},
		{"secondary 429", publishtest.Fault{Method: "GET", Path: pullsPath, Kind: publishtest.SecondaryRateLimit, Status: http.StatusTooManyRequests}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newGH(t)
			e.fake.Inject(tc.fault)
			e.fx.change(t, "v1")
			pub, err := e.publisher(t).Publish(context.Background(), projectRepo, e.fx.request(uuid.New(), "body", "completed"))
			require.NoError(t, err)
			require.Equal(t, 0, e.fake.PendingFaults(), "the fault fired")
			require.Equal(t, 1, pub.Number)
			require.Len(t, e.pulls(), 1)
			status := tc.fault.Status
			if status == 0 {
				status = http.StatusForbidden
			}
			require.Contains(t, e.fake.Requests(), fmt.Sprintf("%s %s %d", tc.fault.Method, tc.fault.Path, status))
			require.Contains(t, e.logs.String(), "github rate limit")
		})
	}
}

func TestGitHubRateLimitTooLongIsRetryableError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		maxWait time.Duration
		ctx     func() (context.Context, context.CancelFunc)
	}{
		{"beyond MaxWait", time.Second, func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
		{"beyond the context deadline", time.Hour, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 30*time.Second)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newGH(t)
			e.cfg.MaxWait = tc.maxWait
			e.fake.Inject(publishtest.Fault{Method: "GET", Path: "/repos/acme/widgets", Kind: publishtest.SecondaryRateLimit, RetryAfter: 600})
			e.fx.change(t, "v1")
			ctx, cancel := tc.ctx()
			defer cancel()
			_, err := e.publisher(t).Publish(ctx, projectRepo, e.fx.request(uuid.New(), "body", "completed"))
			var rl *publish.RateLimitError
			require.ErrorAs(t, err, &rl)
			require.True(t, rl.Secondary)
			require.WithinDuration(t, time.Now().Add(600*time.Second), rl.Until, time.Minute)
			require.ErrorIs(t, err, fault.ErrUnavailable)
			require.True(t, publish.IsRetryable(err))
			require.Empty(t, e.pulls())
		})
	}
}

func TestGitHubAdoptsPullRequestThatAlreadyExists(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newGH(t)
	id := uuid.New()
	e.fx.change(t, "v1")
	_, err := e.publisher(t).Publish(ctx, projectRepo, e.fx.request(id, "first", "completed"))
	require.NoError(t, err)

	// GitHub's list lags behind its writes: the next publish does not see the
	// pull request, tries to create it and gets 422 "already exists".
	e.fake.Inject(publishtest.Fault{Method: "GET", Path: pullsPath, Kind: publishtest.StaleList})
	pub, err := e.publisher(t).Publish(ctx, projectRepo, e.fx.request(id, "second", "completed"))
	require.NoError(t, err)
	require.Equal(t, 1, pub.Number)
	require.Contains(t, e.fake.Requests(), "POST "+pullsPath+" 422")
	prs := e.pulls()
	require.Len(t, prs, 1)
	require.Equal(t, "second", prs[0].Body)
}

func TestGitHubNoCommitsBetween(t *testing.T) {
	t.Parallel()
	e := newGH(t)
	e.fx.change(t, "v1")
	id := uuid.New()
	body, err := json.Marshal(map[string]any{
		"message": "Validation Failed",
		"errors": []map[string]any{{"resource": "PullRequest", "code": "custom",
			"message": "No commits between main and " + pipeline.BranchFor(id)}},
		"documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request", "status": "422",
	})
	require.NoError(t, err)
	e.fake.Inject(publishtest.Fault{Method: "POST", Path: pullsPath, Kind: publishtest.Status, Status: 422, Body: string(body)})

	_, err = e.publisher(t).Publish(context.Background(), projectRepo, e.fx.request(id, "body", "completed"))
	require.ErrorIs(t, err, publish.ErrNoChanges)
	require.ErrorIs(t, err, fault.ErrFailedPrecondition)
	require.False(t, publish.IsRetryable(err))
	require.Equal(t, 1, e.countRequests("POST "+pullsPath+" "), "not retried")
	require.Empty(t, e.pulls())
}

func TestGitHubMissingRepository(t *testing.T) {
	t.Parallel()
	e := newGH(t)
	e.fx.change(t, "v1")
	id := uuid.New()
	_, err := e.publisher(t).Publish(context.Background(), "git@github.com:acme/missing.git", e.fx.request(id, "body", "completed"))
	require.ErrorIs(t, err, publish.ErrRepositoryNotFound)
	require.ErrorIs(t, err, fault.ErrFailedPrecondition)
	require.False(t, publish.IsRetryable(err))
	require.Contains(t, err.Error(), "acme/missing")
	require.Equal(t, []string{"GET /repos/acme/missing 404"}, e.fake.Requests(), "one request, no retry")
	require.Empty(t, e.fx.branchSHA(t, pipeline.BranchFor(id)), "nothing pushed for a missing repository")
}

func TestGitHubBadToken(t *testing.T) {
	t.Parallel()
	e := newGH(t)
	e.cfg.Token = "ghp_expiredTokenAlsoSecret"
	e.fx.change(t, "v1")
	_, err := e.publisher(t).Publish(context.Background(), projectRepo, e.fx.request(uuid.New(), "body", "completed"))
	require.ErrorIs(t, err, publish.ErrUnauthorized)
	require.False(t, publish.IsRetryable(err))
	require.Contains(t, err.Error(), "expired")
	require.NotContains(t, err.Error(), "ghp_expiredTokenAlsoSecret")
	require.NotContains(t, e.logs.String(), "ghp_expiredTokenAlsoSecret")
	require.Equal(t, []string{"GET /repos/acme/widgets 401"}, e.fake.Requests())
}

func TestGitHubTransientFailuresAreRetried(t *testing.T) {
	t.Parallel()
	e := newGH(t)
	e.fake.Inject(publishtest.Fault{Method: "GET", Path: "/repos/acme/widgets", Kind: publishtest.Status, Status: http.StatusBadGateway, Message: "Server Error", Times: 2})
	e.fx.change(t, "v1")
	pub, err := e.publisher(t).Publish(context.Background(), projectRepo, e.fx.request(uuid.New(), "body", "completed"))
	require.NoError(t, err)
	require.Equal(t, 1, pub.Number)
	require.Equal(t, 2, e.countRequests("GET /repos/acme/widgets 502"))

	e.fake.Inject(publishtest.Fault{Method: "GET", Path: "/repos/acme/widgets", Kind: publishtest.Status, Status: http.StatusBadGateway, Message: "Server Error", Times: 10})
	e.cfg.MaxAttempts = 3
	_, err = e.publisher(t).Publish(context.Background(), projectRepo, e.fx.request(uuid.New(), "body", "completed"))
	require.ErrorIs(t, err, fault.ErrUnavailable, "gave up after MaxAttempts, retryable later")
	require.Equal(t, 2+3, e.countRequests("GET /repos/acme/widgets 502"))
}

// The crash window: the branch is pushed and the pull request created, but
// the answer never arrives (moosed dies, the connection drops). Publishing
// again, from a new process, must find that pull request.
func TestGitHubCrashBetweenCreateAndRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("second publish after a lost answer", func(t *testing.T) {
		t.Parallel()
		e := newGH(t)
		e.cfg.MaxAttempts = 1
		e.fake.Inject(publishtest.Fault{Method: "POST", Path: pullsPath, Kind: publishtest.ResetAfterHandling})
		id := uuid.New()
		e.fx.change(t, "v1")
		_, err := e.publisher(t).Publish(ctx, projectRepo, e.fx.request(id, "body", "completed"))
		require.Error(t, err)
		require.True(t, publish.IsRetryable(err), "a dropped connection is retryable: %v", err)
		require.Len(t, e.pulls(), 1, "GitHub did create it")
		require.NotEmpty(t, e.fx.branchSHA(t, pipeline.BranchFor(id)))

		pub, err := e.publisher(t).Publish(ctx, projectRepo, e.fx.request(id, "body", "completed"))
		require.NoError(t, err)
		require.Equal(t, 1, pub.Number)
		prs := e.pulls()
		require.Len(t, prs, 1, "exactly one pull request")
		require.Equal(t, []string{publish.LabelCompleted}, prs[0].Labels)
	})
	t.Run("within one publish", func(t *testing.T) {
		t.Parallel()
		e := newGH(t)
		e.fake.Inject(publishtest.Fault{Method: "POST", Path: pullsPath, Kind: publishtest.ResetAfterHandling})
		e.fx.change(t, "v1")
		pub, err := e.publisher(t).Publish(ctx, projectRepo, e.fx.request(uuid.New(), "body", "completed"))
		require.NoError(t, err)
		require.Equal(t, 1, pub.Number)
		require.Len(t, e.pulls(), 1)
	})
}

func TestGitHubTokenNeverShown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newGH(t)
	// A server that echoes the token back (GitHub does not, but a proxy might).
	e.fake.Inject(publishtest.Fault{Method: "GET", Path: "/repos/acme/widgets", Kind: publishtest.Status, Status: 500, Message: "boom for Bearer " + token, Times: 2})
	e.cfg.MaxAttempts = 2
	e.fx.change(t, "v1")
	_, err := e.publisher(t).Publish(ctx, projectRepo, e.fx.request(uuid.New(), "body", "completed"))
	require.Error(t, err)
	require.NotContains(t, err.Error(), token)
	require.Contains(t, err.Error(), "[REDACTED]", "the echoed message reached the error, redacted")
	require.Contains(t, e.logs.String(), "[REDACTED]", "the retry was logged, redacted")

	// A push that fails over https with the token in its extra header.
	e.cfg.PushURL = ""
	e.cfg.MaxAttempts = 1
	_, err = e.publisher(t).Publish(ctx, "https://127.0.0.1:1/acme/widgets", e.fx.request(uuid.New(), "body", "completed"))
	require.Error(t, err)
	require.Contains(t, err.Error(), "push")
	require.NotContains(t, err.Error(), token)

	// The configuration prints and marshals without it.
	e.cfg.Token = token
	require.NotContains(t, fmt.Sprintf("%v %+v %#v %s", e.cfg, e.cfg, e.cfg, e.cfg.Token), token)
	b, err := json.Marshal(e.cfg)
	require.NoError(t, err)
	require.NotContains(t, string(b), token)
	e.log.Info("config", "cfg", e.cfg, "token", e.cfg.Token)
	// newGH's cleanup checks the logs.
}

func TestNewGitHubNeedsToken(t *testing.T) {
	// Not parallel: it changes the environment.
	t.Setenv("GITHUB_TOKEN", "")
	_, err := publish.NewGitHub(publish.GitHubConfig{}, nil)
	require.ErrorIs(t, err, publish.ErrNoToken)

	t.Setenv("GITHUB_TOKEN", token)
	e := newGH(t)
	e.cfg.Token = ""
	e.fx.change(t, "v1")
	pub, err := e.publisher(t).Publish(context.Background(), projectRepo, e.fx.request(uuid.New(), "body", "completed"))
	require.NoError(t, err, "token from the environment")
	require.Equal(t, 1, pub.Number)
}

func TestParseRepo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want publish.Repo
		ok   bool
	}{
		{"https://github.com/acme/widgets", publish.Repo{Host: "github.com", Owner: "acme", Name: "widgets"}, true},
		{"https://github.com/acme/widgets.git", publish.Repo{Host: "github.com", Owner: "acme", Name: "widgets"}, true},
		{"https://GitHub.com/acme/widgets/", publish.Repo{Host: "github.com", Owner: "acme", Name: "widgets"}, true},
		{"https://user:pw@github.com/acme/my.repo.git", publish.Repo{Host: "github.com", Owner: "acme", Name: "my.repo"}, true},
		{"git@github.com:acme/widgets.git", publish.Repo{Host: "github.com", Owner: "acme", Name: "widgets"}, true},
		{"ssh://git@github.com/acme/widgets.git", publish.Repo{Host: "github.com", Owner: "acme", Name: "widgets"}, true},
		{"ssh://git@ghe.corp.example:2222/team/svc.git", publish.Repo{Host: "ghe.corp.example", Owner: "team", Name: "svc"}, true},
		{"https://ghe.corp.example:8443/team/svc", publish.Repo{Host: "ghe.corp.example:8443", Owner: "team", Name: "svc"}, true},
		{"git@ghe.corp.example:team/svc", publish.Repo{Host: "ghe.corp.example", Owner: "team", Name: "svc"}, true},
		{"/srv/git/widgets.git", publish.Repo{}, false},
		{"file:///srv/git/acme/widgets.git", publish.Repo{}, false},
		{"https://github.com/acme", publish.Repo{}, false},
		{"https://github.com/acme/widgets/tree/main", publish.Repo{}, false},
		{"https://github.com/acme/../widgets", publish.Repo{}, false},
		{"", publish.Repo{}, false},
	} {
		got, err := publish.ParseRepo(tc.in)
		if !tc.ok {
			require.ErrorIs(t, err, publish.ErrInvalidRepo, tc.in)
			require.NotContains(t, err.Error(), "pw@", tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
	r, _ := publish.ParseRepo("https://ghe.corp.example:8443/team/svc")
	require.Equal(t, "https://ghe.corp.example:8443/team/svc.git", r.HTTPSURL())
	require.Equal(t, "ghe.corp.example", r.Hostname())
}

func TestRouterChoosesPublisher(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newGH(t)

	r, err := publish.NewRouter(publish.Config{GitHub: e.cfg}, e.log)
	require.NoError(t, err)
	_, isGH := r.Publisher(projectRepo).(*publish.GitHub)
	require.True(t, isGH)
	_, isGH = r.Publisher("https://127.0.0.1:9/acme/widgets").(*publish.GitHub)
	require.True(t, isGH, "the Enterprise host of BaseURL gets pull requests")
	_, isGit := r.Publisher("https://gitlab.com/acme/widgets").(*publish.Git)
	require.True(t, isGit)
	_, isGit = r.Publisher(e.fx.bare).(*publish.Git)
	require.True(t, isGit)

	e.fx.change(t, "v1")
	id := uuid.New()
	pub, err := r.Publish(ctx, projectRepo, e.fx.request(id, "body", "completed"))
	require.NoError(t, err)
	require.Equal(t, 1, pub.Number)
	require.NoError(t, r.Close(ctx, projectRepo, id))
	require.Equal(t, "closed", e.pulls()[0].State)

	// A plain repository: a branch, no pull request.
	id2 := uuid.New()
	pub, err = r.Publish(ctx, e.fx.bare, e.fx.request(id2, "body", "completed"))
	require.NoError(t, err)
	require.Zero(t, pub.Number)
	require.Equal(t, e.fx.bare+"#"+pipeline.BranchFor(id2), pub.URL)
	require.NoError(t, r.Close(ctx, e.fx.bare, id2))
	require.Len(t, e.pulls(), 1)
}

func TestRouterWithoutTokenPushesToRemote(t *testing.T) {
	t.Parallel()
	if tokenInEnv() {
		t.Skip("GITHUB_TOKEN is set in the environment")
	}
	fx := newFixture(t)
	r, err := publish.NewRouter(publish.Config{Remote: fx.bare}, nil)
	require.NoError(t, err)
	_, isGit := r.Publisher(projectRepo).(*publish.Git)
	require.True(t, isGit)
	fx.change(t, "v1")
	id := uuid.New()
	pub, err := r.Publish(context.Background(), projectRepo, fx.request(id, "body", "needs_review"))
	require.NoError(t, err)
	require.Equal(t, fx.bare+"#"+pipeline.BranchFor(id), pub.URL)
	require.NotEmpty(t, fx.branchSHA(t, pipeline.BranchFor(id)))
}

func tokenInEnv() bool {
	return slices.ContainsFunc([]string{"GITHUB_TOKEN"}, func(k string) bool { v, ok := lookupEnv(k); return ok && v != "" })
}
