package server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

// answer renders whole-file edits the way a proposer writes them.
func answer(files ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(files); i += 2 {
		fmt.Fprintf(&b, "%s\n```\n%s```\n\n", files[i], files[i+1])
	}
	return b.String()
}

type cassetteEntry struct {
	Key  string `yaml:"key"`
	Text string `yaml:"text"`
}

func writeCassette(t *testing.T, entries map[string]string) string {
	t.Helper()
	var es []cassetteEntry
	for k, v := range entries {
		es = append(es, cassetteEntry{Key: k, Text: v})
	}
	data, err := yaml.Marshal(map[string]any{"model": "verdict-test", "entries": es})
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "cassette.yaml")
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

func gitCommitAll(t *testing.T, dir string) {
	t.Helper()
	for _, args := range [][]string{{"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "base"}} {
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
		require.NoError(t, err, string(out))
	}
}

// verdictCase is one work order and what Moose must conclude about it.
type verdictCase struct {
	key, title  string
	testsNeeded *bool
	accept      bool
	// mention must appear in the failure reason or the dimension reasons.
	mention string
	// minMutation runs the case in a project with its own test-strength
	// threshold.
	minMutation *float64
}

// runVerdicts runs every case through moosed with real plugins, one cycle
// each, and checks the verdicts and that every rejection scores below 6.
func runVerdicts(t *testing.T, language, repo string, cassette map[string]string, cases []verdictCase) {
	t.Helper()
	srv := servertest.Start(t, servertest.WithBuiltinPlugins(t), servertest.WithConfig(func(c *server.Config) {
		c.MaxRefinements = -1 // the first answer is the verdict
		c.MaxMutants = 8
		c.MutationTime = 90 * time.Second // generous: the test machine is shared
	}))
	c := dial(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	projects := map[string]string{} // threshold → project id
	projectFor := func(min *float64) string {
		key := "default"
		if min != nil {
			key = fmt.Sprint(*min)
		}
		if id, ok := projects[key]; ok {
			return id
		}
		p, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "verdict-" + language + "-" + key, RepoUrl: repo, DefaultBranch: "main",
			Language: language, MinMutationScore: min})
		require.NoError(t, err)
		require.Equal(t, min != nil, p.GetProject().MinMutationScore != nil)
		projects[key] = p.GetProject().GetId()
		return projects[key]
	}
	v, err := moosev1.NewVariantServiceClient(c.conn).CreateVariant(ctx, &moosev1.CreateVariantRequest{
		Name: "verdict-replay", PluginName: "replay", BaseUrl: writeCassette(t, cassette), EditFormat: "whole"})
	require.NoError(t, err)

	var wg sync.WaitGroup
	results := make([]*moosev1.WorkOrder, len(cases))
	for i, tc := range cases {
		r, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: projectFor(tc.minMutation), VariantId: v.GetVariant().GetId(),
			Title: tc.title, Complexity: 2, Description: "Write it with tests.", Metadata: map[string]string{"replay_key": tc.key},
			TestsRequired: tc.testsNeeded})
		require.NoError(t, err)
		require.Equal(t, tc.testsNeeded == nil || *tc.testsNeeded, r.GetWorkOrder().GetTestsRequired())
		_, err = c.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: r.GetWorkOrder().GetId()})
		require.NoError(t, err)
		wg.Add(1)
		go func(i int, id string) {
			defer wg.Done()
			stream, err := c.wos.WatchWorkOrder(ctx, &moosev1.WatchWorkOrderRequest{Id: id})
			if err != nil {
				return
			}
			for {
				if _, err := stream.Recv(); err != nil {
					break
				}
			}
			got, err := c.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: id})
			if err == nil {
				results[i] = got.GetWorkOrder()
			}
		}(i, r.GetWorkOrder().GetId())
	}
	wg.Wait()
	for i, tc := range cases {
		wo := results[i]
		require.NotNil(t, wo, tc.key)
		res := wo.GetResult()
		var text []string
		text = append(text, res.GetFailureReason())
		for _, d := range res.GetDimensions() {
			text = append(text, d.GetName()+": "+strings.Join(d.GetReasons(), "; "))
		}
		all := strings.Join(text, "\n")
		if tc.accept {
			require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, wo.GetStatus(), "%s should be accepted:\n%s", tc.key, all)
			require.GreaterOrEqual(t, res.GetOverallScore(), 7.0, tc.key)
		} else {
			require.NotEqual(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, wo.GetStatus(), "%s should be rejected:\n%s", tc.key, all)
			require.False(t, res.GetPassed(), tc.key)
			require.Less(t, res.GetOverallScore(), 6.0, "%s: a rejected attempt never reads as a pass\n%s", tc.key, all)
		}
		if tc.mention != "" {
			require.Contains(t, all, tc.mention, tc.key)
		}
	}
}

