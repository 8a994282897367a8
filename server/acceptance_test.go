package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/internal/dbtest"
	"github.com/moosehq/moose/server/servertest"
)

// hiddenMarker is in the hidden acceptance test only: it must never reach a
// prompt, an attempt, an event, a dataset, a log line or a commit.
const hiddenMarker = "HIDDEN-MARKER-7f3a91"

// buggyRepo is a Go module with a real bug (Abs of a negative number), a
// passing test, a test that fails at the base commit and a flaky one (it
// fails on every other run in the same tree).
func buggyRepo(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(servertest.RepoDir(t), "buggy")
	files := map[string]string{
		"go.mod":                "module example.com/buggy\n\ngo 1.22\n",
		"calc/calc.go":          "package calc\n\n// Abs returns the absolute value of n.\nfunc Abs(n int) int {\n\tif n < 0 {\n\t\treturn n\n\t}\n\treturn n\n}\n\n// Max returns the larger of a and b.\nfunc Max(a, b int) int {\n\tif a > b {\n\t\treturn a\n\t}\n\treturn b\n}\n",
		"calc/calc_test.go":     "package calc\n\nimport \"testing\"\n\nfunc TestMax(t *testing.T) {\n\tif Max(1, 2) != 2 || Max(3, 2) != 3 {\n\t\tt.Fatal(\"Max is wrong\")\n\t}\n}\n",
		"legacy/legacy.go":      "package legacy\n",
		"legacy/legacy_test.go": "package legacy\n\nimport \"testing\"\n\nfunc TestKnownBroken(t *testing.T) {\n\tt.Fatal(\"a known bug, tracked elsewhere\")\n}\n",
		"flaky/flaky.go":        "package flaky\n",
		"flaky/flaky_test.go": "package flaky\n\nimport (\n\t\"os\"\n\t\"strconv\"\n\t\"testing\"\n)\n\n" +
			"// TestSometimes fails on every other run in the same tree.\nfunc TestSometimes(t *testing.T) {\n\tb, _ := os.ReadFile(\".runs\")\n\tn, _ := strconv.Atoi(string(b))\n\t_ = os.WriteFile(\".runs\", []byte(strconv.Itoa(n+1)), 0o644)\n\tif n%2 == 0 {\n\t\tt.Fatal(\"unlucky run\")\n\t}\n}\n",
	}
	for p, c := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644))
	}
	out, err := exec.Command("git", "-C", dir, "init", "-q", "-b", "main").CombinedOutput()
	require.NoError(t, err, string(out))
	gitCommitAll(t, dir)
	return dir
}

