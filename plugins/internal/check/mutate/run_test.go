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

// TestRunStretchesTheTimeToThePace: a slower machine (a slower passing run)
// gets the time the same mutants need, so the verdict does not depend on the
// load; the stretch stops at MaxStretch × Time.
func TestRunStretchesTheTimeToThePace(t *testing.T) {
	b := Budget{Time: 100 * time.Millisecond, Workers: 2}
	require.Equal(t, 100*time.Millisecond, b.window(6), "no pace: Time")
	b.Pace = 10 * time.Millisecond
	require.Equal(t, 100*time.Millisecond, b.window(6), "fast runs fit in Time")
	b.Pace = 50 * time.Millisecond
	require.Equal(t, 150*time.Millisecond, b.window(6), "3 rounds of 2 at 50 ms")
	require.Equal(t, 150*time.Millisecond, b.window(5), "a half round counts whole")
	b.Pace = time.Second
	require.Equal(t, 400*time.Millisecond, b.window(6), "at most 4 × Time")

	// The same 4 mutants at a 40 ms pace: without the pace the 50 ms budget
	// cuts the run after 2; with it, all 4 run.
	slow := func(ctx context.Context, m Mutant, _ time.Time) (Outcome, error) {
		time.Sleep(40 * time.Millisecond)
		return Killed, nil
	}
	res, err := Run(context.Background(), mutants(4), Budget{Workers: 1, Time: 50 * time.Millisecond}, slow)
	require.NoError(t, err)
	require.True(t, res.Exhausted)
	require.Len(t, res.Tried, 2)
	res, err = Run(context.Background(), mutants(4), Budget{Workers: 1, Time: 50 * time.Millisecond, Pace: 45 * time.Millisecond}, slow)
	require.NoError(t, err)
	require.False(t, res.Exhausted)
	require.Len(t, res.Tried, 4)
}
