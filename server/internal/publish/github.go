package publish

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v66/github"
	"github.com/google/uuid"

	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/pipeline"
)

// Labels a published pull request carries, one per outcome.
const (
	LabelCompleted   = "moose:completed"
	LabelNeedsReview = "moose:needs-review"
)

// basicUser is the user name GitHub expects with a token in basic auth.
const basicUser = "x-access-token"

// GitHubConfig configures a GitHub publisher.
type GitHubConfig struct {
	// Token authenticates API calls and pushes. Empty means $GITHUB_TOKEN. It
	// is held in memory only and never logged or put into an error.
	Token Secret
	// BaseURL is the API root for GitHub Enterprise Server
	// (https://ghe.example.com/api/v3/; /api/v3/ is added when missing).
	// Empty means api.github.com.
	BaseURL string
	// BaseBranch is the branch pull requests target; empty means the
	// repository's default branch.
	BaseBranch string
	// PushURL, if set, is pushed to instead of https://<host>/<owner>/<repo>.git
	// (a mirror; tests point it at a local bare repository). The token is only
	// ever sent to the repository's own host.
	PushURL string
	// Author signs the commits (default Moose <moose@localhost>).
	Author Signature
	// MaxAttempts bounds tries of one publish or close against transient
	// failures and rate limits (default 5).
	MaxAttempts int
	// MaxWait is the longest rate-limit wait inside one call (default 2m);
	// a longer one returns a *RateLimitError for the caller to reschedule.
	MaxWait time.Duration
	// Backoff is the first wait after a transient failure, doubled each try
	// (default 1s).
	Backoff time.Duration
	// HTTPClient carries API requests (default a client with a 30s timeout).
	HTTPClient *http.Client
}

// GitHub publishes a work order as a branch and a pull request on GitHub or
// GitHub Enterprise Server.
type GitHub struct {
	cfg     GitHubConfig
	client  *github.Client
	token   string
	apiHost string // host:port requests go to
	red     *redactor
	log     *slog.Logger
}

// NewGitHub returns a GitHub publisher. It fails with ErrNoToken when neither
// the configuration nor the environment has a token. A nil logger discards.
func NewGitHub(cfg GitHubConfig, log *slog.Logger) (*GitHub, error) {
	token := cfg.Token.Reveal()
	if token == "" {
		token = os.Getenv("GITHUB_TOKEN")
	}
	if token == "" {
		return nil, ErrNoToken
	}
	cfg.Token = "" // the publisher keeps its own copy; cfg may be shown
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 2 * time.Minute
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	cfg.Author = cfg.Author.orDefault()
	hc := &http.Client{Timeout: 30 * time.Second}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		hc = &c
	}
	newClient := func(hc *http.Client) (*github.Client, error) {
		c := github.NewClient(hc)
		if cfg.BaseURL == "" {
			return c, nil
		}
		c, err := c.WithEnterpriseURLs(cfg.BaseURL, cfg.BaseURL)
		if err != nil {
			return nil, fmt.Errorf("github base URL %q: %w", cfg.BaseURL, err)
		}
		return c, nil
	}
	probe, err := newClient(&http.Client{})
	if err != nil {
		return nil, err
	}
	// Authenticate only requests to the API host, so a redirect elsewhere
	// never carries the token.
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = &tokenTransport{host: probe.BaseURL.Host, token: token, base: base}
	client, err := newClient(hc)
	if err != nil {
		return nil, err
	}
	return &GitHub{cfg: cfg, client: client, token: token, apiHost: client.BaseURL.Host, red: newRedactor(token), log: log}, nil
}