// keyedOpenAI speaks the OpenAI chat API and answers with the entry whose key
// the request mentions; every request body is kept.
func keyedOpenAI(t *testing.T, key string, answers map[string]string, requests *[]string, mu *sync.Mutex) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		*requests = append(*requests, string(body))
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+key {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		// The work order is the last message; few-shot examples come before it.
		var chat struct {
			Messages []struct {
				Content string `json:"content"`
			} `json:"messages"`
		}
		_ = json.Unmarshal(body, &chat)
		last := ""
		if n := len(chat.Messages); n > 0 {
			last = chat.Messages[n-1].Content
		}
		answer := "no answer"
		for k, a := range answers {
			if strings.Contains(last, "# Work order: "+k+"\n") {
				answer = a
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "created": time.Now().Unix(), "model": "gpt-4o-mini",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": answer}}},
			"usage":   map[string]any{"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func fenced(path, content string) string { return path + "\n````go\n" + content + "````\n\n" }

// TestHiddenAcceptanceTests: FAIL_TO_PASS from a hidden test patch, PASS_TO_PASS
// derived from a baseline of the base commit, a failing and a flaky test
// that are not blamed, proposals that write the hidden test refused, the
// baseline measured once and reused after a restart, and the hidden test's
// content in no prompt, attempt, event, dataset, log line or commit.
func TestHiddenAcceptanceTests(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real plugins, builds and tests")
	}
	const key = "sk-test-hidden"
	t.Setenv("OPENAI_API_KEY", key)
	repo := buggyRepo(t)

	calc := mustRead(t, filepath.Join(repo, "calc/calc.go"))
	fixed := strings.Replace(calc, "\t\treturn n\n\t}\n\treturn n", "\t\treturn -n\n\t}\n\treturn n", 1)
	require.NotEqual(t, calc, fixed)
	brokeMax := strings.Replace(fixed, "if a > b", "if a < b", 1)
	hiddenTest := "package calc\n\nimport \"testing\"\n\n// " + hiddenMarker + "\nfunc TestAbsNegative(t *testing.T) {\n\tif Abs(-3) != 3 || Abs(4) != 4 {\n\t\tt.Fatal(\"Abs is wrong\")\n\t}\n}\n"
	patch := "--- /dev/null\n+++ b/calc/abs_hidden_test.go\n@@ -0,0 +1," + strconv.Itoa(strings.Count(hiddenTest, "\n")) + " @@\n+" +
		strings.ReplaceAll(strings.TrimSuffix(hiddenTest, "\n"), "\n", "\n+") + "\n"
	// The hidden test without its marker, as a proposal would write it.
	leakedTest := strings.Replace(hiddenTest, "// "+hiddenMarker+"\n", "", 1)
	minFn := "package calc\n\n// Min returns the smaller of a and b.\nfunc Min(a, b int) int {\n\tif a < b {\n\t\treturn a\n\t}\n\treturn b\n}\n"
	weakMinTest := "package calc\n\nimport \"testing\"\n\nfunc TestMinRuns(t *testing.T) {\n\t_ = Min(1, 2)\n}\n"
	minTest := "package calc\n\nimport \"testing\"\n\nfunc TestMin(t *testing.T) {\n\tif Min(1, 2) != 1 || Min(3, 2) != 2 || Min(-1, -1) != -1 {\n\t\tt.Fatal(\"Min is wrong\")\n\t}\n}\n"
	answers := map[string]string{
		"Fix Abs (gold)":          fenced("calc/calc.go", fixed),
		"Fix Abs (test only)":     fenced("calc/abs_hidden_test.go", leakedTest),
		"Fix Abs (breaks Max)":    fenced("calc/calc.go", brokeMax),
		"Fix Abs (writes hidden)": fenced("calc/calc.go", fixed) + fenced("calc/abs_hidden_test.go", leakedTest),
		"Add Min":                 fenced("calc/min.go", minFn) + fenced("calc/min_test.go", minTest),
		"Add Min (weak test)":     fenced("calc/min.go", minFn) + fenced("calc/min_test.go", weakMinTest),
	}
	var mu sync.Mutex
	var requests []string
	fake := keyedOpenAI(t, key, answers, &requests, &mu)
	logs := &syncBuffer{}
	dsn := dbtest.DSN(t)
	start := func() *servertest.Server {
		return servertest.Start(t, servertest.WithBuiltinPlugins(t), servertest.WithDatabaseURL(dsn), servertest.WithConfig(func(c *server.Config) {
			c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			c.BuiltinBaseURLs = map[string][]string{"openai": {fake.URL + "/v1"}}
			c.MaxRefinements = -1
			c.MaxMutants = 8
			c.MutationTime = 90 * time.Second
		}))
	}
	srv := start()
	c := dial(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	p, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "buggy", RepoUrl: repo, DefaultBranch: "main", Language: "go"})
	require.NoError(t, err)
	v, err := moosev1.NewVariantServiceClient(c.conn).CreateVariant(ctx, &moosev1.CreateVariantRequest{Name: "mini", PluginName: "openai", Model: "gpt-4o-mini",
		BaseUrl: fake.URL + "/v1", Params: map[string]string{"max_attempts": "1"}})
	require.NoError(t, err)

	create := func(c *clients, title string, hidden bool, testsRequired bool) string {
		req := &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(), VariantId: v.GetVariant().GetId(), Title: title, Complexity: 2,
			Description: "Abs of a negative number must be positive."}
		if hidden {
			req.AcceptanceTestPatch = patch
			req.FailToPass = []string{"calc.TestAbsNegative"}
		}
		if !testsRequired {
			req.TestsRequired = proto.Bool(false)
		}
		r, err := c.wos.CreateWorkOrder(ctx, req)
		require.NoError(t, err, title)
		_, err = c.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: r.GetWorkOrder().GetId()})
		require.NoError(t, err)
		return r.GetWorkOrder().GetId()
	}
	wait := func(c *clients, id string) *moosev1.WorkOrder {
		stream, err := c.wos.WatchWorkOrder(ctx, &moosev1.WatchWorkOrderRequest{Id: id})
		require.NoError(t, err)
		for {
			if _, err := stream.Recv(); err != nil {
				break
			}
		}
		got, err := c.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: id})
		require.NoError(t, err)
		return got.GetWorkOrder()
	}
	outcome := func(wo *moosev1.WorkOrder, id string) *moosev1.HiddenTestOutcome {
		for _, o := range wo.GetResult().GetHiddenTests().GetTests() {
			if o.GetId() == id {
				return o
			}
		}
		return nil
	}

	// Bad acceptance input is refused with the fields named.
	_, err = c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(), Title: "bad", Complexity: 2,
		AcceptanceTests: []*moosev1.AcceptanceTestFile{{Path: "../escape_test.go", Content: "x"}}, AcceptanceTestPatch: "not a diff",
		FailToPass: []string{"", "ok.TestX"}})
	require.ElementsMatch(t, []string{"acceptance_tests[0].path", "acceptance_test_patch", "fail_to_pass[0]"}, violations(t, err))

	// The gold fix, without a test of its own: accepted by the hidden test.
	gold := wait(c, create(c, "Fix Abs (gold)", true, false))
	res := gold.GetResult()
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, gold.GetStatus(), "%v", res)
	ht := res.GetHiddenTests()
	require.True(t, ht.GetPassed(), "%v", ht)
	require.Equal(t, moosev1.HiddenTestStatus_HIDDEN_TEST_STATUS_PASSED, outcome(gold, "calc.TestAbsNegative").GetStatus())
	require.Positive(t, ht.GetDerivedPassed(), "TestMax passing at base still passes")
	bl := ht.GetBaseline()
	require.NotNil(t, bl)
	require.False(t, bl.GetReused(), "the first work order measures the baseline")
	require.Equal(t, int32(3), bl.GetRepeats())
	require.Equal(t, []string{"example.com/buggy/legacy.TestKnownBroken"}, bl.GetFailing())
	require.Equal(t, []string{"example.com/buggy/flaky.TestSometimes"}, bl.GetFlaky())
	notes := strings.Join(ht.GetNotes(), "\n")
	require.Contains(t, notes, "TestKnownBroken was already failing at the base commit")
	require.Contains(t, notes, "TestSometimes is flaky")
	// The baseline is measured while the proposer works, and the
	// candidate's validation starts only after it (reusing its build).
	evs, err := c.wos.ListWorkOrderEvents(ctx, &moosev1.ListWorkOrderEventsRequest{Id: gold.GetId()})
	require.NoError(t, err)
	var order []string
	for _, e := range evs.GetEvents() {
		switch m := e.GetMessage(); {
		case strings.HasPrefix(m, "measuring the base commit"):
			order = append(order, "baseline")
		case strings.HasPrefix(m, "cycle 1: asking"):
			order = append(order, "propose")
		case strings.HasPrefix(m, "cycle 1: running build"):
			order = append(order, "validate")
		}
	}
	require.Equal(t, []string{"baseline", "propose", "validate"}, order)

	// The rest at once, on the same base: the baseline is reused.
	ids := map[string]string{}
	for _, title := range []string{"Fix Abs (test only)", "Fix Abs (breaks Max)", "Fix Abs (writes hidden)"} {
		ids[title] = create(c, title, true, false)
	}
	ids["Add Min"] = create(c, "Add Min", false, true)
	ids["Add Min (weak test)"] = create(c, "Add Min (weak test)", false, true)
	got := map[string]*moosev1.WorkOrder{}
	for title, id := range ids {
		got[title] = wait(c, id)
	}
	for _, title := range []string{"Fix Abs (test only)", "Fix Abs (breaks Max)", "Fix Abs (writes hidden)"} {
		wo := got[title]
		require.NotEqual(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, wo.GetStatus(), "%s: %v", title, wo.GetResult())
		require.Less(t, wo.GetResult().GetOverallScore(), 6.0, title)
		if title != "Fix Abs (test only)" { // nothing applied: nothing to measure
			require.True(t, wo.GetResult().GetHiddenTests().GetBaseline().GetReused(), "%s reuses the baseline", title)
		}
	}
	require.Contains(t, got["Fix Abs (test only)"].GetResult().GetFailureReason(), "hidden acceptance tests")
	require.Contains(t, got["Fix Abs (writes hidden)"].GetResult().GetFailureReason(), "calc/abs_hidden_test.go")
	broke := got["Fix Abs (breaks Max)"]
	require.Equal(t, moosev1.HiddenTestStatus_HIDDEN_TEST_STATUS_FAILED, outcome(broke, "example.com/buggy/calc.TestMax").GetStatus(), "%v", broke.GetResult().GetHiddenTests())
	require.True(t, outcome(broke, "example.com/buggy/calc.TestMax").GetDerived())
	// A work order that touches neither the failing nor the flaky test passes, and says so.
	minWO := got["Add Min"]
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, minWO.GetStatus(), "%v", minWO.GetResult())
	require.Contains(t, strings.Join(minWO.GetResult().GetHiddenTests().GetNotes(), "\n"), "already failing at the base commit")
	// The repository's already-failing test does not stop test strength
	// from being measured: a test that checks nothing is caught.
	weak := got["Add Min (weak test)"]
	require.NotEqual(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, weak.GetStatus(), "%v", weak.GetResult())
	require.Contains(t, weak.GetResult().GetFailureReason(), "Min returns zero values or panics", "%v", weak.GetResult())
	// With a measured baseline and no limit of its own, the project's test
	// limit comes from the base's test time (floored at a minute), not
	// moosed's 5-minute default.
	evs, err = c.wos.ListWorkOrderEvents(ctx, &moosev1.ListWorkOrderEventsRequest{Id: ids["Add Min"]})
	require.NoError(t, err)
	var running string
	for _, e := range evs.GetEvents() {
		if strings.HasPrefix(e.GetMessage(), "cycle 1: running build") {
			running = e.GetMessage()
		}
	}
	require.Contains(t, running, ";test=1m0s (test limit: 10× the base commit ", running)

	// Read-only callers do not see the hidden tests; writers do.
	reader := moosev1.NewWorkOrderServiceClient(srv.DialToken(t, srv.Token(t, "read")))
	rg, err := reader.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: gold.GetId()})
	require.NoError(t, err)
	require.True(t, rg.GetWorkOrder().GetHiddenTestsRedacted())
	require.Empty(t, rg.GetWorkOrder().GetAcceptanceTestPatch())
	ag, err := c.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: gold.GetId()})
	require.NoError(t, err)
	require.Contains(t, ag.GetWorkOrder().GetAcceptanceTestPatch(), hiddenMarker)

	// The hidden content went nowhere: prompts, attempts, events, datasets, commits, logs.
	mu.Lock()
	require.NotEmpty(t, requests)
	for _, r := range requests {
		require.NotContains(t, r, hiddenMarker, "a prompt")
		require.NotContains(t, r, "TestAbsNegative", "a prompt names a hidden test")
	}
	mu.Unlock()
	var leaks int
	require.NoError(t, srv.Server().Pool().QueryRow(ctx, `SELECT
		(SELECT count(*) FROM attempts WHERE attempts::text LIKE '%' || $1 || '%') +
		(SELECT count(*) FROM work_order_events WHERE work_order_events::text LIKE '%' || $1 || '%')`, hiddenMarker).Scan(&leaks))
	require.Zero(t, leaks, "no attempt or event holds the hidden test")
	for _, kind := range []string{"sft", "dpo"} {
		ds, err := moosev1.NewDatasetServiceClient(c.conn).ExportDataset(ctx, &moosev1.ExportDatasetRequest{Kind: kind})
		require.NoError(t, err)
		for _, r := range ds.GetRecords() {
			require.NotContains(t, r.GetJsonl(), hiddenMarker)
		}
	}
	out, err := exec.Command("git", "-C", repo, "log", "--all", "-p").CombinedOutput()
	require.NoError(t, err, string(out))
	require.NotContains(t, string(out), hiddenMarker, "no published commit")
	require.NotContains(t, logs.String(), hiddenMarker, "no log line")

	// The baseline survives a restart: the next moosed reuses it.
	var baselines int
	require.NoError(t, srv.Server().Pool().QueryRow(ctx, `SELECT count(*) FROM test_baselines`).Scan(&baselines))
	require.Equal(t, 1, baselines, "one baseline per base commit and command set")
	srv.Stop()
	srv2 := start()
	c2 := dial(t, srv2)
	again := wait(c2, create(c2, "Fix Abs (gold)", true, false))
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, again.GetStatus(), "%v", again.GetResult())
	require.True(t, again.GetResult().GetHiddenTests().GetBaseline().GetReused(), "the restarted moosed reuses the stored baseline")
}