const goClamp = `package strutil

// Clamp limits n to the range [lo, hi].
func Clamp(n, lo, hi int) int {
	if n < lo {
		return lo
	}
	if n > hi {
		return hi
	}
	return n
}
`

const goClampStrongTest = `package strutil

import "testing"

func TestClamp(t *testing.T) {
	for _, c := range []struct{ n, want int }{{-5, 0}, {0, 0}, {4, 4}, {10, 10}, {12, 10}} {
		if got := Clamp(c.n, 0, 10); got != c.want {
			t.Errorf("Clamp(%d, 0, 10) = %d, want %d", c.n, got, c.want)
		}
	}
}
`

// The weak test only proves that Clamp does not panic.
const goClampWeakTest = `package strutil

import "testing"

func TestClampDoesNotPanic(t *testing.T) {
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Clamp panicked: %v", r)
		}
	}()
	_ = Clamp(4, 0, 10)
}
`

// TestVerdictsGo: real builds, tests and mutants of a Go project, through
// moosed and its plugin processes.
func TestVerdictsGo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real builds, tests and mutants")
	}
	t.Parallel()
	repo := sampleRepo(t)
	// A stub the work order asks to implement is already in the repository.
	require.NoError(t, os.WriteFile(filepath.Join(repo, "strutil", "title.go"),
		[]byte("package strutil\n\n// Title upper-cases the first letter of each word.\nfunc Title(s string) string {\n\tpanic(\"not implemented\")\n}\n"), 0o644))
	gitCommitAll(t, repo)

	wordCountFix := strings.Replace(mustRead(t, "../examples/go-calc/strutil/strutil.go"),
		"return len(strings.Fields(s))",
		"return len(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\\t' || r == '\\n' || r == ',' }))", 1)
	require.Contains(t, wordCountFix, "FieldsFunc")
	cassette := map[string]string{
		"clamp-strong": answer("strutil/clamp.go", goClamp, "strutil/clamp_test.go", goClampStrongTest),
		"clamp-weak":   answer("strutil/clamp.go", goClamp, "strutil/clamp_test.go", goClampWeakTest),
		"clamp-wrong":  answer("strutil/clamp.go", strings.Replace(goClamp, "n > hi", "n < hi", 1), "strutil/clamp_test.go", goClampWeakTest),
		"clamp-zero": answer("strutil/clamp.go", "package strutil\n\n// Clamp limits n to the range [lo, hi].\nfunc Clamp(n, lo, hi int) int {\n\treturn 0\n}\n",
			"strutil/clamp_test.go", goClampWeakTest),
		"title-stub": answer("strutil/extra_test.go", "package strutil\n\nimport \"testing\"\n\nfunc TestReverseTwice(t *testing.T) {\n\tif Reverse(Reverse(\"moose\")) != \"moose\" {\n\t\tt.Fatal(\"twice\")\n\t}\n}\n"),
		"wordcount":  answer("strutil/strutil.go", wordCountFix),
		// One assertion: it kills the zero-value and panic mutants but not
		// every boundary mutant.
		"clamp-one": answer("strutil/clamp.go", goClamp, "strutil/clamp_test.go",
			"package strutil\n\nimport \"testing\"\n\nfunc TestClampHigh(t *testing.T) {\n\tif got := Clamp(12, 0, 10); got != 10 {\n\t\tt.Fatalf(\"Clamp(12, 0, 10) = %d\", got)\n\t}\n}\n"),
	}
	runVerdicts(t, "go", repo, cassette, []verdictCase{
		{key: "clamp-strong", title: "Add Clamp to strutil", accept: true, mention: "mutation score"},
		{key: "clamp-weak", title: "Add Clamp to strutil", mention: "the tests still pass when Clamp returns zero values or panics"},
		{key: "clamp-wrong", title: "Add Clamp to strutil"},
		{key: "clamp-zero", title: "Add Clamp to strutil", mention: "not-implemented stub"},
		{key: "title-stub", title: "Implement Title in strutil", mention: "not-implemented stub"},
		{key: "wordcount", title: "Make WordCount split on commas", mention: "adds or changes no test"},
		{key: "wordcount", title: "Make WordCount split on commas", testsNeeded: proto.Bool(false), accept: true},
		// The project's own threshold decides: every mutant must die in one
		// project, only the zero-value/panic gate holds in the other.
		{key: "clamp-one", title: "Add Clamp to strutil", minMutation: proto.Float64(1), mention: "mutation score"},
		{key: "clamp-one", title: "Add Clamp to strutil", minMutation: proto.Float64(0), accept: true},
	})
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