type tokenTransport struct {
	host, token string
	base        http.RoundTripper
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == t.host {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	return t.base.RoundTrip(req)
}

// APIHost is the host name API requests go to (api.github.com or the
// Enterprise host), without a port.
func (g *GitHub) APIHost() string { return g.client.BaseURL.Hostname() }

// Publish commits the worktree's change onto req.BaseCommit, force-pushes it
// to req.Branch and makes sure exactly one open pull request shows it: the
// existing one (edited, reopened if closed) or a new one.
func (g *GitHub) Publish(ctx context.Context, projectRepo string, req pipeline.PublishRequest) (pipeline.Published, error) {
	pub, err := g.publish(ctx, projectRepo, req)
	if err != nil {
		return pipeline.Published{}, g.red.err(fmt.Errorf("publish %s to %s: %w", req.Branch, displayURL(projectRepo), err))
	}
	return pub, nil
}

func (g *GitHub) publish(ctx context.Context, projectRepo string, req pipeline.PublishRequest) (pipeline.Published, error) {
	if err := validateRequest(req); err != nil {
		return pipeline.Published{}, err
	}
	repo, err := ParseRepo(projectRepo)
	if err != nil {
		return pipeline.Published{}, err
	}
	commit, err := commitChanges(ctx, req, g.cfg.Author)
	if err != nil {
		return pipeline.Published{}, err
	}
	var pub pipeline.Published
	err = g.retry(ctx, "publish", func() error {
		var err error
		pub, err = g.publishOnce(ctx, repo, req, commit)
		return err
	})
	return pub, err
}

func (g *GitHub) publishOnce(ctx context.Context, repo Repo, req pipeline.PublishRequest, commit string) (pipeline.Published, error) {
	base := g.cfg.BaseBranch
	r, _, err := g.client.Repositories.Get(ctx, repo.Owner, repo.Name)
	if err != nil {
		return pipeline.Published{}, g.repoErr(repo, err)
	}
	if base == "" {
		base = r.GetDefaultBranch()
	}
	pr, err := g.find(ctx, repo, req.Branch)
	if err != nil {
		return pipeline.Published{}, err
	}
	if pr != nil && pr.GetState() == "closed" {
		// Reopen before the force-push: GitHub refuses to reopen a pull request
		// whose branch moved while it was closed.
		reopened, _, err := g.client.PullRequests.Edit(ctx, repo.Owner, repo.Name, pr.GetNumber(), &github.PullRequest{State: github.String("open")})
		switch {
		case statusOf(err) == http.StatusUnprocessableEntity:
			g.log.Warn("pull request cannot be reopened, opening a new one", "repo", repo.String(), "number", pr.GetNumber(), "err", g.red.text(err.Error()))
			pr = nil
		case err != nil:
			return pipeline.Published{}, fmt.Errorf("reopen pull request #%d: %w", pr.GetNumber(), err)
		default:
			g.log.Info("pull request reopened", "repo", repo.String(), "number", pr.GetNumber(), "work_order", req.WorkOrderID)
			pr = reopened
		}
	}
	if err := g.push(ctx, repo, req, commit); err != nil {
		return pipeline.Published{}, err
	}
	if pr == nil {
		if pr, err = g.create(ctx, repo, base, req); err != nil {
			return pipeline.Published{}, err
		}
	}
	if pr.GetTitle() != req.Title || pr.GetBody() != req.Body {
		edited, _, err := g.client.PullRequests.Edit(ctx, repo.Owner, repo.Name, pr.GetNumber(), &github.PullRequest{Title: github.String(req.Title), Body: github.String(req.Body)})
		if err != nil {
			return pipeline.Published{}, fmt.Errorf("update pull request #%d: %w", pr.GetNumber(), err)
		}
		pr = edited
		g.log.Info("pull request updated", "repo", repo.String(), "number", pr.GetNumber(), "work_order", req.WorkOrderID)
	}
	if err := g.label(ctx, repo, pr, req.Outcome); err != nil {
		return pipeline.Published{}, err
	}
	return pipeline.Published{URL: pr.GetHTMLURL(), Number: pr.GetNumber(), Branch: req.Branch}, nil
}

func (g *GitHub) push(ctx context.Context, repo Repo, req pipeline.PublishRequest, commit string) error {
	target := repo.HTTPSURL()
	if g.cfg.PushURL != "" {
		target = g.cfg.PushURL
	}
	header := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(basicUser+":"+g.token))
	env := configEnv(
		[2]string{"http.https://" + repo.Host + "/.extraheader", header},
		// No helper may answer for (or store) credentials for this push.
		[2]string{"credential.helper", ""},
	)
	if err := push(ctx, req.Dir, target, commit, req.Branch, env); err != nil {
		return fmt.Errorf("push to %s: %w", displayURL(target), g.red.err(err))
	}
	g.log.Info("branch pushed", "repo", repo.String(), "branch", req.Branch, "commit", commit, "work_order", req.WorkOrderID)
	return nil
}

// find returns the work order's pull request: the newest open one, else the
// newest closed one that was not merged (to reopen), else nil.
func (g *GitHub) find(ctx context.Context, repo Repo, branch string) (*github.PullRequest, error) {
	prs, err := g.list(ctx, repo, branch)
	if err != nil {
		return nil, err
	}
	var open, closed *github.PullRequest
	for _, p := range prs {
		switch {
		case p.GetState() == "open":
			if open == nil || p.GetNumber() > open.GetNumber() {
				open = p
			}
		case p.MergedAt == nil && !p.GetMerged():
			if closed == nil || p.GetNumber() > closed.GetNumber() {
				closed = p
			}
		}
	}
	if open != nil {
		return open, nil
	}
	return closed, nil
}

