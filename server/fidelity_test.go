package server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

// The fidelity corpus (examples/fidelity, see its README) asks whether
// Moose's verdicts are right: every case is a small function with a gold
// answer and broken ones, each recorded as a proposer would write it and run
// through moosed, real plugin processes, real builds, tests and mutants.
// Without MOOSE_FIDELITY=1 only the answers each case lists under `slice`
// run, and every one of them must be classified correctly; with it the whole
// corpus runs (`make fidelity`), the confusion table is printed (and written
// to MOOSE_FIDELITY_REPORT when set), and the targets must hold: every
// correct answer accepted, at least 95% of the broken ones rejected.

const fidelityDir = "../examples/fidelity"

// fidelityCase is one case.yaml and its directory.
type fidelityCase struct {
	Title       string   `yaml:"title"`
	Description string   `yaml:"description"`
	Criteria    []string `yaml:"criteria"`
	// File is where the implementation goes, TestFile where its test goes.
	File     string `yaml:"file"`
	TestFile string `yaml:"test_file"`
	// StubTestFile is where the "stub" answer puts its test of something
	// else, leaving the base's stub in place.
	StubTestFile string `yaml:"stub_test_file"`
	// TestsOptional adds the "optional" answer: the implementation without
	// tests under tests_required: false, which must be accepted.
	TestsOptional bool `yaml:"tests_optional"`
	// Skip names standard answers the case leaves out (a fix whose
	// existing tests already prove it has no "weak" answer: a weak added
	// test changes nothing there).
	Skip []string `yaml:"skip"`
	// Slice names the answers that run in the normal `go test` run.
	Slice []string `yaml:"slice"`

	lang, name, dir string
}

// answerKind is one kind of answer: the pieces of the case directory it is
// made of (target path → piece file) and the verdict it must get.
type answerKind struct {
	name          string
	accept        bool
	testsRequired bool
	pieces        func(c fidelityCase, ext string) map[string]string
}

var answerKinds = []answerKind{
	{"gold", true, true, func(c fidelityCase, e string) map[string]string {
		return map[string]string{c.File: "impl" + e, c.TestFile: strongTest(e)}
	}},
	{"weak", false, true, func(c fidelityCase, e string) map[string]string {
		return map[string]string{c.File: "impl" + e, c.TestFile: weakTest(e)}
	}},
	{"wrong", false, true, func(c fidelityCase, e string) map[string]string {
		return map[string]string{c.File: "wrong" + e, c.TestFile: weakTest(e)}
	}},
	{"zero", false, true, func(c fidelityCase, e string) map[string]string {
		return map[string]string{c.File: "zero" + e, c.TestFile: weakTest(e)}
	}},
	{"stub", false, true, func(c fidelityCase, e string) map[string]string {
		return map[string]string{c.StubTestFile: stubTest(e)}
	}},
	{"notests", false, true, func(c fidelityCase, e string) map[string]string {
		return map[string]string{c.File: "impl" + e}
	}},
	{"optional", true, false, func(c fidelityCase, e string) map[string]string {
		if !c.TestsOptional {
			return nil
		}
		return map[string]string{c.File: "impl" + e}
	}},
}

func strongTest(ext string) string { return testPiece("strong", ext) }
func weakTest(ext string) string   { return testPiece("weak", ext) }
func stubTest(ext string) string   { return testPiece("stub", ext) }

func testPiece(name, ext string) string {
	if ext == ".go" {
		return name + "_test.go"
	}
	return name + ".test" + ext
}

// fidelityAnswer is one answer of one case, ready to run.
type fidelityAnswer struct {
	c             *fidelityCase
	kind          string
	accept        bool
	testsRequired bool
	text          string
}

func (a fidelityAnswer) key() string { return a.c.name + "/" + a.kind }

// fidelityOutcome is what moosed concluded.
type fidelityOutcome struct {
	a        fidelityAnswer
	accepted bool
	score    float64
	reason   string
	// strength is the test_coverage dimension's reasons (coverage, mutation
	// score, survivors), kept for every answer so a rule change can be
	// judged on the whole corpus (MOOSE_FIDELITY_ANSWERS).
	strength string
	cycles   int32
}

