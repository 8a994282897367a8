// Package editformat is the one description of the edit formats Moose's
// extractor parses, shared by the host (server/internal/edit) and by proposer
// plugins that put it in their prompts, so the instructions a model reads and
// the parser that reads its answer can never drift apart.
//
// Three formats exist: "whole" (complete files in path-headed fences),
// "diff" (unified diffs) and "search_replace" (SEARCH/REPLACE blocks). The
// extractor's own names ("whole_file", "unified_diff") are accepted too.
package editformat

import "strings"

// Canonical returns "whole", "diff" or "search_replace" for any accepted
// spelling of a format; anything unknown is "whole", the format small models
// get right most often.
func Canonical(format string) string {
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "diff", "unified_diff", "udiff":
		return "diff"
	case "search_replace", "search-replace", "searchreplace":
		return "search_replace"
	}
	return "whole"
}

// Instructions tells a model how to write its changes in format, with a small
// example that the extractor parses and applies.
func Instructions(format string) string {
	switch Canonical(format) {
	case "diff":
		return diffInstructions
	case "search_replace":
		return searchReplaceInstructions
	}
	return wholeInstructions
}

// FenceRule is part of every format's instructions: a run of backticks
// inside the content (a README's code block, a diff's context line holding
// ```) as long as the fence closes the fence early and cuts the edit.
const FenceRule = "Fences: open and close every block with more backticks than the longest run of backticks anywhere inside it, " +
	"including inside unchanged or context lines: a line such as ``` in the content would otherwise close the block early. " +
	"Use ```` (four) when the content holds ```, five when it holds ````, and so on."

const wholeInstructions = "Write every file you create or change in full, each in its own fenced code block. " +
	"Put the file's path, relative to the repository root, alone on the line just before the opening fence. " +
	"Always write the complete file: never leave out code with \"...\" or comments such as \"rest unchanged\". " +
	FenceRule + "\n" +
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
	FenceRule + "\n" +
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
	FenceRule + "\n" +
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
