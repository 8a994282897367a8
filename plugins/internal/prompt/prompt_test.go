package prompt_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/internal/prompt"
	"github.com/moosehq/moose/plugins/sdk"
	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
)

func firstCycle() *sdk.ProposeRequest {
	return &sdk.ProposeRequest{
		WorkOrder: &sdk.WorkOrder{Title: "Add Reverse", Description: "Reverse a string by runes.",
			AcceptanceCriteria: []string{"Reverse(\"héllo\") is \"olléh\"", "has a table test"}, Complexity: 2},
		Project: &sdk.ProjectContext{Name: "go-calc", Language: "go", FileTree: []string{"go.mod", "strutil/strutil.go"},
			Files:     []*sdk.File{{Path: "strutil/strutil.go", Content: "package strutil\n// ```weird```\n"}},
			Manifests: []*sdk.File{{Path: "go.mod", Content: "module example.com/calc\n"}}},
		Examples: []*pluginv1.Example{
			{WorkOrder: &sdk.WorkOrder{Title: "Example one"}, Proposal: "a.go\n```go\npackage a\n```"},
			{WorkOrder: &sdk.WorkOrder{Title: "Example two"}, Proposal: "b.go"},
		},
		Variant: &sdk.VariantConfig{Model: "m", EditFormat: "whole", FewShotCount: 1},
		Cycle:   1,
	}
}

func TestDefaultPromptFirstCycle(t *testing.T) {
	t.Parallel()
	p, err := prompt.Render(firstCycle())
	require.NoError(t, err)
	for _, s := range []string{"complete", "tests", "TODO"} {
		require.Contains(t, p.System, s)
	}
	require.Contains(t, p.System, "go repository")
	for _, s := range []string{
		"# Work order: Add Reverse", "Reverse a string by runes.", "- Reverse(\"héllo\") is \"olléh\"", "- has a table test",
		"Language: go", "strutil/strutil.go\n````go\npackage strutil\n// ```weird```\n````", "module example.com/calc",
		"Example 1: Example one", prompt.Instructions("whole"),
	} {
		require.Contains(t, p.User, s)
	}
	require.NotContains(t, p.User, "Example two", "few_shot_count caps the examples")
	require.NotContains(t, p.User, "previous attempt failed")
	require.Equal(t, prompt.Hash(p.System, p.User), p.Hash)
	require.Len(t, p.Hash, 64)
}

func TestRefinementPromptCarriesFailures(t *testing.T) {
	t.Parallel()
	req := firstCycle()
	req.Cycle = 3
	req.PreviousProposal = "strutil/strutil.go\n```go\npackage strutil\n```"
	req.Findings = []*sdk.Finding{
		{File: "strutil/strutil.go", Line: 4, Column: 2, Category: "type_error", Message: "cannot use r (rune) as string", Source: "build"},
		{Category: "no_tests", Message: "the proposal adds no tests"},
	}
	req.Feedback = "strutil/strutil.go:4:2: cannot use r (variable of type rune) as string value\nFAIL\texample.com/calc/strutil [build failed]\n"
	p, err := prompt.Render(req)
	require.NoError(t, err)
	for _, s := range []string{
		"previous attempt failed (this is attempt 3)", "Your previous answer:\n\n````\nstrutil/strutil.go\n```go", // fenced longer than its own fences
		"- strutil/strutil.go:4:2: [type_error] cannot use r (rune) as string (build)",
		"- [no_tests] the proposal adds no tests",
		"```text\n" + req.Feedback + "```",
		"with your previous attempt applied",
	} {
		require.Contains(t, p.User, s)
	}
	first, err := prompt.Render(firstCycle())
	require.NoError(t, err)
	require.NotEqual(t, first.Hash, p.Hash)
}