// fence wraps content in a fence longer than any run of backticks inside it.
func fence(path, content string) string {
	longest, run := 0, 0
	for _, r := range content {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	f := strings.Repeat("`", max(3, longest+1))
	if !strings.HasSuffix(content, "\n") {
		content += "\n"
	}
	return fmt.Sprintf("%s\n%s\n%s%s\n\n", path, f, content, f)
}

func loadFidelityCases(t *testing.T, lang string) []*fidelityCase {
	t.Helper()
	root := filepath.Join(fidelityDir, lang, "cases")
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	var out []*fidelityCase
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		data, err := os.ReadFile(filepath.Join(dir, "case.yaml"))
		require.NoError(t, err, dir)
		c := &fidelityCase{lang: lang, name: e.Name(), dir: dir}
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		dec.KnownFields(true)
		require.NoError(t, dec.Decode(c), dir)
		require.NotEmpty(t, c.Title, dir)
		require.NotEmpty(t, c.File, dir)
		require.NotEmpty(t, c.TestFile, dir)
		out = append(out, c)
	}
	return out
}

// answers builds every answer whose pieces the case has.
func (c *fidelityCase) answers(t *testing.T) []fidelityAnswer {
	t.Helper()
	ext := filepath.Ext(c.File)
	var out []fidelityAnswer
	for _, k := range answerKinds {
		pieces := k.pieces(*c, ext)
		if len(pieces) == 0 || slices.Contains(c.Skip, k.name) {
			continue
		}
		var paths []string
		complete := true
		for p, piece := range pieces {
			if p == "" {
				complete = false
				break
			}
			if _, err := os.Stat(filepath.Join(c.dir, piece)); err != nil {
				complete = false
				break
			}
			paths = append(paths, p)
		}
		if !complete {
			continue
		}
		sort.Strings(paths)
		var b strings.Builder
		for _, p := range paths {
			data, err := os.ReadFile(filepath.Join(c.dir, pieces[p]))
			require.NoError(t, err)
			b.WriteString(fence(p, string(data)))
		}
		out = append(out, fidelityAnswer{c: c, kind: k.name, accept: k.accept, testsRequired: k.testsRequired, text: b.String()})
	}
	require.NotEmpty(t, out, c.dir)
	require.Equal(t, "gold", out[0].kind, "%s: every case has a gold answer (impl and strong test)", c.dir)
	return out
}

// fidelityRepo makes the language's repository: its skeleton (every file
// directly in examples/fidelity/<lang>) and every case's base tree.
func fidelityRepo(t *testing.T, lang string, cases []*fidelityCase) string {
	t.Helper()
	dir := filepath.Join(servertest.RepoDir(t), "fidelity-"+lang)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	entries, err := os.ReadDir(filepath.Join(fidelityDir, lang))
	require.NoError(t, err)
	for _, e := range entries {
		if e.Type().IsRegular() && e.Name() != "README.md" {
			data, err := os.ReadFile(filepath.Join(fidelityDir, lang, e.Name()))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644))
		}
	}
	for _, c := range cases {
		base := filepath.Join(c.dir, "base")
		if _, err := os.Stat(base); err == nil {
			require.NoError(t, os.CopyFS(dir, os.DirFS(base)), c.dir)
		}
	}
	out, err := exec.Command("git", "-C", dir, "init", "-q", "-b", "main").CombinedOutput()
	require.NoError(t, err, string(out))
	gitCommitAll(t, dir)
	return dir
}

func fidelityLanguage(lang string) string {
	if lang == "ts" {
		return "typescript"
	}
	return lang
}

