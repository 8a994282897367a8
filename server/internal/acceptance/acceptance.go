// Package acceptance judges a change by tests its proposer never saw, the way
// benchmark harnesses do: hidden test files written over the candidate tree,
// FAIL_TO_PASS tests that must go from failing to passing, PASS_TO_PASS tests
// that must keep passing, and a baseline run of the base commit that tells a
// failure the change caused from one that was already there (or that comes
// and goes: a flaky test).
//
// The package owns table test_baselines. It holds no process state: the
// pipeline runs the tests (in the sandbox, through the test validator) and
// asks this package what the results mean.
package acceptance

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/moosehq/moose/server/internal/edit"
	"github.com/moosehq/moose/server/internal/fault"
)

// Limits of the hidden-test fields of a work order.
const (
	MaxFiles     = 50
	MaxBytes     = 1 << 20 // all files together, and the patch on its own
	MaxTestIDs   = 500
	MaxTestIDLen = 500
)

// File is one hidden test file: a path relative to the repository root and
// its whole content.
type File struct {
	Path    string `json:"path"`
	Content string `json:"content"`
}

// Spec is what a work order says about acceptance tests.
type Spec struct {
	Files      []File   `json:"files,omitempty"`
	Patch      string   `json:"patch,omitempty"`
	FailToPass []string `json:"fail_to_pass,omitempty"`
	PassToPass []string `json:"pass_to_pass,omitempty"`
}

// Hidden reports whether the spec has hidden test content.
func (s Spec) Hidden() bool { return len(s.Files) > 0 || s.Patch != "" }

// Any reports whether the spec asks for anything at all.
func (s Spec) Any() bool { return s.Hidden() || len(s.FailToPass) > 0 || len(s.PassToPass) > 0 }

// Validate adds every problem of the spec to v, under the API's field names.
func (s Spec) Validate(v *fault.ValidationError) {
	if len(s.Files) > MaxFiles {
		v.Add("acceptance_tests", "must have at most %d files, got %d", MaxFiles, len(s.Files))
	}
	total := 0
	seen := map[string]bool{}
	for i, f := range s.Files {
		field := fmt.Sprintf("acceptance_tests[%d].path", i)
		p, err := edit.CleanPath(f.Path)
		switch {
		case err != nil:
			v.Add(field, "%v", err)
		case seen[p]:
			v.Add(field, "%q is given twice", p)
		}
		seen[p] = true
		if !utf8.ValidString(f.Content) {
			v.Add(fmt.Sprintf("acceptance_tests[%d].content", i), "must be UTF-8 text")
		}
		total += len(f.Content)
	}
	if total > MaxBytes {
		v.Add("acceptance_tests", "must hold at most %d bytes in all, got %d", MaxBytes, total)
	}
	if len(s.Patch) > MaxBytes {
		v.Add("acceptance_test_patch", "must be at most %d bytes, got %d", MaxBytes, len(s.Patch))
	} else if s.Patch != "" {
		if _, err := patchEdits(s.Patch); err != nil {
			v.Add("acceptance_test_patch", "%v", err)
		}
	}
	for field, ids := range map[string][]string{"fail_to_pass": s.FailToPass, "pass_to_pass": s.PassToPass} {
		if len(ids) > MaxTestIDs {
			v.Add(field, "must have at most %d tests, got %d", MaxTestIDs, len(ids))
		}
		for i, id := range ids {
			if err := checkID(id); err != nil {
				v.Add(fmt.Sprintf("%s[%d]", field, i), "%v", err)
			}
		}
	}
	for _, id := range s.FailToPass {
		if slices.Contains(s.PassToPass, id) {
			v.Add("pass_to_pass", "%q is also in fail_to_pass", id)
		}
	}
}

func checkID(id string) error {
	switch {
	case strings.TrimSpace(id) == "":
		return fmt.Errorf("must not be empty")
	case len(id) > MaxTestIDLen:
		return fmt.Errorf("must be at most %d characters", MaxTestIDLen)
	case strings.ContainsAny(id, "\n\r\x00"):
		return fmt.Errorf("must be one line")
	}
	return nil
}

// Edits are the hidden tests as edits to apply over a candidate tree (every
// file whole, then the patch), and Paths the files they write.
func (s Spec) Edits() (edits []edit.Edit, paths []string, err error) {
	for _, f := range s.Files {
		content := f.Content
		if content != "" && !strings.HasSuffix(content, "\n") {
			content += "\n"
		}
		edits = append(edits, edit.Edit{Path: f.Path, Format: edit.FormatWholeFile, Content: content})
	}
	if s.Patch != "" {
		pe, err := patchEdits(s.Patch)
		if err != nil {
			return nil, nil, err
		}
		edits = append(edits, pe...)
	}
	for _, e := range edits {
		if p, err := edit.CleanPath(e.Path); err == nil && !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	return edits, paths, nil
}

// patchEdits parses a unified diff with moosed's own edit parser, fenced so
// the parser reads it as one diff block.
func patchEdits(patch string) ([]edit.Edit, error) {
	fence := strings.Repeat("`", max(3, longestRun(patch, '`')+1))
	body := patch
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	edits, findings := edit.Parse(fence + "diff\n" + body + fence + "\n")
	for _, f := range findings {
		return nil, fmt.Errorf("not a usable unified diff: %s", f.Message)
	}
	var out []edit.Edit
	for _, e := range edits {
		if e.Format != edit.FormatUnifiedDiff {
			return nil, fmt.Errorf("not a unified diff")
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("not a unified diff: no file in it")
	}
	return out, nil
}

func longestRun(s string, r rune) int {
	best, run := 0, 0
	for _, c := range s {
		if c == r {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}
