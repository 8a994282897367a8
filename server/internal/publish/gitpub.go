package publish

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/moosehq/moose/server/internal/pipeline"
)

// GitConfig configures a Git publisher.
type GitConfig struct {
	// Remote is where branches are pushed: a URL or a local path git can push
	// to. Empty means the project's own repository URL.
	Remote string
	// Author signs the commits (default Moose <moose@localhost>).
	Author Signature
}

// Git publishes a work order's change as a branch on a plain git remote. There
// is no pull request: Published.Number is 0 and URL is "<remote>#<branch>".
type Git struct {
	cfg GitConfig
	log *slog.Logger
}

// NewGit returns a Git publisher. A nil logger discards.
func NewGit(cfg GitConfig, log *slog.Logger) *Git {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Author = cfg.Author.orDefault()
	return &Git{cfg: cfg, log: log}
}

// Publish commits the worktree's change onto req.BaseCommit and force-pushes
// it to refs/heads/<req.Branch> of the remote. Publishing the same work order
// again moves the branch to the new commit.
func (g *Git) Publish(ctx context.Context, projectRepo string, req pipeline.PublishRequest) (pipeline.Published, error) {
	if err := validateRequest(req); err != nil {
		return pipeline.Published{}, err
	}
	remote := g.remote(projectRepo)
	if remote == "" {
		return pipeline.Published{}, fmt.Errorf("publish %s: no remote and no project repository: %w", req.Branch, ErrRepositoryNotFound)
	}
	commit, err := commitChanges(ctx, req, g.cfg.Author)
	if err != nil {
		return pipeline.Published{}, fmt.Errorf("publish %s: %w", req.Branch, err)
	}
	if err := push(ctx, req.Dir, remote, commit, req.Branch, nil); err != nil {
		return pipeline.Published{}, fmt.Errorf("publish %s to %s: %w", req.Branch, displayURL(remote), err)
	}
	loc := displayURL(remote) + "#" + req.Branch
	g.log.Info("branch published", "work_order", req.WorkOrderID, "remote", displayURL(remote), "branch", req.Branch, "commit", commit)
	return pipeline.Published{URL: loc, Branch: req.Branch}, nil
}

// Close does nothing: a plain remote has no pull request to close, and the
// branch is kept so a cancelled work order's change can still be looked at
// (a retry force-updates it).
func (g *Git) Close(ctx context.Context, projectRepo string, workOrderID uuid.UUID) error {
	return nil
}

func (g *Git) remote(projectRepo string) string {
	if g.cfg.Remote != "" {
		return g.cfg.Remote
	}
	return projectRepo
}

// displayURL drops credentials a remote URL may carry (https://user:pw@host/...).
func displayURL(remote string) string {
	if !strings.Contains(remote, "://") {
		return remote
	}
	u, err := url.Parse(remote)
	if err != nil {
		return "[unparsable remote URL]"
	}
	if u.User != nil {
		u.User = nil
	}
	return u.String()
}
