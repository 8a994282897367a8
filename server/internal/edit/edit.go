package edit

import (
	"fmt"
	"slices"
	"strings"
)

// Format names one way of writing an edit.
type Format string

// The formats Parse recognises and Render describes.
const (
	FormatWholeFile     Format = "whole_file"
	FormatUnifiedDiff   Format = "unified_diff"
	FormatSearchReplace Format = "search_replace"
)

// Formats lists every supported format, in the order a prompt author would
// try them with a weak model (whole files are the most reliable).
func Formats() []Format {
	return []Format{FormatWholeFile, FormatSearchReplace, FormatUnifiedDiff}
}

// Valid reports whether f is one of the supported formats.
func (f Format) Valid() bool {
	switch f {
	case FormatWholeFile, FormatUnifiedDiff, FormatSearchReplace:
		return true
	}
	return false
}

// Edit is one proposed change to one file, as extracted from a response.
// Which fields matter depends on Format.
type Edit struct {
	// Path is the file path as the model wrote it (decoration and diff a/ b/
	// prefixes removed). It is untrusted: Apply validates it.
	Path   string
	Format Format

	// Content is the complete new file (FormatWholeFile).
	Content string

	// Hunks are the diff hunks for this file, in order (FormatUnifiedDiff).
	Hunks []Hunk
	// Create is set when the diff's old side is /dev/null.
	Create bool
	// Delete is set when the diff's new side is /dev/null.
	Delete bool

	// Search and Replace are the two halves of a SEARCH/REPLACE block
	// (FormatSearchReplace), each ending in a newline unless empty. An empty
	// Search creates the file, or appends to it if it already exists.
	Search, Replace string

	// Block is the 1-based ordinal of this edit in the response: each
	// whole-file block, each SEARCH/REPLACE block and each file of a diff
	// counts once. Findings use the same numbering.
	Block int
	// Line is the 1-based line of the response where the edit starts.
	Line int
}

// Op says what a hunk line does.
type Op byte

// Hunk line operations, spelled as in a unified diff.
const (
	OpContext Op = ' '
	OpDelete  Op = '-'
	OpAdd     Op = '+'
)

// HunkLine is one line of a hunk body, without its leading operation
// character or line terminator.
type HunkLine struct {
	Op   Op
	Text string
}

// Hunk is one "@@" section of a unified diff.
type Hunk struct {
	// OldStart, OldLines, NewStart and NewLines come from the "@@" header.
	// They are hints only: Apply locates a hunk by its text. All are zero
	// when the header had no numbers ("@@ ... @@").
	OldStart, OldLines, NewStart, NewLines int
	// Header is the "@@" line as written, for messages.
	Header string
	Lines  []HunkLine
	// OldNoEOL and NewNoEOL record "\ No newline at end of file" markers.
	OldNoEOL, NewNoEOL bool
	// Line is the 1-based response line of the "@@" header.
	Line int
}

// Finding categories. Failure analysis groups on these, so they are stable
// strings.
const (
	// CategoryMalformed: a block that cannot be read (unterminated fence,
	// SEARCH without REPLACE, truncated hunk, hunk without a file).
	CategoryMalformed = "malformed_edit"
	// CategorySearchNotFound: SEARCH text or a diff hunk's context and
	// removed lines are not in the file.
	CategorySearchNotFound = "search_not_found"
	// CategoryUnsafePath: a path that is absolute, climbs out with "..",
	// points into .git, or goes through or at a symbolic link.
	CategoryUnsafePath = "unsafe_path"
	// CategoryRefusedPath: a file the policy keeps proposals from changing
	// (.gitattributes, .gitmodules, .lfsconfig), because git and its tools
	// act on what those files say.
	CategoryRefusedPath = "refused_path"
	// CategoryNoEdits: the response contains nothing recognisable as an edit.
	CategoryNoEdits = "no_edits"
	// CategoryFileNotFound: an edit of existing text in a file that does not
	// exist (usually a wrong path).
	CategoryFileNotFound = "file_not_found"
	// CategoryConflict: the edit contradicts the tree: creating a file that
	// already exists with other content, writing to a directory, or a parent
	// that is a regular file.
	CategoryConflict = "conflict"
	// CategoryIO: the filesystem refused a read or write. Not the model's
	// fault; reported so the caller can tell the difference.
	CategoryIO = "io_error"
	// CategoryAlreadyApplied: a pure addition whose lines are already in the
	// file (a refinement repeating an earlier cycle's hunk). It is skipped,
	// not applied twice; nothing is wrong with the tree.
	CategoryAlreadyApplied = "already_applied"
)

// Finding is a problem with one edit or with the response as a whole.
// Message is written for the model: it is precise enough to act on.
type Finding struct {
	Category string
	Path     string
	// Block is the edit's ordinal in the response (see Edit.Block); 0 when
	// the finding is about the whole response.
	Block int
	// Line is the 1-based response line the finding refers to; 0 if none.
	Line int
	// TargetLine is the 1-based line of the target file the finding refers
	// to (where the text was expected, or the closest match); 0 if none.
	TargetLine int
	Message    string
}

// String renders the finding for logs and for model feedback.
func (f Finding) String() string {
	return fmt.Sprintf("[%s] %s", f.Category, f.Message)
}

// Feedback joins findings into one block of text for the next prompt.
func Feedback(findings []Finding) string {
	var b strings.Builder
	for i, f := range findings {
		if i > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(f.String())
	}
	return b.String()
}

// Result lists what Apply changed, as slash-separated paths relative to the
// root, each list sorted.
type Result struct {
	Created []string
	Changed []string
	Deleted []string
	// Applied counts edits that applied cleanly, including ones that turned
	// out to change nothing.
	Applied int
}

// Files returns every path Apply touched, sorted.
func (r Result) Files() []string {
	out := make([]string, 0, len(r.Created)+len(r.Changed)+len(r.Deleted))
	out = append(out, r.Created...)
	out = append(out, r.Changed...)
	out = append(out, r.Deleted...)
	slices.Sort(out)
	return out
}

func describe(e Edit) string {
	switch e.Format {
	case FormatSearchReplace:
		return fmt.Sprintf("SEARCH/REPLACE block %d (%s)", e.Block, e.Path)
	case FormatUnifiedDiff:
		return fmt.Sprintf("diff block %d (%s)", e.Block, e.Path)
	default:
		return fmt.Sprintf("file block %d (%s)", e.Block, e.Path)
	}
}