// runFidelity runs the answers of one language through one moosed.
func runFidelity(t *testing.T, lang string, full bool) []fidelityOutcome {
	t.Helper()
	cases := loadFidelityCases(t, lang)
	var answers []fidelityAnswer
	for _, c := range cases {
		for _, a := range c.answers(t) {
			if full || slices.Contains(c.Slice, a.kind) {
				answers = append(answers, a)
			}
		}
	}
	if len(answers) == 0 {
		return nil
	}
	var inRepo []*fidelityCase
	for _, c := range cases {
		if full || len(c.Slice) > 0 {
			inRepo = append(inRepo, c)
		}
	}
	repo := fidelityRepo(t, lang, inRepo)

	concurrency := 4
	if v, err := strconv.Atoi(os.Getenv("MOOSE_FIDELITY_CONCURRENCY")); err == nil && v > 0 {
		concurrency = v
	}
	srv := servertest.Start(t, servertest.WithBuiltinPlugins(t), servertest.WithConfig(func(c *server.Config) {
		c.MaxRefinements = -1 // the recorded answer is the verdict
		c.Concurrency = concurrency
		// moosed's own test-strength budget (20 mutants, 30 s) unless the
		// shared test machine needs more wall time.
		if d, err := time.ParseDuration(os.Getenv("MOOSE_FIDELITY_MUTATION_TIME")); err == nil {
			c.MutationTime = d
		}
	}))
	c := dial(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Minute)
	defer cancel()
	p, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "fidelity-" + lang, RepoUrl: repo, DefaultBranch: "main", Language: fidelityLanguage(lang)})
	require.NoError(t, err)
	cassette := map[string]string{}
	for _, a := range answers {
		cassette[a.key()] = a.text
	}
	v, err := moosev1.NewVariantServiceClient(c.conn).CreateVariant(ctx, &moosev1.CreateVariantRequest{
		Name: "fidelity-replay", PluginName: "replay", BaseUrl: writeCassette(t, cassette), EditFormat: "whole"})
	require.NoError(t, err)

	outcomes := make([]fidelityOutcome, len(answers))
	var wg sync.WaitGroup
	for i, a := range answers {
		var req *bool
		if !a.testsRequired {
			req = proto.Bool(false)
		}
		desc := strings.TrimSpace(a.c.Description)
		if a.testsRequired {
			desc += "\n\nWrite it with tests."
		}
		r, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(), VariantId: v.GetVariant().GetId(),
			Title: a.c.Title, Description: desc, AcceptanceCriteria: a.c.Criteria, Complexity: 2,
			Metadata: map[string]string{"replay_key": a.key()}, TestsRequired: req})
		require.NoError(t, err, a.key())
		_, err = c.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: r.GetWorkOrder().GetId()})
		require.NoError(t, err)
		outcomes[i].a = a
		wg.Add(1)
		go func(o *fidelityOutcome, id string) {
			defer wg.Done()
			// Watch until the work order ends; a watch refused (one token
			// holds at most --max-streams) or closed early is retried.
			var got *moosev1.GetWorkOrderResponse
			for {
				if stream, err := c.wos.WatchWorkOrder(ctx, &moosev1.WatchWorkOrderRequest{Id: id}); err == nil {
					for {
						if _, err := stream.Recv(); err != nil {
							break
						}
					}
				}
				var err error
				got, err = c.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: id})
				if err != nil {
					o.reason = "get work order: " + err.Error()
					return
				}
				if terminal(got.GetWorkOrder().GetStatus()) || ctx.Err() != nil {
					break
				}
				time.Sleep(time.Second)
			}
			wo := got.GetWorkOrder()
			o.accepted = wo.GetStatus() == moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED
			o.score = wo.GetResult().GetOverallScore()
			o.reason = wo.GetResult().GetFailureReason()
			o.cycles = wo.GetResult().GetCycles()
			for _, d := range wo.GetResult().GetDimensions() {
				if d.GetName() == "test_coverage" {
					o.strength = strings.Join(d.GetReasons(), "; ")
				}
			}
			if o.reason == "" {
				o.reason = wo.GetStatus().String() + "; test_coverage: " + o.strength
			}
		}(&outcomes[i], r.GetWorkOrder().GetId())
	}
	wg.Wait()
	require.NoError(t, ctx.Err(), "the corpus did not finish in time")
	return outcomes
}

// confusion counts outcomes: [should accept][accepted].
type confusion [2][2]int

func (m *confusion) add(o fidelityOutcome) {
	m[b2i(o.a.accept)][b2i(o.accepted)]++
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func pct(n, d int) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(d))
}

