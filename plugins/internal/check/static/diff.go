package static

import (
	"strconv"
	"strings"
)

// AddedLines reads a unified diff (such as `git diff -U0 base`) and returns, per file of the
// new version, the line numbers the diff added. Deleted files are left out; a file whose
// content was all removed appears with no lines, so Check still sees it (and reports it as
// emptied).
func AddedLines(diff string) []File {
	var out []File
	cur := -1
	var newLine, oldLeft, newLeft int
	for _, line := range strings.Split(diff, "\n") {
		if oldLeft > 0 || newLeft > 0 {
			// Inside a hunk the header's counts say what each line is, so content that
			// looks like a header ("+++ x") is not mistaken for one.
			switch {
			case strings.HasPrefix(line, "+"):
				if cur >= 0 {
					out[cur].Lines = append(out[cur].Lines, newLine)
				}
				newLine++
				newLeft--
			case strings.HasPrefix(line, "-"):
				oldLeft--
			case strings.HasPrefix(line, `\`):
			default: // context
				newLine++
				newLeft--
				oldLeft--
			}
			continue
		}
		switch {
		case strings.HasPrefix(line, "+++ "):
			name := strings.TrimSpace(strings.TrimPrefix(line, "+++ "))
			if i := strings.IndexByte(name, '\t'); i >= 0 {
				name = name[:i]
			}
			if name == "/dev/null" {
				cur = -1
				continue
			}
			name = strings.TrimPrefix(strings.Trim(name, `"`), "b/")
			out = append(out, File{Path: name, Lines: []int{}})
			cur = len(out) - 1
		case strings.HasPrefix(line, "@@ "):
			newLine, oldLeft, newLeft = parseHunk(line)
		}
	}
	return out
}

// parseHunk parses "@@ -a,b +c,d @@" into the first new line and the two line counts.
func parseHunk(h string) (start, oldCount, newCount int) {
	f := strings.Fields(h)
	if len(f) < 3 {
		return 0, 0, 0
	}
	_, oldCount = rangeOf(strings.TrimPrefix(f[1], "-"))
	start, newCount = rangeOf(strings.TrimPrefix(f[2], "+"))
	return start, oldCount, newCount
}

func rangeOf(s string) (start, count int) {
	a, b, ok := strings.Cut(s, ",")
	start, _ = strconv.Atoi(a)
	if !ok {
		return start, 1
	}
	count, _ = strconv.Atoi(b)
	return start, count
}

// Changes are the changed files with their added lines: the tracked files
// the host's diff (ValidateRequest.diff, `git diff -U0` against the base) names,
// plus the changed paths it does not (new files, counted whole). Without a
// diff every changed path counts whole. Validators never run git themselves:
// the tree they see has no git directory, and generated code may have written
// there.
func Changes(diff string, changed []string) []File {
	if strings.TrimSpace(diff) == "" {
		return Whole(changed...)
	}
	files := AddedLines(diff)
	seen := map[string]bool{}
	for _, f := range files {
		seen[f.Path] = true
	}
	for _, p := range changed {
		if !seen[p] {
			files = append(files, Whole(p)...)
		}
	}
	return files
}
