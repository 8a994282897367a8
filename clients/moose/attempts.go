package moose

import (
	"context"
	"fmt"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

// ListWorkOrderAttempts returns every stored proposal cycle of a work order,
// oldest first: the raw proposal, its findings, validator reports, cost and
// score, fetching page after page. Raw proposals over 64 KiB keep their head
// and tail and logs their last 8 KiB (each marked truncated); full returns
// them whole. A work order that has not run yet has none.
func (c *Client) ListWorkOrderAttempts(ctx context.Context, id string, full bool) ([]*moosev1.Attempt, error) {
	var all []*moosev1.Attempt
	page := Page{}
	for {
		as, next, err := c.ListWorkOrderAttemptsPage(ctx, id, page, full)
		if err != nil {
			return nil, err
		}
		all = append(all, as...)
		if next == "" {
			return all, nil
		}
		page.Token = next
	}
}

// ListWorkOrderAttemptsPage returns one page of a work order's attempts and
// the token of the next ("" after the last). A page holds at most page.Size
// attempts (server default 10) and ends early once it holds about 4 MiB.
func (c *Client) ListWorkOrderAttemptsPage(ctx context.Context, id string, page Page, full bool) ([]*moosev1.Attempt, string, error) {
	resp, err := c.workOrders.ListWorkOrderAttempts(ctx, &moosev1.ListWorkOrderAttemptsRequest{Id: id, PageSize: page.Size, PageToken: page.Token, Full: full})
	if err != nil {
		return nil, "", fmt.Errorf("list attempts of work order %s: %w", id, err)
	}
	return resp.GetAttempts(), resp.GetNextPageToken(), nil
}
