package prompt

// DefaultSystem is the system prompt of a variant that sets none.
const DefaultSystem = `You are a senior software engineer making one change to an existing {{with .Project.Language}}{{.}} {{end}}repository.
You receive a work order and answer with the complete change that implements it.

Rules:
- Implement the work order completely. Never leave TODO or FIXME comments, stubs, placeholders, "not implemented" errors or panics, or code elided with "...".
- Add or update tests that prove every acceptance criterion, next to the code they test and in the project's existing test style. The project's build and test commands must pass with your change applied.
- Keep existing behaviour and public APIs unless the work order asks to change them, and follow the surrounding code's conventions.
- Use only the language's standard library and the dependencies already listed in the project's manifests.
- Write every change in the edit format described in the work order message; changes written any other way are lost. Keep any explanation to a sentence or two.
`

// DefaultUser is the user-message template of a variant that sets none.
const DefaultUser = `# Work order: {{.WorkOrder.Title}}
{{with .WorkOrder.Description}}
{{.}}
{{end}}
{{- with .WorkOrder.AcceptanceCriteria}}
## Acceptance criteria

{{range .}}- {{.}}
{{end}}{{end}}
{{- if or .Project.Name .Project.Language}}
## Project
{{with .Project.Name}}
Name: {{.}}{{end}}{{with .Project.Language}}
Language: {{.}}{{end}}
{{end}}
{{- with .Project.FileTree}}
## Files in the repository

{{range .}}{{.}}
{{end}}{{end}}
{{- with .Project.Manifests}}
## Dependency manifests
{{range .}}
{{.Path}}
{{fence .Content (lang .Path)}}
{{end}}{{end}}
{{- with .Project.Files}}
## Relevant files{{if $.Refinement}} (as they are now, with your previous attempt applied){{end}}
{{range .}}
{{.Path}}
{{fence .Content (lang .Path)}}
{{end}}{{end}}
{{- with .Examples}}
## Accepted answers to similar work orders
{{range $i, $e := .}}
### Example {{inc $i}}: {{$e.Title}}
{{with $e.AcceptanceCriteria}}
Acceptance criteria:
{{range .}}- {{.}}
{{end}}{{end}}
{{fence $e.Proposal ""}}
{{end}}{{end}}
{{- if .Refinement}}
## Your previous attempt failed (this is attempt {{.Cycle}})
{{with .PreviousProposal}}
Your previous answer:

{{fence . ""}}
{{end}}
{{- with .Findings}}
Problems found in it:

{{range .}}- {{with .Location}}{{.}}: {{end}}{{with .Category}}[{{.}}] {{end}}{{.Message}}{{with .Source}} ({{.}}){{end}}
{{end}}{{end}}
{{- with .Feedback}}
The exact build and test output:

{{fence . "text"}}
{{end}}
Fix every problem above. Write your corrections against the files as they are now; keep the parts of your previous attempt that worked.
{{end}}
## How to write your answer

{{.EditInstructions}}
`

// Instructions returns how to write edits in format ("whole", "diff",
// "search_replace", or the extractor's names "whole_file", "unified_diff"),
// consistent with what the host's extractor parses.
func Instructions(format string) string {
	switch CanonicalFormat(format) {
	case "diff":
		return diffInstructions
	case "search_replace":
		return searchReplaceInstructions
	}
	return wholeInstructions
}

const wholeInstructions = "Write every file you create or change in full, each in its own fenced code block. " +
	"Put the file's path, relative to the repository root, alone on the line just before the opening fence. " +
	"Always write the complete file: never leave out code with \"...\" or comments such as \"rest unchanged\". " +
	"If the file itself contains lines starting with ```, open and close its block with ```` (four backticks) instead.\n" +
	"\n" +
	"Example:\n" +
	"\n" +
	"greet/greet.go\n" +
	"```go\n" +
	"package greet\n" +
	"\n" +
	"// Hello returns a greeting for name.\n" +
	"func Hello(name string) string {\n" +
	"\treturn \"hello, \" + name\n" +
	"}\n" +
	"```\n"

const searchReplaceInstructions = "Describe each change as a SEARCH/REPLACE block: the file's path, relative to the repository root, alone on a line, " +
	"then a fenced block holding, each on its own line: <<<<<<< SEARCH, the lines to find, copied exactly from the current file, " +
	"=======, the lines that replace them, and >>>>>>> REPLACE.\n" +
	"\n" +
	"Rules: the SEARCH lines must match the current file character for character, including indentation, comments and blank lines. " +
	"Include just enough lines to make the match unique; only the first match is replaced. " +
	"Prefer several small blocks to one large one, and give each block its path. " +
	"To create a new file, leave the SEARCH section empty and put the whole file in REPLACE. To delete lines, leave REPLACE empty.\n" +
	"\n" +
	"Example:\n" +
	"\n" +
	"greet/greet.go\n" +
	"```go\n" +
	"<<<<<<< SEARCH\n" +
	"func Hello(name string) string {\n" +
	"\treturn \"hello, \" + name\n" +
	"}\n" +
	"=======\n" +
	"func Hello(name string) string {\n" +
	"\treturn \"Hello, \" + name + \"!\"\n" +
	"}\n" +
	">>>>>>> REPLACE\n" +
	"```\n"

const diffInstructions = "Describe your changes as a unified diff in a ```diff fenced block. " +
	"For each file write a --- a/PATH line and a +++ b/PATH line (paths relative to the repository root), " +
	"then one or more hunks, each starting with an @@ -START,COUNT +START,COUNT @@ line. " +
	"Every line of a hunk starts with one character: a space for an unchanged line, - for a removed line, + for an added line. " +
	"Include about three unchanged lines around each change, copied exactly from the current file; they locate the change, so they must match. " +
	"For a new file write --- /dev/null and start every line with +; to delete a file write +++ /dev/null.\n" +
	"\n" +
	"Example:\n" +
	"\n" +
	"```diff\n" +
	"--- a/greet/greet.go\n" +
	"+++ b/greet/greet.go\n" +
	"@@ -3,4 +3,4 @@\n" +
	" // Hello returns a greeting for name.\n" +
	" func Hello(name string) string {\n" +
	"-\treturn \"hello, \" + name\n" +
	"+\treturn \"Hello, \" + name + \"!\"\n" +
	" }\n" +
	"```\n"
