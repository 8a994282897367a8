package pluginhost_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/durationpb"

	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
	"github.com/moosehq/moose/server/internal/pluginhost"
)

// TestValidateDeadlineCoversCompilingTests: a test validator call gets two
// commands under its test limit, the build limit for compiling the tests,
// the mutation budget as far as a validator may stretch it (4×) and a minute;
// without a build limit, no more.
func TestValidateDeadlineCoversCompilingTests(t *testing.T) {
	h := &pluginhost.Host{}
	req := &pluginv1.ValidateRequest{Timeout: durationpb.New(10 * time.Second), BuildTimeout: durationpb.New(5 * time.Minute),
		Mutation: &pluginv1.MutationBudget{TimeBudget: durationpb.New(30 * time.Second)}}
	require.Equal(t, 20*time.Second+5*time.Minute+2*time.Minute+time.Minute, h.ValidateDeadline(req))
	req.BuildTimeout = nil
	require.Equal(t, 20*time.Second+2*time.Minute+time.Minute, h.ValidateDeadline(req))
}

// TestMutationAllowanceStretchesTheBudget: the default budget is 30 s, a
// validator may stretch it 4× to the pace of the passing run, and disabled
// mutation needs no time.
func TestMutationAllowanceStretchesTheBudget(t *testing.T) {
	require.Equal(t, 2*time.Minute, pluginhost.MutationAllowance(0, false))
	require.Equal(t, 4*time.Minute, pluginhost.MutationAllowance(time.Minute, false))
	require.Zero(t, pluginhost.MutationAllowance(time.Minute, true))
	h := &pluginhost.Host{}
	req := &pluginv1.ValidateRequest{Timeout: durationpb.New(10 * time.Second), Mutation: &pluginv1.MutationBudget{Disabled: true}}
	require.Equal(t, 20*time.Second+time.Minute, h.ValidateDeadline(req))
}