func (g *GitHub) list(ctx context.Context, repo Repo, branch string) ([]*github.PullRequest, error) {
	opts := &github.PullRequestListOptions{State: "all", Head: repo.Owner + ":" + branch, ListOptions: github.ListOptions{PerPage: 100}}
	var all []*github.PullRequest
	for {
		prs, resp, err := g.client.PullRequests.List(ctx, repo.Owner, repo.Name, opts)
		if err != nil {
			return nil, fmt.Errorf("list pull requests: %w", g.repoErr(repo, err))
		}
		all = append(all, prs...)
		if resp.NextPage == 0 {
			return all, nil
		}
		opts.Page = resp.NextPage
	}
}

func (g *GitHub) create(ctx context.Context, repo Repo, base string, req pipeline.PublishRequest) (*github.PullRequest, error) {
	pr, _, err := g.client.PullRequests.Create(ctx, repo.Owner, repo.Name, &github.NewPullRequest{
		Title: github.String(req.Title), Head: github.String(req.Branch), Base: github.String(base),
		Body: github.String(req.Body), MaintainerCanModify: github.Bool(true),
	})
	if err == nil {
		g.log.Info("pull request created", "repo", repo.String(), "number", pr.GetNumber(), "url", pr.GetHTMLURL(), "work_order", req.WorkOrderID)
		return pr, nil
	}
	msg := validationText(err)
	switch {
	case strings.Contains(msg, "a pull request already exists"):
		// Someone (an earlier attempt whose answer was lost, or GitHub's list
		// lagging behind its writes) opened it already: adopt it.
		existing, ferr := g.find(ctx, repo, req.Branch)
		if ferr != nil {
			return nil, ferr
		}
		if existing == nil || existing.GetState() != "open" {
			return nil, unavailable(fmt.Errorf("pull request for %s exists but is not listed yet: %w", req.Branch, err))
		}
		g.log.Info("pull request already exists, updating it", "repo", repo.String(), "number", existing.GetNumber(), "work_order", req.WorkOrderID)
		return existing, nil
	case strings.Contains(msg, "no commits between"):
		return nil, fmt.Errorf("%s has nothing %s lacks: %w", req.Branch, base, ErrNoChanges)
	}
	return nil, fmt.Errorf("create pull request: %w", err)
}

func (g *GitHub) label(ctx context.Context, repo Repo, pr *github.PullRequest, outcome string) error {
	var want, drop string
	switch outcome {
	case "completed":
		want, drop = LabelCompleted, LabelNeedsReview
	case "needs_review":
		want, drop = LabelNeedsReview, LabelCompleted
	default:
		return nil
	}
	has := map[string]bool{}
	for _, l := range pr.Labels {
		has[l.GetName()] = true
	}
	if !has[want] {
		if _, _, err := g.client.Issues.AddLabelsToIssue(ctx, repo.Owner, repo.Name, pr.GetNumber(), []string{want}); err != nil {
			return fmt.Errorf("label pull request #%d: %w", pr.GetNumber(), err)
		}
	}
	if has[drop] {
		if _, err := g.client.Issues.RemoveLabelForIssue(ctx, repo.Owner, repo.Name, pr.GetNumber(), drop); err != nil && statusOf(err) != http.StatusNotFound {
			return fmt.Errorf("unlabel pull request #%d: %w", pr.GetNumber(), err)
		}
	}
	return nil
}

// Close closes the work order's open pull request (a cancelled work order).
// Without one it does nothing. Publishing the work order again reopens it.
func (g *GitHub) Close(ctx context.Context, projectRepo string, workOrderID uuid.UUID) error {
	repo, err := ParseRepo(projectRepo)
	if err != nil {
		return err
	}
	branch := pipeline.BranchFor(workOrderID)
	err = g.retry(ctx, "close", func() error {
		prs, err := g.list(ctx, repo, branch)
		if err != nil {
			return err
		}
		for _, p := range prs {
			if p.GetState() != "open" {
				continue
			}
			if _, _, err := g.client.PullRequests.Edit(ctx, repo.Owner, repo.Name, p.GetNumber(), &github.PullRequest{State: github.String("closed")}); err != nil {
				return fmt.Errorf("close pull request #%d: %w", p.GetNumber(), err)
			}
			g.log.Info("pull request closed", "repo", repo.String(), "number", p.GetNumber(), "work_order", workOrderID)
		}
		return nil
	})
	if err != nil {
		return g.red.err(fmt.Errorf("close pull request of %s in %s: %w", branch, repo, err))
	}
	return nil
}

// repoErr names a 404 on a repository endpoint for what it is.
func (g *GitHub) repoErr(repo Repo, err error) error {
	if statusOf(err) == http.StatusNotFound {
		return fmt.Errorf("%s on %s (or the token cannot see it): %w", repo, repo.Host, ErrRepositoryNotFound)
	}
	return err
}

