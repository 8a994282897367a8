package acceptance

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/fault"
)

func res(suite, name, status string) Result { return Result{Suite: suite, Name: name, Status: status} }

func TestMatchReadsTheRunnersIdentifiers(t *testing.T) {
	results := []Result{
		res("example.com/m/calc", "TestAbs", Passed),
		res("example.com/m/calc", "TestAbs/negative", Failed),
		res("example.com/m/other", "TestAbs", Passed),
		res("test/clamp.test.ts", "clamps high values", Passed),
	}
	for id, want := range map[string]int{
		"example.com/m/calc.TestAbs":             1,
		"calc.TestAbs":                           1,
		"./calc.TestAbs":                         1,
		"TestAbs":                                2,
		"TestAbs/negative":                       1,
		"calc.TestAbs/negative":                  1,
		"test/clamp.test.ts::clamps high values": 1,
		"clamp.test.ts::clamps high values":      1,
		"calc.TestMissing":                       0,
		"alc.TestAbs":                            0,
	} {
		require.Len(t, Match(id, results), want, id)
	}
}

func TestClassifyFindsFailingAndFlakyTests(t *testing.T) {
	run := func(flakyStatus string) []Result {
		return []Result{res("m/a", "TestOK", Passed), res("m/a", "TestBroken", Failed), res("m/a", "TestFlaky", flakyStatus), res("m/a", "TestSkip", Skipped)}
	}
	b := Classify("abc", true, [][]Result{run(Failed), run(Passed), run(Failed)}, 10)
	require.Equal(t, []string{"m/a.TestOK"}, b.Passing)
	require.Equal(t, []string{"m/a.TestBroken"}, b.Failing)
	require.Equal(t, []string{"m/a.TestFlaky"}, b.Flaky)
	// A test missing from one run is flaky too.
	b = Classify("abc", true, [][]Result{{res("m/a", "TestX", Passed)}, {}}, 10)
	require.Equal(t, []string{"m/a.TestX"}, b.Flaky)
}

func TestSplitRepeatsTellsRepetitionsApart(t *testing.T) {
	// One command ran the suite three times: TestFlaky failed in the second.
	var all []Result
	for _, st := range []string{Passed, Failed, Passed} {
		all = append(all, res("m/a", "TestOK", Passed), res("m/a", "TestFlaky", st), res("m/b", "TestSkip", Skipped))
	}
	runs, ok := SplitRepeats(all, 3)
	require.True(t, ok)
	require.Len(t, runs, 3)
	require.Equal(t, Failed, runs[1][1].Status)
	b := Classify("abc", true, runs, 10)
	require.Equal(t, []string{"m/a.TestOK"}, b.Passing)
	require.Equal(t, []string{"m/a.TestFlaky"}, b.Flaky)

	// A repetition cut short (the binary died in the second): the runs
	// cannot be told apart, and the first repetition stands alone.
	cut := append(all[:3:3], res("m/a", "TestOK", Passed), res("m/a", "TestFlaky", Failed))
	_, ok = SplitRepeats(cut, 3)
	require.False(t, ok)
	_, ok = SplitRepeats(all, 2)
	require.False(t, ok, "more entries than repetitions")
	require.Equal(t, all[:3], FirstOccurrences(cut))
}