func TestVariantTemplates(t *testing.T) {
	t.Parallel()
	req := firstCycle()
	req.Variant.SystemPrompt = "You write {{.Project.Language}} for {{.Model}}."
	req.Variant.PromptTemplate = `{{.WorkOrder.Title}}|{{join .WorkOrder.AcceptanceCriteria ";"}}|{{.EditFormat}}|{{len .Examples}}|{{.Cycle}}`
	req.Variant.EditFormat = "unified_diff"
	p, err := prompt.Render(req)
	require.NoError(t, err)
	require.Equal(t, "You write go for m.\n", p.System)
	require.Equal(t, "Add Reverse|Reverse(\"héllo\") is \"olléh\";has a table test|diff|1|1\n", p.User)

	for _, bad := range []string{"{{.WorkOrder.Title", "{{.NoSuchField}}"} {
		req.Variant.PromptTemplate = bad
		_, err = prompt.Render(req)
		require.ErrorIs(t, err, prompt.ErrTemplate, bad)
	}
}

func TestInstructionsPerFormat(t *testing.T) {
	t.Parallel()
	tests := []struct{ format, want string }{
		{"", "in full"}, {"whole", "in full"}, {"whole_file", "in full"},
		{"diff", "unified diff"}, {"unified_diff", "unified diff"},
		{"search_replace", "<<<<<<< SEARCH"},
	}
	for _, tc := range tests {
		require.Contains(t, prompt.Instructions(tc.format), tc.want, tc.format)
	}
}

func TestFence(t *testing.T) {
	t.Parallel()
	require.Equal(t, "```go\nx\n```", prompt.Fence("x", "go"))
	require.Equal(t, "`````\na ```` b\n`````", prompt.Fence("a ```` b\n", ""))
}

func TestParsePlan(t *testing.T) {
	t.Parallel()
	obj := `{"work_orders":[{"title":" A ","description":"d","acceptance_criteria":["x"," "],"complexity":3},{"title":"B","complexity":42}]}`
	tests := []struct {
		name    string
		text    string
		limit   int
		titles  []string
		wantErr bool
	}{
		{"object", obj, 0, []string{"A", "B"}, false},
		{"fenced with prose", "Here is the plan:\n```json\n" + obj + "\n```\nGood luck.", 0, []string{"A", "B"}, false},
		{"bare array", `[{"title":"A"}]`, 0, []string{"A"}, false},
		{"limit", obj, 1, []string{"A"}, false},
		{"no json", "I cannot help with that.", 0, nil, true},
		{"empty plan", `{"work_orders":[]}`, 0, nil, true},
		{"missing title", `{"work_orders":[{"description":"d"}]}`, 0, nil, true},
		{"cut off", `{"work_orders":[{"title":"A"`, 0, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wos, err := prompt.ParsePlan(tc.text, tc.limit)
			if tc.wantErr {
				require.ErrorIs(t, err, prompt.ErrPlan)
				return
			}
			require.NoError(t, err)
			var titles []string
			for _, w := range wos {
				titles = append(titles, w.GetTitle())
				require.GreaterOrEqual(t, w.GetComplexity(), int32(1))
				require.LessOrEqual(t, w.GetComplexity(), int32(10))
			}
			require.Equal(t, tc.titles, titles)
		})
	}
	wos, err := prompt.ParsePlan(obj, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"x"}, wos[0].GetAcceptanceCriteria())
	require.EqualValues(t, 10, wos[1].GetComplexity())
}

func TestArchitectPrompt(t *testing.T) {
	t.Parallel()
	req := &sdk.DecomposeRequest{Spec: "# Calc\n\nAdd modulo.", SpecName: "calc.md",
		Project: &sdk.ProjectContext{Name: "go-calc", Language: "go", FileTree: []string{"calc/calc.go"}}}
	p, err := prompt.RenderArchitect(req)
	require.NoError(t, err)
	require.Contains(t, p.System, `"work_orders"`)
	for _, s := range []string{"# Spec: calc.md", "Add modulo.", "calc/calc.go", "at most 20 work orders"} {
		require.Contains(t, p.User, s)
	}
	require.False(t, strings.Contains(p.User, "<no value>"))
}

