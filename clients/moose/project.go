package moose

import (
	"context"
	"fmt"
	"iter"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

// Page asks for one page of a list. The zero value asks for the first page
// with the server's default size.
type Page struct {
	// Size is the maximum number of items; 0 lets the server choose.
	Size int32
	// Token is the NextPageToken of the previous page; empty for the first.
	Token string
}

// CreateProject registers a project and returns it as stored.
func (c *Client) CreateProject(ctx context.Context, req *moosev1.CreateProjectRequest) (*moosev1.Project, error) {
	resp, err := c.projects.CreateProject(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("create project %q: %w", req.GetName(), err)
	}
	return resp.GetProject(), nil
}

// ListProjects returns one page of projects in creation order and the token
// of the next page ("" on the last page).
func (c *Client) ListProjects(ctx context.Context, page Page) ([]*moosev1.Project, string, error) {
	resp, err := c.projects.ListProjects(ctx, &moosev1.ListProjectsRequest{PageSize: page.Size, PageToken: page.Token})
	if err != nil {
		return nil, "", fmt.Errorf("list projects: %w", err)
	}
	return resp.GetProjects(), resp.GetNextPageToken(), nil
}

// AllProjects iterates over every project, fetching pages of pageSize (0:
// server default) as the loop advances. An error ends the iteration after
// being yielded once.
func (c *Client) AllProjects(ctx context.Context, pageSize int32) iter.Seq2[*moosev1.Project, error] {
	return paginate(func(token string) ([]*moosev1.Project, string, error) {
		return c.ListProjects(ctx, Page{Size: pageSize, Token: token})
	})
}

// GetProject returns one project.
func (c *Client) GetProject(ctx context.Context, id string) (*moosev1.Project, error) {
	resp, err := c.projects.GetProject(ctx, &moosev1.GetProjectRequest{Id: id})
	if err != nil {
		return nil, fmt.Errorf("get project %s: %w", id, err)
	}
	return resp.GetProject(), nil
}

// paginate turns a page fetcher into an iterator. It stops when the server
// returns an empty token, and also if the server repeats a token, so a buggy
// server cannot make a client loop forever.
func paginate[T any](fetch func(token string) ([]T, string, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		token := ""
		seen := map[string]bool{}
		for {
			items, next, err := fetch(token)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			if seen[next] {
				var zero T
				yield(zero, fmt.Errorf("server repeated page token %q: %w", next, ErrPagingLoop))
				return
			}
			seen[next] = true
			token = next
		}
	}
}