const tsClamp = `/** Limits n to the range [lo, hi]. */
export function clamp(n: number, lo: number, hi: number): number {
  if (n < lo) {
    return lo;
  }
  return n > hi ? hi : n;
}
`

// TestVerdictsTypeScript: the same proof for the node preset (vitest).
func TestVerdictsTypeScript(t *testing.T) {
	if testing.Short() {
		t.Skip("installs npm packages and runs real builds, tests and mutants")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm not installed")
	}
	t.Parallel()
	dir := filepath.Join(servertest.RepoDir(t), "node-strings")
	require.NoError(t, os.CopyFS(dir, os.DirFS("../examples/node-strings")))
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "node_modules")))
	out, err := exec.Command("git", "-C", dir, "init", "-q", "-b", "main").CombinedOutput()
	require.NoError(t, err, string(out))
	gitCommitAll(t, dir)

	strong := "import { expect, it } from \"vitest\";\nimport { clamp } from \"../src/clamp.js\";\n\nit(\"clamps\", () => {\n  expect(clamp(-1, 0, 10)).toBe(0);\n  expect(clamp(4, 0, 10)).toBe(4);\n  expect(clamp(12, 0, 10)).toBe(10);\n});\n"
	weak := "import { expect, it } from \"vitest\";\nimport { clamp } from \"../src/clamp.js\";\n\nit(\"returns something\", () => {\n  expect(clamp(4, 0, 10)).not.toBeNull();\n});\n"
	asserts := "import { it } from \"vitest\";\nimport { clamp } from \"../src/clamp.js\";\n\nit(\"clamps\", () => {\n  console.assert(clamp(12, 0, 10) === 10, \"clamp(12) should be 10\");\n});\n"
	cassette := map[string]string{
		"ts-strong": answer("src/clamp.ts", tsClamp, "test/clamp.test.ts", strong),
		"ts-weak":   answer("src/clamp.ts", tsClamp, "test/clamp.test.ts", weak),
		"ts-assert": answer("src/clamp.ts", strings.Replace(tsClamp, "n > hi ? hi : n", "n", 1), "test/clamp.test.ts", asserts),
		"ts-stub":   answer("src/clamp.ts", "/** Limits n. */\nexport function clamp(n: number, lo: number, hi: number): number {\n  throw new Error(\"not implemented\");\n}\n", "test/clamp.test.ts", "import { it } from \"vitest\";\nit(\"todo\", () => {});\n"),
	}
	runVerdicts(t, "typescript", dir, cassette, []verdictCase{
		{key: "ts-strong", title: "Add clamp to node-strings", accept: true, mention: "mutation score"},
		{key: "ts-weak", title: "Add clamp to node-strings", mention: "the tests still pass when clamp returns zero values or panics"},
		{key: "ts-assert", title: "Add clamp to node-strings", mention: "tests failed"},
		{key: "ts-stub", title: "Add clamp to node-strings", mention: "not-implemented stub"},
	})
}
