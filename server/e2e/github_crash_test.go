package e2e_test

import (
	"bytes"
	"context"
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

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/publish/publishtest"
)

const ghToken = "e2e-github-token"

// ghHost is the made-up GitHub Enterprise host of the test's repository. Git
// reaches it through a url.insteadOf rewrite to a local bare repository (both
// the workspace clone and the publisher's push); the API is the fake's.
const ghHost = "github.e2e.test"

var quickChange = wholeFiles(
	[2]string{"strutil/shout.go", `package strutil

import "strings"

// Shout upper-cases s and adds an exclamation mark.
func Shout(s string) string { return strings.ToUpper(s) + "!" }
`},
	[2]string{"strutil/shout_test.go", `package strutil

import "testing"

func TestShout(t *testing.T) {
	for in, want := range map[string]string{"hi": "HI!", "": "!", "a b": "A B!"} {
		if got := Shout(in); got != want {
			t.Errorf("Shout(%q) = %q, want %q", in, got, want)
		}
	}
}
`},
)

// TestPullRequestCreateCrashWindow is issue 7's crash window: moosed dies
// after GitHub recorded the pull request it asked for but before it learned
// so. After a restart the work order must end with exactly one pull request,
// adopted and brought up to date, whose URL and number are on its result and
// in its events.
func TestPullRequestCreateCrashWindow(t *testing.T) {
	skipShort(t)
	t.Parallel()

	fake := publishtest.New(ghToken)
	t.Cleanup(fake.Close)
	sample := sampleRepo(t)
	gitRoot := traversableDir(t, "moose-e2e-github-")
	bare := filepath.Join(gitRoot, "acme", "widgets.git")
	bareClone(t, sample, bare)
	fake.AddRepo("acme", "widgets", "main", bare)
	gitconfig := filepath.Join(gitRoot, "gitconfig")
	require.NoError(t, os.WriteFile(gitconfig, []byte(fmt.Sprintf("[url %q]\n\tinsteadOf = https://%s/\n", gitRoot+"/", ghHost)), 0o644))

	n := newNode(t,
		withArgs("--github-base-url", fake.URL(), "--github-hosts", ghHost, "--git-config", gitconfig),
		withEnv("GITHUB_TOKEN="+ghToken),
	)
	n.start()
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()

	// The first "create pull request" kills moosed after the fake recorded it
	// and before the answer leaves.
	pid, died := n.pid(), n.done
	killed := make(chan publishtest.PullRequest, 1)
	var once sync.Once
	fake.OnCreatePull(func(pr publishtest.PullRequest) {
		once.Do(func() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			select {
			case <-died:
			case <-time.After(30 * time.Second):
			}
			killed <- pr
		})
	})

	project := n.setup(ctx, "https://"+ghHost+"/acme/widgets.git",
		cassette{Model: "replay-e2e", Entries: []entry{{Key: "E2E publish crash", InputTokens: 400, OutputTokens: 90, Text: quickChange}}})
	id := n.submit(ctx, project, "E2E publish crash")

	var first publishtest.PullRequest
	select {
	case first = <-killed:
	case <-time.After(6 * time.Minute):
		t.Fatalf("moosed never asked to create a pull request; requests: %v", fake.Requests())
	}
	n.kill() // reaps the dead process and forgets it
	require.Equal(t, "moose/wo-"+id[:8], first.Head)
	require.Len(t, fake.PullRequests("acme", "widgets"), 1)

	// While moosed is down the pull request's body goes stale (a reviewer
	// edits it, say): the restarted publisher must put its own back.
	editBody(t, fake, first.Number, "stale body written while moosed was down")

	n.start()
	var wo *moosev1.WorkOrder
	waitFor(t, 3*time.Minute, "the work order to finish after the restart", func() bool {
		wo = n.get(ctx, id)
		return terminal(wo.GetStatus())
	})
	require.Contains(t, []moosev1.WorkOrderStatus{moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_NEEDS_REVIEW},
		wo.GetStatus(), "%+v", wo.GetResult())

	prs := fake.PullRequests("acme", "widgets")
	require.Len(t, prs, 1, "exactly one pull request; requests: %v", fake.Requests())
	pr := prs[0]
	require.Equal(t, first.Number, pr.Number)
	require.Equal(t, "open", pr.State)
	require.NotContains(t, pr.Body, "stale body")
	require.Contains(t, pr.Body, id)
	require.Contains(t, pr.Body, fmt.Sprintf("## Score: %.1f/10", wo.GetResult().GetOverallScore()))
	label := "moose:completed"
	if wo.GetStatus() == moosev1.WorkOrderStatus_WORK_ORDER_STATUS_NEEDS_REVIEW {
		label = "moose:needs-review"
	}
	require.Equal(t, []string{label}, pr.Labels)
	sha := gitRun(t, bare, "rev-parse", "refs/heads/"+pr.Head)
	require.Equal(t, sha, pr.HeadSHA)
	gitRun(t, bare, "cat-file", "-e", pr.Head+":strutil/shout_test.go")

	wantURL := fmt.Sprintf("%s/acme/widgets/pull/%d", fake.URL(), pr.Number)
	require.Equal(t, wantURL, wo.GetResult().GetPullRequestUrl())
	require.Equal(t, int32(pr.Number), wo.GetResult().GetPullRequestNumber())
	require.Equal(t, pr.Head, wo.GetResult().GetBranch())
	pubs := publishedEvents(n.events(ctx, id))
	require.Len(t, pubs, 1, "the crashed attempt never got to record a publication")
	require.Equal(t, wantURL, pubs[0].GetData()["url"])
	require.Equal(t, strconv.Itoa(pr.Number), pubs[0].GetData()["number"])
	require.True(t, strings.HasSuffix(pubs[0].GetMessage(), wantURL), pubs[0].GetMessage())
}

// editBody changes a pull request's body through the fake's API, as a person would.
func editBody(t *testing.T, fake *publishtest.GitHub, number int, body string) {
	t.Helper()
	url := fmt.Sprintf("%s/api/v3/repos/acme/widgets/pulls/%d", fake.URL(), number)
	req, err := http.NewRequest(http.MethodPatch, url, bytes.NewBufferString(fmt.Sprintf(`{"body": %q}`, body)))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+ghToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}
