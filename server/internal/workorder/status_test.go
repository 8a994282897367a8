package workorder_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/workorder"
)

func TestNextCoversWholeStateMachine(t *testing.T) {
	t.Parallel()
	P, A, I := workorder.StatusPending, workorder.StatusApproved, workorder.StatusInProgress
	C, R, F, X := workorder.StatusCompleted, workorder.StatusNeedsReview, workorder.StatusFailed, workorder.StatusCancelled
	legal := map[workorder.Op]map[workorder.Status]workorder.Status{
		workorder.OpApprove:  {P: A},
		workorder.OpStart:    {A: I},
		workorder.OpComplete: {I: C},
		workorder.OpReview:   {I: R},
		workorder.OpFail:     {I: F, A: F},
		workorder.OpCancel:   {P: X, A: X, I: X, R: X},
		workorder.OpRetry:    {F: A, R: A},
	}
	for op, from := range legal {
		for _, cur := range workorder.Statuses {
			next, err := workorder.Next(cur, op)
			if want, ok := from[cur]; ok {
				require.NoError(t, err, "%s from %s", op, cur)
				require.Equal(t, want, next, "%s from %s", op, cur)
				continue
			}
			require.Error(t, err, "%s from %s must be refused", op, cur)
			require.True(t, errors.Is(err, fault.ErrFailedPrecondition))
			require.Contains(t, err.Error(), string(cur), "error names the current state")
		}
	}
}

func TestTerminalStates(t *testing.T) {
	t.Parallel()
	for _, s := range workorder.Statuses {
		want := s == workorder.StatusCompleted || s == workorder.StatusNeedsReview || s == workorder.StatusFailed || s == workorder.StatusCancelled
		require.Equal(t, want, s.Terminal(), string(s))
	}
}

func TestParseStatus(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]workorder.Status{
		"pending": workorder.StatusPending, "NEEDS_REVIEW": workorder.StatusNeedsReview,
		"WORK_ORDER_STATUS_IN_PROGRESS": workorder.StatusInProgress, " cancelled ": workorder.StatusCancelled,
	} {
		got, err := workorder.ParseStatus(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	_, err := workorder.ParseStatus("done")
	require.Error(t, err)
}