// retry runs fn until it succeeds, fails permanently, runs out of attempts or
// would have to wait longer than MaxWait or than ctx allows. Every try starts
// from a fresh look at GitHub's state, so repeating one is safe.
func (g *GitHub) retry(ctx context.Context, op string, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		v := g.classify(err, attempt)
		if !v.retry {
			return v.err
		}
		if attempt >= g.cfg.MaxAttempts || v.wait > g.cfg.MaxWait {
			return v.err
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < v.wait {
			return v.err
		}
		g.log.Warn("github call failed, retrying", "op", op, "attempt", attempt, "wait", v.wait, "err", g.red.text(v.err.Error()))
		t := time.NewTimer(v.wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (while waiting after: %w)", ctx.Err(), v.err)
		case <-t.C:
		}
	}
}

type verdict struct {
	retry bool
	wait  time.Duration
	err   error
}

// defaultSecondaryWait is GitHub's advice when a secondary rate limit comes
// without Retry-After: wait at least a minute.
const defaultSecondaryWait = time.Minute

func (g *GitHub) classify(err error, attempt int) verdict {
	backoff := g.cfg.Backoff << min(attempt-1, 10)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return verdict{err: err}
	}
	if errors.Is(err, fault.ErrFailedPrecondition) {
		return verdict{err: err}
	}
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		return g.rateLimited(err, false, rl.Rate.Reset.Time, nil)
	}
	var ab *github.AbuseRateLimitError
	if errors.As(err, &ab) {
		return g.rateLimited(err, true, time.Time{}, ab.RetryAfter)
	}
	var ae *github.AcceptedError
	if errors.As(err, &ae) {
		return verdict{retry: true, wait: backoff, err: unavailable(err)}
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		h := er.Response.Header
		switch code := er.Response.StatusCode; {
		case (code == http.StatusTooManyRequests || code == http.StatusForbidden) && h.Get("Retry-After") != "":
			secs, _ := strconv.Atoi(h.Get("Retry-After"))
			d := time.Duration(secs) * time.Second
			return g.rateLimited(err, true, time.Time{}, &d)
		case (code == http.StatusTooManyRequests || code == http.StatusForbidden) && h.Get("X-RateLimit-Remaining") == "0":
			reset, _ := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
			return g.rateLimited(err, false, time.Unix(reset, 0), nil)
		case code == http.StatusTooManyRequests:
			d := defaultSecondaryWait
			return g.rateLimited(err, true, time.Time{}, &d)
		case code == http.StatusUnauthorized:
			return verdict{err: fmt.Errorf("github rejected the token (bad, expired or revoked): %w: %w", ErrUnauthorized, err)}
		case code == http.StatusForbidden:
			return verdict{err: fmt.Errorf("%w: %w", ErrForbidden, err)}
		case code == http.StatusUnprocessableEntity:
			return verdict{err: fmt.Errorf("%w: %w", ErrRejected, err)}
		case code >= 500:
			return verdict{retry: true, wait: backoff, err: unavailable(err)}
		default:
			return verdict{err: fmt.Errorf("%w: %w", fault.ErrFailedPrecondition, err)}
		}
	}
	// Not an answer from GitHub: a dropped connection, a timeout, a push that
	// failed for a transient reason. Retrying can help.
	return verdict{retry: true, wait: backoff, err: unavailable(err)}
}

func (g *GitHub) rateLimited(err error, secondary bool, reset time.Time, retryAfter *time.Duration) verdict {
	var wait time.Duration
	switch {
	case retryAfter != nil:
		wait = *retryAfter
	case secondary:
		wait = defaultSecondaryWait
	case !reset.IsZero():
		// Reset has one-second resolution and clocks differ a little.
		wait = time.Until(reset) + time.Second
	default:
		wait = defaultSecondaryWait
	}
	wait = max(wait, 0)
	rle := &RateLimitError{Secondary: secondary, Until: time.Now().Add(wait)}
	g.log.Warn("github rate limit", "secondary", secondary, "wait", wait)
	return verdict{retry: true, wait: wait, err: fmt.Errorf("%w: %w", rle, err)}
}

// statusOf is the HTTP status of a GitHub API error, 0 for anything else.
func statusOf(err error) int {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// validationText is a 422's message and its errors' messages, lower case.
func validationText(err error) string {
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusUnprocessableEntity {
		return ""
	}
	parts := []string{er.Message}
	for _, e := range er.Errors {
		parts = append(parts, e.Message)
	}
	return strings.ToLower(strings.Join(parts, "\n"))
}
