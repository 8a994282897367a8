package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

// outageCassette answers every work order titled "Add a greet function" with
// a passing change to a shell project whose build and test are quick.
const outageCassette = `model: test-model
entries:
  - key: Add a greet function
    text: |
      lib.sh
      ` + "```sh" + `
      add() { echo $(( $1 + $2 )); }
      greet() { sleep 1; echo "hello, $1"; }
      ` + "```" + `

      test.sh
      ` + "```sh" + `
      . ./lib.sh
      [ "$(add 2 3)" = 5 ] && [ "$(greet moose)" = "hello, moose" ] && echo "2 passed, 0 failed"
      ` + "```" + `
`

// readyz returns /readyz's status code and body ("" and 0 when unreachable).
func readyz(addr string) (int, map[string]any) {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// TestEmbeddedPostgresKilledRecovers kills the embedded postmaster with -9
// while work orders run: the API answers 503/Unavailable meanwhile, moosed
// restarts the cluster by itself within 30s, and every work order completes.
func TestEmbeddedPostgresKilledRecovers(t *testing.T) {
	skipShort(t)
	t.Parallel()
	n := newNode(t, withEmbeddedDatabase())
	n.start()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	code, body := readyz(n.httpAddr)
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, "up", body["database"])

	repo := filepath.Join(traversableDir(t, "moose-e2e-shell-"), "shell")
	require.NoError(t, os.MkdirAll(repo, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "lib.sh"), []byte("add() { echo $(( $1 + $2 )); }\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "test.sh"), []byte(". ./lib.sh\n[ \"$(add 1 1)\" = 2 ] && echo \"1 passed, 0 failed\"\n"), 0o644))
	gitRun(t, repo, "init", "-q", "-b", "main")
	gitRun(t, repo, "add", "-A")
	gitRun(t, repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x")
	cassette := filepath.Join(traversableDir(t, "moose-e2e-cassette-"), "shell.yaml")
	require.NoError(t, os.WriteFile(cassette, []byte(outageCassette), 0o644))

	p, err := n.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "shell", RepoUrl: repo, DefaultBranch: "main",
		Language: "shell", BuildCommand: "sh -n lib.sh && sh -n test.sh", TestCommand: "sh test.sh"})
	require.NoError(t, err)
	v, err := n.variants.CreateVariant(ctx, &moosev1.CreateVariantRequest{Name: "shell-replay", PluginName: "replay", BaseUrl: cassette})
	require.NoError(t, err)
	var ids []string
	for i := 0; i < 4; i++ {
		r, err := n.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(), VariantId: v.GetVariant().GetId(),
			Title: "Add a greet function", Complexity: 1})
		require.NoError(t, err)
		_, err = n.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: r.GetWorkOrder().GetId()})
		require.NoError(t, err)
		ids = append(ids, r.GetWorkOrder().GetId())
	}
	waitFor(t, time.Minute, "a work order running", func() bool {
		for _, id := range ids {
			if n.get(ctx, id).GetStatus() == moosev1.WorkOrderStatus_WORK_ORDER_STATUS_IN_PROGRESS {
				return true
			}
		}
		return false
	})

	// Watch the API from just before the kill until it is ready again.
	var mu sync.Mutex
	var sawReadyz503, sawUnavailable, sawREST503 bool
	var unexpected []string
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		hc := http.Client{Timeout: 3 * time.Second}
		for {
			select {
			case <-stop:
				return
			default:
			}
			code, _ := readyz(n.httpAddr)
			cctx, ccancel := context.WithTimeout(ctx, 3*time.Second)
			_, gerr := n.wos.GetWorkOrder(cctx, &moosev1.GetWorkOrderRequest{Id: ids[0]})
			ccancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.httpAddr+"/v1/workorders/"+ids[0], nil)
			req.Header.Set("Authorization", "Bearer "+n.token)
			resp, rerr := hc.Do(req)
			mu.Lock()
			sawReadyz503 = sawReadyz503 || code == http.StatusServiceUnavailable
			if gerr != nil {
				if status.Code(gerr) == codes.Unavailable {
					sawUnavailable = true
				} else {
					unexpected = append(unexpected, "grpc: "+gerr.Error())
				}
			}
			if rerr == nil {
				switch resp.StatusCode {
				case http.StatusOK:
				case http.StatusServiceUnavailable:
					sawREST503 = true
				default:
					unexpected = append(unexpected, "rest: "+resp.Status)
				}
				resp.Body.Close()
			}
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()

	pidFile := filepath.Join(n.dataDir, "pg", "postmaster.pid")
	raw, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(raw), "\n", 2)[0]))
	require.NoError(t, err)
	killedAt := time.Now()
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))

	var readyBody map[string]any
	waitFor(t, 30*time.Second, "/readyz 200 after the restart", func() bool {
		if time.Since(killedAt) < time.Second {
			return false
		}
		code, b := readyz(n.httpAddr)
		readyBody = b
		// Backends of a killed postmaster may answer a little longer on open
		// connections: ready means restarted and answering.
		restarts, _ := b["embedded_restarts"].(float64)
		return code == http.StatusOK && restarts >= 1
	})
	t.Logf("ready again %v after kill -9: %v", time.Since(killedAt).Round(time.Millisecond), readyBody)
	require.EqualValues(t, 1, readyBody["embedded_restarts"])
	close(stop)
	<-watched
	mu.Lock()
	require.True(t, sawReadyz503, "/readyz never answered 503 during the outage")
	require.True(t, sawUnavailable || sawREST503, "the API never answered Unavailable/503 during the outage")
	require.Empty(t, unexpected, "answers other than OK or Unavailable during the outage")
	mu.Unlock()

	raw, err = os.ReadFile(pidFile)
	require.NoError(t, err)
	require.NotEqual(t, fmt.Sprint(pid), strings.SplitN(string(raw), "\n", 2)[0], "a new postmaster runs")

	waitFor(t, 3*time.Minute, "every work order finished", func() bool {
		for _, id := range ids {
			if !terminal(n.get(ctx, id).GetStatus()) {
				return false
			}
		}
		return true
	})
	for _, id := range ids {
		wo := n.get(ctx, id)
		require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, wo.GetStatus(), "work order %s: %v", id, wo.GetResult())
	}
}
