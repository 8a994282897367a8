package moose

import (
	"context"
	"fmt"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

// ListWorkOrderAttempts returns every stored proposal cycle of a work order,
// oldest first: the raw proposal, its findings, validator reports, cost and
// score. A work order that has not run yet has none.
func (c *Client) ListWorkOrderAttempts(ctx context.Context, id string) ([]*moosev1.Attempt, error) {
	resp, err := c.workOrders.ListWorkOrderAttempts(ctx, &moosev1.ListWorkOrderAttemptsRequest{Id: id})
	if err != nil {
		return nil, fmt.Errorf("list attempts of work order %s: %w", id, err)
	}
	return resp.GetAttempts(), nil
}
