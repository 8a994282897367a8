package workorder_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/workorder"
)

func fields(t *testing.T, err error) []string {
	t.Helper()
	var ve *fault.ValidationError
	require.True(t, errors.As(err, &ve), "want a ValidationError, got %v", err)
	var out []string
	for _, v := range ve.Violations {
		out = append(out, v.Field)
	}
	return out
}

func TestNewWorkOrderValidate(t *testing.T) {
	t.Parallel()
	ok := func() workorder.NewWorkOrder {
		return workorder.NewWorkOrder{ProjectID: uuid.NewString(), Title: "Add Mod", Complexity: 3, AcceptanceCriteria: []string{"works"}}
	}
	require.NoError(t, func() error { n := ok(); return n.Validate() }())
	tooMany := make([]string, 51)
	for i := range tooMany {
		tooMany[i] = "c"
	}
	cases := []struct {
		name   string
		mutate func(*workorder.NewWorkOrder)
		want   []string
	}{
		{"empty title", func(n *workorder.NewWorkOrder) { n.Title = "" }, []string{"title"}},
		{"long title", func(n *workorder.NewWorkOrder) { n.Title = strings.Repeat("x", 201) }, []string{"title"}},
		{"title of 200 multibyte runes is fine", func(n *workorder.NewWorkOrder) { n.Title = strings.Repeat("é", 200) }, nil},
		{"long description", func(n *workorder.NewWorkOrder) { n.Description = strings.Repeat("x", 64<<10+1) }, []string{"description"}},
		{"complexity 0", func(n *workorder.NewWorkOrder) { n.Complexity = 0 }, []string{"complexity"}},
		{"complexity 11", func(n *workorder.NewWorkOrder) { n.Complexity = 11 }, []string{"complexity"}},
		{"51 criteria", func(n *workorder.NewWorkOrder) { n.AcceptanceCriteria = tooMany }, []string{"acceptance_criteria"}},
		{"long criterion", func(n *workorder.NewWorkOrder) { n.AcceptanceCriteria = []string{"ok", strings.Repeat("x", 2049)} }, []string{"acceptance_criteria[1]"}},
		{"malformed project", func(n *workorder.NewWorkOrder) { n.ProjectID = "p1" }, []string{"project_id"}},
		{"everything at once", func(n *workorder.NewWorkOrder) {
			n.Title, n.Complexity, n.ProjectID = "", 42, ""
		}, []string{"project_id", "title", "complexity"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := ok()
			tc.mutate(&n)
			err := n.Validate()
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.Equal(t, tc.want, fields(t, err))
		})
	}
}

func TestProjectValidate(t *testing.T) {
	t.Parallel()
	p := workorder.Project{}
	require.Equal(t, []string{"name", "repo_url", "default_branch", "language"}, fields(t, p.Validate()))
	p = workorder.Project{Name: "n", RepoURL: "r", DefaultBranch: "main", Language: "go", Preset: "cobol"}
	require.Equal(t, []string{"preset"}, fields(t, p.Validate()))
}
