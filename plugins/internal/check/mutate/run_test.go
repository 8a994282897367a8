package mutate

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func mutants(n int) []Mutant {
	var ms []Mutant
	for i := range n {
		ms = append(ms, Mutant{File: "a.go", Line: i + 1, Func: fmt.Sprintf("F%d", i), Kind: "negate"})
	}
	return ms
}

func TestRunWorkersKeepTheOrderAndOverlap(t *testing.T) {
	ms := mutants(6)
	var running, most atomic.Int32
	res, err := Run(context.Background(), ms, Budget{Workers: 3, Time: time.Minute}, func(ctx context.Context, m Mutant, _ time.Time) (Outcome, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			old := most.Load()
			if n <= old || most.CompareAndSwap(old, n) {
				break
			}
		}
		// The later mutants finish first.
		time.Sleep(time.Duration(7-m.Line) * 15 * time.Millisecond)
		if m.Line%2 == 0 {
			return Killed, nil
		}
		return Survived, nil
	})
	require.NoError(t, err)
	require.False(t, res.Exhausted)
	require.Len(t, res.Tried, 6)
	for i, tr := range res.Tried {
		require.Equal(t, i+1, tr.Mutant.Line, "Tried keeps Select's order")
		require.Equal(t, map[bool]Outcome{true: Killed, false: Survived}[tr.Mutant.Line%2 == 0], tr.Outcome)
	}
	require.Greater(t, most.Load(), int32(1), "several mutants ran at once")
	require.LessOrEqual(t, most.Load(), int32(3))
}

func TestRunStopsAtTheBudgetAndOnError(t *testing.T) {
	// The time budget: no mutant starts after it, and the run says so.
	res, err := Run(context.Background(), mutants(5), Budget{Workers: 2, Time: 30 * time.Millisecond}, func(ctx context.Context, m Mutant, _ time.Time) (Outcome, error) {
		time.Sleep(40 * time.Millisecond)
		return Killed, nil
	})
	require.NoError(t, err)
	require.True(t, res.Exhausted)
	require.Len(t, res.Tried, 2, "the two running when the budget ended finish; no other starts")

	// One worker, an error at the third: the first two are reported with it.
	boom := errors.New("sandbox gone")
	res, err = Run(context.Background(), mutants(5), Budget{}, func(ctx context.Context, m Mutant, _ time.Time) (Outcome, error) {
		if m.Line == 3 {
			return 0, boom
		}
		return Killed, nil
	})
	require.ErrorIs(t, err, boom)
	require.Len(t, res.Tried, 2)
}
