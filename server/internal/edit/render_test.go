package edit_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/edit"
)

const greetOrig = "package greet\n\n// Hello returns a greeting for name.\nfunc Hello(name string) string {\n\treturn \"hello, \" + name\n}\n"

// TestRenderExamplesParseAndApply keeps the prompt text and the parser in
// step: each format's own example must parse as that format and apply.
func TestRenderExamplesParseAndApply(t *testing.T) {
	t.Parallel()
	want := map[edit.Format]string{
		edit.FormatWholeFile:     greetOrig,
		edit.FormatSearchReplace: "package greet\n\n// Hello returns a greeting for name.\nfunc Hello(name string) string {\n\treturn \"Hello, \" + name + \"!\"\n}\n",
		edit.FormatUnifiedDiff:   "package greet\n\n// Hello returns a greeting for name.\nfunc Hello(name string) string {\n\treturn \"Hello, \" + name + \"!\"\n}\n",
	}
	for _, f := range edit.Formats() {
		t.Run(string(f), func(t *testing.T) {
			t.Parallel()
			text := edit.Render(f)
			require.NotEmpty(t, text)
			edits, findings := edit.Parse("Some instructions.\n\n" + text)
			require.Empty(t, findings)
			require.Len(t, edits, 1)
			require.Equal(t, f, edits[0].Format)
			require.Equal(t, "greet/greet.go", edits[0].Path)

			root := t.TempDir()
			require.NoError(t, os.MkdirAll(filepath.Join(root, "greet"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(root, "greet", "greet.go"), []byte(greetOrig), 0o644))
			_, findings, err := edit.Apply(root, edits)
			require.NoError(t, err)
			require.Empty(t, findings)
			got, err := os.ReadFile(filepath.Join(root, "greet", "greet.go"))
			require.NoError(t, err)
			require.Equal(t, want[f], string(got))
		})
	}
	require.Empty(t, edit.Render("bogus"))
}
