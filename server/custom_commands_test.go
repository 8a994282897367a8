package server_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/servertest"
)

const shellCassette = `model: test-model
entries:
  - key: Add a greet function
    cycle: 1
    text: |
      lib.sh
      ` + "```sh" + `
      add() { echo $(( $1 + $2 )); }
      greet() { echo "hello, $1" }
      ` + "```" + `
  - key: Add a greet function
    cycle: 2
    text: |
      lib.sh
      ` + "```sh" + `
      add() { echo $(( $1 + $2 )); }
      greet() { echo "hello, $1"; }
      ` + "```" + `

      test.sh
      ` + "```sh" + `
      . ./lib.sh
      pass=0; fail=0
      check() { if [ "$1" = "$2" ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "test.sh:1: want $2, got $1"; fi; }
      check "$(add 2 3)" 5
      check "$(greet moose)" "hello, moose"
      echo "$pass passed, $fail failed"
      [ "$fail" -eq 0 ]
      ` + "```" + `
`

// TestPipelineRunsAProjectsOwnCommands proves a project outside the presets:
// its own build and test command lines run in the sandbox, a syntax error in
// the first answer goes back to the proposer, and the fix is accepted.
func TestPipelineRunsAProjectsOwnCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real plugins")
	}
	t.Parallel()
	srv := servertest.Start(t, servertest.WithBuiltinPlugins(t))
	c := dial(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	repo := filepath.Join(servertest.RepoDir(t), "shell")
	require.NoError(t, os.MkdirAll(repo, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "lib.sh"), []byte("add() { echo $(( $1 + $2 )); }\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "test.sh"), []byte(". ./lib.sh\n[ \"$(add 1 1)\" = 2 ] && echo \"1 passed, 0 failed\"\n"), 0o644))
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x"}} {
		out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput()
		require.NoError(t, err, string(out))
	}
	cassette := filepath.Join(t.TempDir(), "shell.yaml")
	require.NoError(t, os.WriteFile(cassette, []byte(shellCassette), 0o644))

	p, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "shell", RepoUrl: repo, DefaultBranch: "main",
		Language: "shell", BuildCommand: "sh -n lib.sh && sh -n test.sh", TestCommand: "sh test.sh"})
	require.NoError(t, err)
	v, err := moosev1.NewVariantServiceClient(c.conn).CreateVariant(ctx, &moosev1.CreateVariantRequest{Name: "shell-replay", PluginName: "replay", BaseUrl: cassette})
	require.NoError(t, err)
	r, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(), VariantId: v.GetVariant().GetId(),
		Title: "Add a greet function", Complexity: 1})
	require.NoError(t, err)
	_, err = c.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: r.GetWorkOrder().GetId()})
	require.NoError(t, err)
	stream, err := c.wos.WatchWorkOrder(ctx, &moosev1.WatchWorkOrderRequest{Id: r.GetWorkOrder().GetId()})
	require.NoError(t, err)
	for {
		if _, err := stream.Recv(); err != nil {
			break
		}
	}
	got, err := c.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: r.GetWorkOrder().GetId()})
	require.NoError(t, err)
	res := got.GetWorkOrder().GetResult()
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, got.GetWorkOrder().GetStatus(), "%v", res)
	require.Equal(t, int32(2), res.GetCycles(), "the shell syntax error went back to the proposer")
	require.Equal(t, int32(2), res.GetTestsTotal(), "the runner's summary line was read")

	attempts, err := c.wos.ListWorkOrderAttempts(ctx, &moosev1.ListWorkOrderAttemptsRequest{Id: r.GetWorkOrder().GetId()})
	require.NoError(t, err)
	require.False(t, attempts.GetAttempts()[0].GetBuildPassed())
	var files []string
	for _, f := range attempts.GetAttempts()[0].GetFindings() {
		files = append(files, f.GetFile())
	}
	require.Contains(t, files, "lib.sh", "the syntax error is located in the file")
}
