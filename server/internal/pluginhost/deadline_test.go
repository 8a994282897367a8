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
// the mutation budget and a minute; without a build limit, no more.
func TestValidateDeadlineCoversCompilingTests(t *testing.T) {
	h := &pluginhost.Host{}
	req := &pluginv1.ValidateRequest{Timeout: durationpb.New(10 * time.Second), BuildTimeout: durationpb.New(5 * time.Minute),
		Mutation: &pluginv1.MutationBudget{TimeBudget: durationpb.New(30 * time.Second)}}
	require.Equal(t, 20*time.Second+5*time.Minute+30*time.Second+time.Minute, h.ValidateDeadline(req))
	req.BuildTimeout = nil
	require.Equal(t, 20*time.Second+30*time.Second+time.Minute, h.ValidateDeadline(req))
}