// TestDefaultPromptPutsStablePrefixFirst: what does not change comes first,
// so provider caches can serve it. Two work orders of one project share the
// first part (the project); two cycles of one work order share the first two
// (project, examples and the work order). Before, the work order's title
// opened the message, so no two work orders shared a cacheable prefix.
func TestDefaultPromptPutsStablePrefixFirst(t *testing.T) {
	t.Parallel()
	first, err := prompt.Render(firstCycle())
	require.NoError(t, err)
	require.Len(t, first.UserParts, 3)
	require.Equal(t, first.User, strings.Join(first.UserParts, ""))
	require.Equal(t, prompt.Hash(first.System, first.User), first.Hash)
	project, task, cycle := first.UserParts[0], first.UserParts[1], first.UserParts[2]
	require.True(t, strings.HasPrefix(project, "# Project\n"), project)
	require.Contains(t, project, "strutil/strutil.go\n")
	require.Contains(t, project, "module example.com/calc")
	require.NotContains(t, project, "Add Reverse")
	require.Contains(t, task, "Example 1: Example one")
	require.Contains(t, task, "# Work order: Add Reverse")
	require.Contains(t, task, "- has a table test")
	require.NotContains(t, task, "// ```weird```", "the relevant files change per cycle")
	require.Contains(t, cycle, "## Relevant files")
	require.True(t, strings.HasSuffix(cycle, strings.TrimSpace(prompt.Instructions("whole"))+"\n"), "the format instructions close the message")

	other := firstCycle()
	other.WorkOrder = &sdk.WorkOrder{Title: "Add Capitalize", AcceptanceCriteria: []string{"Capitalize(\"go\") is \"Go\""}}
	op, err := prompt.Render(other)
	require.NoError(t, err)
	require.Equal(t, project, op.UserParts[0], "another work order of the project repeats the project part")
	require.NotEqual(t, task, op.UserParts[1])
	require.True(t, strings.HasPrefix(op.User, project))

	refine := firstCycle()
	refine.Cycle = 2
	refine.PreviousProposal = "strutil/strutil.go\n```go\npackage strutil\n```"
	refine.Project.Files[0].Content = "package strutil\n\nfunc Reverse(s string) string { return s }\n"
	rp, err := prompt.Render(refine)
	require.NoError(t, err)
	require.Equal(t, first.UserParts[:2], rp.UserParts[:2], "a refinement repeats project, examples and work order")
	require.True(t, strings.HasPrefix(rp.User, project+task))
	require.NotEqual(t, cycle, rp.UserParts[2])
	require.Contains(t, rp.UserParts[2], "previous attempt failed")
}

// TestCacheBreaks: a template's {{cachebreak}}s cut the user message and
// write nothing; blank parts merge, at most MaxCacheBreaks count, the system
// message is never cut, and text that looks like a breakpoint is just text.
func TestCacheBreaks(t *testing.T) {
	t.Parallel()
	p, err := prompt.RenderWith("sys{{cachebreak}}tem", "a{{cachebreak}}{{cachebreak}}  {{cachebreak}}b{{cachebreak}}c{{cachebreak}}d{{cachebreak}}e", nil)
	require.NoError(t, err)
	require.Equal(t, "system\n", p.System)
	require.Equal(t, "a  bcde\n", p.User)
	require.Equal(t, []string{"a", "  b", "c", "de\n"}, p.UserParts, "three breakpoints count; the fourth is ignored")

	p, err = prompt.RenderWith("s", "{{.}}", "one\x00cachebreak-0123\x00part")
	require.NoError(t, err)
	require.Equal(t, []string{p.User}, p.UserParts, "no breakpoint: one part")

	p, err = prompt.RenderWith("s", "{{cachebreak}}\n  only\n{{cachebreak}}", nil)
	require.NoError(t, err)
	require.Equal(t, []string{"only\n"}, p.UserParts)
}
