package publish

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"

	"github.com/google/uuid"

	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/pipeline"
)

// Config chooses and configures publishers.
type Config struct {
	// GitHub configures pull requests for repositories on GitHub hosts. Its
	// Token (or $GITHUB_TOKEN) turns GitHub publishing on.
	GitHub GitHubConfig
	// GitHubHosts are extra hosts (besides github.com and the host of
	// GitHub.BaseURL) whose repositories get pull requests.
	GitHubHosts []string
	// Remote, if set, receives the branches of every project that does not get
	// a pull request (the demo's local bare repository); empty means each
	// project's own repository URL.
	Remote string
	// Author signs the commits of the git publisher (GitHub.Author signs the
	// GitHub publisher's); default Moose <moose@localhost>.
	Author Signature
}

// Router picks a publisher per project: GitHub pull requests for repositories
// on a GitHub host when a token is configured, otherwise a plain git push to
// Config.Remote or the project's own repository URL.
type Router struct {
	gh    *GitHub // nil without a token
	git   *Git
	hosts map[string]bool
}

// NewRouter builds the publishers cfg asks for. A missing token is not an
// error: GitHub projects then get a plain push.
func NewRouter(cfg Config, log *slog.Logger) (*Router, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Router{
		git:   NewGit(GitConfig{Remote: cfg.Remote, Author: cfg.Author}, log),
		hosts: map[string]bool{"github.com": true},
	}
	for _, h := range cfg.GitHubHosts {
		r.hosts[strings.ToLower(h)] = true
	}
	if cfg.GitHub.Token != "" || os.Getenv("GITHUB_TOKEN") != "" {
		gh, err := NewGitHub(cfg.GitHub, log)
		if err != nil {
			return nil, err
		}
		r.gh = gh
		r.hosts[strings.TrimPrefix(strings.ToLower(gh.APIHost()), "api.")] = true
	}
	return r, nil
}

// Publisher is what the router chose for projectRepo: a *GitHub or a *Git.
func (r *Router) Publisher(projectRepo string) interface {
	pipeline.Publisher
	Close(ctx context.Context, projectRepo string, workOrderID uuid.UUID) error
} {
	if r.gh != nil {
		if repo, err := ParseRepo(projectRepo); err == nil && r.hosts[repo.Hostname()] {
			return r.gh
		}
	}
	return r.git
}

// Publish publishes with the publisher chosen for projectRepo.
func (r *Router) Publish(ctx context.Context, projectRepo string, req pipeline.PublishRequest) (pipeline.Published, error) {
	return r.Publisher(projectRepo).Publish(ctx, projectRepo, req)
}

// Close closes the work order's pull request, if projectRepo gets pull requests.
func (r *Router) Close(ctx context.Context, projectRepo string, workOrderID uuid.UUID) error {
	return r.Publisher(projectRepo).Close(ctx, projectRepo, workOrderID)
}

var _ pipeline.Publisher = (*Router)(nil)
var _ pipeline.Publisher = (*GitHub)(nil)
var _ pipeline.Publisher = (*Git)(nil)

// IsRetryable reports whether publishing again later may succeed.
func IsRetryable(err error) bool {
	var rl *RateLimitError
	return errors.As(err, &rl) || errors.Is(err, fault.ErrUnavailable)
}