// fidelityReport renders the confusion tables and the misclassified answers.
func fidelityReport(byLang map[string][]fidelityOutcome) (string, confusion) {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LANGUAGE\tCASES\tANSWERS\tSHOULD ACCEPT: ACCEPTED\tREJECTED\tSHOULD REJECT: REJECTED\tACCEPTED\tCORRECT ACCEPTED\tBROKEN REJECTED")
	var total confusion
	langs := []string{"go", "ts"}
	totalCases := 0
	var wrong []fidelityOutcome
	for _, lang := range langs {
		outs := byLang[lang]
		if len(outs) == 0 {
			continue
		}
		var m confusion
		seen := map[string]bool{}
		for _, o := range outs {
			m.add(o)
			total.add(o)
			seen[o.a.c.name] = true
			if o.accepted != o.a.accept {
				wrong = append(wrong, o)
			}
		}
		totalCases += len(seen)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", lang, len(seen), len(outs), m[1][1], m[1][0], m[0][0], m[0][1],
			pct(m[1][1], m[1][1]+m[1][0]), pct(m[0][0], m[0][0]+m[0][1]))
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", totalCases, total[0][0]+total[0][1]+total[1][0]+total[1][1], total[1][1], total[1][0], total[0][0], total[0][1],
		pct(total[1][1], total[1][1]+total[1][0]), pct(total[0][0], total[0][0]+total[0][1]))
	tw.Flush()

	// Rejections by kind of answer, so a kind that slips through shows.
	kinds := map[string]*[2]int{}
	var kindNames []string
	for _, lang := range langs {
		for _, o := range byLang[lang] {
			k := kinds[o.a.kind]
			if k == nil {
				k = &[2]int{}
				kinds[o.a.kind] = k
				kindNames = append(kindNames, o.a.kind)
			}
			k[0]++
			if o.accepted == o.a.accept {
				k[1]++
			}
		}
	}
	b.WriteString("\nby answer: ")
	for i, k := range kindNames {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d/%d right", k, kinds[k][1], kinds[k][0])
	}
	b.WriteString("\n")
	if len(wrong) == 0 {
		b.WriteString("\nmisclassified: none\n")
	} else {
		fmt.Fprintf(&b, "\nmisclassified (%d):\n", len(wrong))
		for _, o := range wrong {
			verdict := "rejected"
			if o.accepted {
				verdict = "accepted"
			}
			fmt.Fprintf(&b, "  %s/%s %s at %.1f: %s\n", o.a.c.lang, o.a.key(), verdict, o.score, firstLines(o.reason, 3))
		}
	}
	return b.String(), total
}

// fidelityAnswers lists every answer: expected and actual verdict, score,
// cycles, and its test strength.
func fidelityAnswers(byLang map[string][]fidelityOutcome) string {
	var b strings.Builder
	for _, lang := range []string{"go", "ts"} {
		for _, o := range byLang[lang] {
			fmt.Fprintf(&b, "%s/%s\tshould=%s\tgot=%s\tscore=%.1f\tcycles=%d\t%s\n", lang, o.a.key(),
				map[bool]string{true: "accept", false: "reject"}[o.a.accept], map[bool]string{true: "accept", false: "reject"}[o.accepted],
				o.score, o.cycles, o.strength)
		}
	}
	return b.String()
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, " / ")
}

// TestFidelity runs the fidelity corpus (a slice of it unless
// MOOSE_FIDELITY=1) and checks every verdict against the expected one.
func TestFidelity(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real builds, tests and mutants")
	}
	full := os.Getenv("MOOSE_FIDELITY") == "1"
	t.Parallel()
	byLang := map[string][]fidelityOutcome{}
	var mu sync.Mutex
	t.Run("lang", func(t *testing.T) {
		for _, lang := range []string{"go", "ts"} {
			t.Run(lang, func(t *testing.T) {
				if lang == "ts" {
					if _, err := exec.LookPath("npm"); err != nil {
						t.Skip("npm not installed")
					}
				}
				if !full {
					t.Parallel()
				}
				outs := runFidelity(t, lang, full)
				mu.Lock()
				byLang[lang] = outs
				mu.Unlock()
			})
		}
	})
	report, total := fidelityReport(byLang)
	t.Logf("fidelity (%s):\n%s", map[bool]string{true: "full corpus", false: "slice"}[full], report)
	if p := os.Getenv("MOOSE_FIDELITY_REPORT"); p != "" {
		require.NoError(t, os.WriteFile(p, []byte(report), 0o644))
	}
	if p := os.Getenv("MOOSE_FIDELITY_ANSWERS"); p != "" {
		require.NoError(t, os.WriteFile(p, []byte(fidelityAnswers(byLang)), 0o644))
	}
	shouldAccept, shouldReject := total[1][1]+total[1][0], total[0][0]+total[0][1]
	require.Positive(t, shouldAccept)
	require.Positive(t, shouldReject)
	require.Equal(t, shouldAccept, total[1][1], "every correct answer must be accepted:\n%s", report)
	if full {
		require.GreaterOrEqual(t, float64(total[0][0]), 0.95*float64(shouldReject), "at least 95%% of the broken answers must be rejected:\n%s", report)
	} else {
		require.Equal(t, shouldReject, total[0][0], "every broken answer of the slice must be rejected:\n%s", report)
	}
}

func terminal(s moosev1.WorkOrderStatus) bool {
	switch s {
	case moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_NEEDS_REVIEW,
		moosev1.WorkOrderStatus_WORK_ORDER_STATUS_FAILED, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_CANCELLED:
		return true
	}
	return false
}