func TestJudgeGatesOnFailToPassAndPassToPass(t *testing.T) {
	base := &Baseline{Repeats: 3, Passing: []string{"m/a.TestOld", "m/a.TestOther"}, Failing: []string{"m/a.TestBroken"}, Flaky: []string{"m/a.TestFlaky"}}
	spec := Spec{Patch: "x", FailToPass: []string{"a.TestNew", "a.TestGhost"}}
	rep := Judge(spec, base, []Result{res("m/a", "TestNew", Passed), res("m/a", "TestOld", Passed), res("m/a", "TestOther", Failed)}, true)
	require.False(t, rep.Passed)
	require.ElementsMatch(t, []string{"a.TestGhost did not run", "m/a.TestOther failed"}, rep.Failures())
	require.Equal(t, 1, rep.DerivedPassed)

	// Named PASS_TO_PASS tests that fail or flake at base are excluded, not blamed.
	spec = Spec{FailToPass: []string{"a.TestNew"}, PassToPass: []string{"a.TestBroken", "a.TestFlaky", "a.TestOld"}}
	rep = Judge(spec, base, []Result{res("m/a", "TestNew", Passed), res("m/a", "TestOld", Passed), res("m/a", "TestBroken", Failed), res("m/a", "TestFlaky", Failed)}, true)
	require.True(t, rep.Passed, "%+v", rep)
	var excluded []string
	for _, o := range rep.Tests {
		if o.Excluded {
			excluded = append(excluded, o.ID+": "+o.Exclusion)
		}
	}
	require.ElementsMatch(t, []string{"a.TestBroken: failing at the base commit", "a.TestFlaky: flaky at the base commit"}, excluded)

	// FAIL_TO_PASS tests of the repository's own that already pass or flake
	// at base prove little: named in the notes, counted as doubtful.
	spec = Spec{FailToPass: []string{"a.TestOld", "a.TestFlaky", "a.TestNew"}}
	rep = Judge(spec, base, []Result{res("m/a", "TestNew", Passed), res("m/a", "TestOld", Passed), res("m/a", "TestFlaky", Passed)}, true)
	require.Equal(t, []string{"a.TestOld", "a.TestFlaky"}, rep.Doubtful)
	require.Contains(t, rep.Notes, "FAIL_TO_PASS test a.TestOld already passes at the base commit")

	// No run (the build failed): nothing passes.
	rep = Judge(Spec{FailToPass: []string{"a.TestNew"}}, nil, nil, false)
	require.False(t, rep.Passed)
}

func TestExcuseOnlyWhatTheBaseAlreadyFailed(t *testing.T) {
	base := &Baseline{Failing: []string{"m/a.TestBroken/case"}, Flaky: []string{"m/a.TestFlaky"}}
	excused, all := Excuse(base, []Result{res("m/a", "TestBroken", Failed), res("m/a", "TestBroken/case", Failed), res("m/a", "TestFlaky", Failed)})
	require.True(t, all)
	require.Len(t, excused, 3)
	_, all = Excuse(base, []Result{res("m/a", "TestFlaky", Failed), res("m/a", "TestNew", Failed)})
	require.False(t, all, "a new failure is the change's")
	_, all = Excuse(nil, []Result{res("m/a", "TestFlaky", Failed)})
	require.False(t, all)
}

func TestSpecValidationAndEdits(t *testing.T) {
	v := &fault.ValidationError{}
	Spec{Files: []File{{Path: ".git/hooks/x", Content: "x"}, {Path: "a_test.go", Content: "x"}, {Path: "a_test.go", Content: "y"}},
		Patch: "hello", FailToPass: []string{"a.TestX", "line\nbreak"}, PassToPass: []string{"a.TestX"}}.Validate(v)
	var fields []string
	for _, f := range v.Violations {
		fields = append(fields, f.Field)
	}
	require.ElementsMatch(t, []string{"acceptance_tests[0].path", "acceptance_tests[2].path", "acceptance_test_patch", "fail_to_pass[1]", "pass_to_pass"}, fields)

	s := Spec{Files: []File{{Path: "x/a_test.go", Content: "package x"}},
		Patch: "--- /dev/null\n+++ b/x/b_test.go\n@@ -0,0 +1 @@\n+package x\n"}
	v = &fault.ValidationError{}
	s.Validate(v)
	require.NoError(t, v.Err())
	edits, paths, err := s.Edits()
	require.NoError(t, err)
	require.Len(t, edits, 2)
	require.Equal(t, []string{"x/a_test.go", "x/b_test.go"}, paths)
}

func TestTestLimitFollowsTheBase(t *testing.T) {
	ceiling := 5 * time.Minute
	ran := func(ms int64) *Baseline {
		return &Baseline{BuildPassed: true, DurationMS: ms, Passing: []string{"p.TestA"}}
	}
	for name, tt := range map[string]struct {
		b    *Baseline
		want time.Duration
	}{
		"no baseline":        {nil, ceiling},
		"base did not build": {&Baseline{DurationMS: 2000, Passing: []string{"p.TestA"}}, ceiling},
		"no tests at base":   {&Baseline{BuildPassed: true, DurationMS: 2000}, ceiling},
		"fast suite":         {ran(1500), MinTestLimit},
		"ten times the base": {ran(12_300), 123 * time.Second},
		"capped by moosed's": {ran(45_000), ceiling},
	} {
		require.Equal(t, tt.want, TestLimit(tt.b, ceiling), name)
	}
}
