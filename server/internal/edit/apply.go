package edit

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
)

// maxFileSize bounds what Apply reads into memory; source files are far
// smaller, and a worktree file this large is not something to edit as text.
const maxFileSize = 32 << 20

// maxSymlinks bounds symlink resolution, as the kernel does (ELOOP).
const maxSymlinks = 40

// Apply applies edits, in order, to the directory tree at root and reports
// what changed. An edit that cannot be applied is skipped with a finding and
// the others still apply; several edits to one file apply in sequence to its
// edited content, and each file is written once at the end, atomically
// (temporary file and rename, which also keeps a hard link from carrying the
// write elsewhere).
//
// Nothing outside root is ever read or written: every path is checked by
// CleanPath, symbolic links among its parents are resolved by hand and must
// stay inside root and out of .git, a symbolic link as the target itself is
// refused, and all access goes through an os.Root as a second fence.
// Modified files keep their mode and line endings; new files get 0644 and
// any missing parent directories 0755.
//
// The error is reserved for failures that are not the edits' fault: root
// cannot be opened. Filesystem errors on single files are CategoryIO
// findings.
func Apply(root string, edits []Edit) (Result, []Finding, error) {
	return ApplyWith(root, edits, Policy{})
}

// Policy says which otherwise valid paths a proposal may change.
type Policy struct {
	// AllowGitMetadata lets edits change .gitattributes, .gitmodules and
	// .lfsconfig. Off by default: attributes select filters and diff drivers,
	// submodules and LFS configuration point git at other repositories and
	// programs, and a proposal asked to change code has no business there.
	AllowGitMetadata bool
}

// gitMetadata are the file names, in any directory, the default policy refuses.
var gitMetadata = map[string]bool{".gitattributes": true, ".gitmodules": true, ".lfsconfig": true}

// ApplyWith is Apply under a policy.
func ApplyWith(root string, edits []Edit, policy Policy) (Result, []Finding, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return Result{}, nil, fmt.Errorf("open worktree root: %w", err)
	}
	defer r.Close()
	a := &applier{root: r, files: map[string]*fileState{}, policy: policy}
	for _, e := range edits {
		a.apply(e)
	}
	res := a.write()
	return res, a.findings, nil
}

type fileState struct {
	path    string // as requested, cleaned: what Result reports
	real    string // symlinks in parents resolved: what is read and written
	existed bool
	orig    string
	mode    fs.FileMode
	exists  bool
	doc     doc
	// edit is the first edit that touched the file, for write findings.
	edit Edit
}

type applier struct {
	policy   Policy
	root     *os.Root
	files    map[string]*fileState
	order    []*fileState
	findings []Finding
	applied  int
}

func (a *applier) find(e Edit, category, format string, args ...any) {
	a.findings = append(a.findings, Finding{
		Category: category,
		Path:     e.Path,
		Block:    e.Block,
		Line:     e.Line,
		Message:  fmt.Sprintf(format, args...),
	})
}

func (a *applier) apply(e Edit) {
	st, ok := a.load(e)
	if !ok {
		return
	}
	var applied bool
	switch e.Format {
	case FormatWholeFile:
		applied = a.whole(st, e)
	case FormatSearchReplace:
		applied = a.searchReplace(st, e)
	case FormatUnifiedDiff:
		applied = a.diff(st, e)
	default:
		a.find(e, CategoryMalformed, "%s: unknown edit format %q.", describe(e), e.Format)
	}
	if applied {
		a.applied++
	}
}

// load validates e.Path and returns the file's state, reading it on first use.
func (a *applier) load(e Edit) (*fileState, bool) {
	clean, err := CleanPath(e.Path)
	if err != nil {
		a.find(e, CategoryUnsafePath, "%s: refused: %v.", describe(e), err)
		return nil, false
	}
	if base := path.Base(clean); gitMetadata[base] && !a.policy.AllowGitMetadata {
		a.find(e, CategoryRefusedPath, "%s: refused: proposals may not change %s (git acts on it); the work order must allow git metadata changes.", describe(e), base)
		return nil, false
	}
	real, category, err := a.resolve(clean)
	if err != nil {
		a.find(e, category, "%s: refused: %v.", describe(e), err)
		return nil, false
	}
	if st, ok := a.files[real]; ok {
		return st, true
	}
	st := &fileState{path: clean, real: real, mode: 0o644, edit: e}
	fi, err := a.root.Lstat(real)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		a.find(e, CategoryIO, "%s: cannot inspect %s: %v.", describe(e), clean, err)
		return nil, false
	case fi.Mode()&fs.ModeSymlink != 0:
		a.find(e, CategoryUnsafePath, "%s: refused: %s is a symbolic link, and edits are never written through links.", describe(e), clean)
		return nil, false
	case fi.IsDir():
		a.find(e, CategoryConflict, "%s: %s is a directory, not a file.", describe(e), clean)
		return nil, false
	case !fi.Mode().IsRegular():
		a.find(e, CategoryUnsafePath, "%s: refused: %s is not a regular file.", describe(e), clean)
		return nil, false
	case fi.Size() > maxFileSize:
		a.find(e, CategoryConflict, "%s: %s is too large to edit as text (%d bytes).", describe(e), clean, fi.Size())
		return nil, false
	default:
		b, err := a.root.ReadFile(real)
		if err != nil {
			a.find(e, CategoryIO, "%s: cannot read %s: %v.", describe(e), clean, err)
			return nil, false
		}
		st.existed, st.exists = true, true
		st.orig = string(b)
		st.doc = splitDoc(st.orig)
		st.mode = fi.Mode().Perm()
	}
	a.files[real] = st
	a.order = append(a.order, st)
	return st, true
}

// resolve follows symbolic links among the parents of a clean path and
// returns the real root-relative path. Links must be relative and stay
// inside the root; the resolved path must not enter .git. A missing parent
// ends resolution: Apply will create it as a plain directory.
func (a *applier) resolve(clean string) (string, string, error) {
	pending := strings.Split(clean, "/")
	var done []string
	links := 0
	for len(pending) > 1 {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			// Only a link target can bring ".." here.
			if len(done) == 0 {
				return "", CategoryUnsafePath, errors.New("a symbolic link in the path points outside the worktree")
			}
			done = done[:len(done)-1]
			continue
		}
		cand := path.Join(append(slices.Clone(done), c)...)
		fi, err := a.root.Lstat(cand)
		if errors.Is(err, fs.ErrNotExist) {
			// Nothing below a missing directory exists, unless a link
			// target climbs back out of it; refuse that rather than
			// resolve through a tree that is not there.
			if slices.Contains(pending, "..") {
				return "", CategoryUnsafePath, fmt.Errorf("a symbolic link in %s points through a missing directory", clean)
			}
			done = append(done, c)
			done = append(done, pending[:len(pending)-1]...)
			pending = pending[len(pending)-1:]
			break
		}
		if err != nil {
			if errors.Is(err, syscall.ENOTDIR) {
				return "", CategoryConflict, fmt.Errorf("a parent of %s is a file, not a directory", clean)
			}
			return "", CategoryIO, fmt.Errorf("inspect %s: %w", cand, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if !fi.IsDir() {
				return "", CategoryConflict, fmt.Errorf("%s is a file, so it cannot contain %s", cand, clean)
			}
			done = append(done, c)
			continue
		}
		links++
		if links > maxSymlinks {
			return "", CategoryUnsafePath, fmt.Errorf("too many symbolic links in %s", clean)
		}
		target, err := a.root.Readlink(cand)
		if err != nil {
			return "", CategoryIO, fmt.Errorf("read symbolic link %s: %w", cand, err)
		}
		if target == "" || strings.HasPrefix(target, "/") || strings.ContainsRune(target, 0) {
			return "", CategoryUnsafePath, fmt.Errorf("%s is a symbolic link to an absolute path, outside the worktree", cand)
		}
		pending = append(strings.Split(target, "/"), pending...)
	}
	done = append(done, pending...)
	real := path.Join(done...)
	if real == ".." || strings.HasPrefix(real, "../") {
		return "", CategoryUnsafePath, errors.New("a symbolic link in the path points outside the worktree")
	}
	if real == "" || real == "." {
		return "", CategoryUnsafePath, fmt.Errorf("%s does not name a file", clean)
	}
	for _, c := range done {
		if isGitDir(c) {
			return "", CategoryUnsafePath, fmt.Errorf("%s leads into .git through a symbolic link", clean)
		}
	}
	return real, "", nil
}

func (a *applier) whole(st *fileState, e Edit) bool {
	d := splitDoc(e.Content)
	if st.exists {
		// Keep the file's line endings: the model's come from the chat.
		d.crlf = st.doc.crlf
	}
	st.doc = d
	st.exists = true
	return true
}

func (a *applier) searchReplace(st *fileState, e Edit) bool {
	search, repl := splitText(e.Search), splitText(e.Replace)
	if strings.TrimSpace(e.Search) == "" {
		switch {
		case !st.exists:
			st.exists = true
			st.doc = doc{lines: repl, eol: true}
		case len(st.doc.lines) == 0:
			st.doc.lines, st.doc.eol = repl, true
		default:
			// An empty SEARCH on an existing file appends, as in Aider.
			st.doc.lines = append(st.doc.lines, repl...)
			st.doc.eol = true
		}
		return true
	}
	if !st.exists {
		a.find(e, CategoryFileNotFound, "%s: %s does not exist, so its SEARCH text cannot match. "+
			"To create a new file, leave the SEARCH section empty; to change an existing file, use its exact path.", describe(e), e.Path)
		return false
	}
	lines := st.doc.lines
	if isAddition(search, repl) {
		if pos, _, ok := locate(lines, repl, 0); ok {
			a.alreadyApplied(e, pos, fmt.Sprintf("%s: skipped: its REPLACE text only adds lines to the SEARCH text, and %s already has them at line %d; the change was made before, so it was not applied twice.",
				describe(e), e.Path, pos+1))
			return false
		}
	}
	if pos, mode, ok := locate(lines, search, 0); ok {
		ri := newReindenter(search, lines[pos:pos+len(search)], mode)
		out := make([]string, 0, len(lines)-len(search)+len(repl))
		out = append(out, lines[:pos]...)
		for _, l := range repl {
			out = append(out, ri.apply(l))
		}
		out = append(out, lines[pos+len(search):]...)
		st.doc.lines = out
		return true
	}
	// A SEARCH that is part of one line ("foo(1)") matches as plain text.
	text, needle := strings.Join(lines, "\n"), strings.Join(search, "\n")
	if i := strings.Index(text, needle); i >= 0 && strings.TrimSpace(needle) != "" {
		text = text[:i] + strings.Join(repl, "\n") + text[i+len(needle):]
		st.doc.lines = strings.Split(text, "\n")
		return true
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: the SEARCH text (%d line(s), starting %q) does not match %s, even ignoring whitespace.\n",
		describe(e), len(search), clip(firstNonBlank(search), 80), e.Path)
	b.WriteString(closestLines(e.Path, lines, search))
	if len(repl) > 0 {
		if pos, _, ok := locate(lines, repl, 0); ok {
			fmt.Fprintf(&b, "\nNote: the REPLACE text is already in %s starting at line %d; this change may already have been made.", e.Path, pos+1)
		}
	}
	b.WriteString("\nThe SEARCH section must copy existing lines of the current file exactly, including indentation and comments.")
	a.findings = append(a.findings, Finding{Category: CategorySearchNotFound, Path: e.Path, Block: e.Block, Line: e.Line,
		TargetLine: nearestLine(lines, search), Message: b.String()})
	return false
}

// alreadyApplied reports an edit (or hunk) whose result is already in the
// file at 0-based line pos.
func (a *applier) alreadyApplied(e Edit, pos int, msg string) {
	a.findings = append(a.findings, Finding{Category: CategoryAlreadyApplied, Path: e.Path, Block: e.Block, Line: e.Line,
		TargetLine: pos + 1, Message: msg})
}

// isAddition reports whether repl is search with lines added and none
// removed or changed, and adds at least one line that is not blank.
func isAddition(search, repl []string) bool {
	if len(repl) <= len(search) {
		return false
	}
	i := 0
	var added []string
	for _, l := range repl {
		if i < len(search) && l == search[i] {
			i++
			continue
		}
		added = append(added, l)
	}
	return i == len(search) && firstNonBlank(added) != ""
}

// hunkIsApplied reports where a hunk that only adds lines already stands in
// lines: its context and added lines, in order, near the hint.
func hunkIsApplied(lines []string, h Hunk, hint int) (int, bool) {
	var added []string
	for _, l := range h.Lines {
		switch l.Op {
		case OpDelete:
			return 0, false
		case OpAdd:
			added = append(added, l.Text)
		}
	}
	if firstNonBlank(added) == "" {
		return 0, false
	}
	_, nw := hunkSides(h)
	pos, _, ok := locate(lines, nw, hint)
	return pos, ok
}

func firstNonBlank(lines []string) string {
	for _, l := range lines {
		if t := strings.TrimSpace(l); t != "" {
			return t
		}
	}
	return ""
}

// hunkSides returns the lines a hunk expects (context and removed) and the
// lines it leaves (context and added).
func hunkSides(h Hunk) (old, new []string) {
	for _, l := range h.Lines {
		if l.Op != OpAdd {
			old = append(old, l.Text)
		}
		if l.Op != OpDelete {
			new = append(new, l.Text)
		}
	}
	return old, new
}

func (a *applier) diff(st *fileState, e Edit) bool {
	if e.Delete {
		if !st.exists {
			a.find(e, CategoryFileNotFound, "%s: the diff deletes %s, which does not exist.", describe(e), e.Path)
			return false
		}
		st.exists = false
		st.doc = doc{}
		return true
	}
	onlyAdds := true
	var created []string
	for _, h := range e.Hunks {
		old, nw := hunkSides(h)
		if firstNonBlank(old) != "" {
			onlyAdds = false
		}
		created = append(created, nw...)
	}
	if !st.exists {
		if !e.Create && !onlyAdds {
			a.find(e, CategoryFileNotFound, "%s: %s does not exist, so the diff's context lines cannot match. "+
				"For a new file, write --- /dev/null and +++ b/%s and start every line with +; to change an existing file, use its exact path.",
				describe(e), e.Path, e.Path)
			return false
		}
		st.exists = true
		st.doc = doc{lines: created, eol: len(e.Hunks) == 0 || !e.Hunks[len(e.Hunks)-1].NewNoEOL}
		return true
	}
	if e.Create {
		if len(st.doc.lines) == 0 || slices.Equal(st.doc.lines, created) {
			st.doc.lines, st.doc.eol = created, true
			return true
		}
		a.find(e, CategoryConflict, "%s: the diff creates %s from /dev/null, but it already exists. "+
			"Send a diff against its current content instead.", describe(e), e.Path)
		return false
	}

	ok := true
	drift, prevEnd, skipped := 0, 0, 0
	for k, h := range e.Hunks {
		lines := st.doc.lines
		old, _ := hunkSides(h)
		hint := prevEnd
		if h.OldStart > 0 {
			hint = h.OldStart - 1 + drift
		}
		if pos, done := hunkIsApplied(lines, h, hint); done {
			// A refinement that repeats an earlier cycle's addition would
			// otherwise add it twice ("TestX redeclared").
			a.findings = append(a.findings, Finding{Category: CategoryAlreadyApplied, Path: e.Path, Block: e.Block, Line: h.Line, TargetLine: pos + 1,
				Message: fmt.Sprintf("%s, hunk %d of %d (%s): skipped: it only adds lines, and %s already has them at line %d; the change was made before, so it was not applied twice.",
					describe(e), k+1, len(e.Hunks), h.Header, e.Path, pos+1)})
			skipped++
			continue
		}
		if len(old) == 0 {
			// Pure insertion: only the header says where.
			at := len(lines)
			if h.Header != "" && hunkRe.MatchString(h.Header) {
				at = h.OldStart + drift
			}
			at = max(0, min(at, len(lines)))
			var add []string
			for _, l := range h.Lines {
				add = append(add, l.Text)
			}
			st.doc.lines = slices.Concat(lines[:at], add, lines[at:])
			drift += len(add)
			prevEnd = at + len(add)
			continue
		}
		pos, mode, found := locate(lines, old, hint)
		if !found {
			ok = false
			var b strings.Builder
			fmt.Fprintf(&b, "%s, hunk %d of %d (%s): its context and removed lines (those starting with a space or -) do not match %s, even ignoring whitespace.\n",
				describe(e), k+1, len(e.Hunks), h.Header, e.Path)
			b.WriteString(closestLines(e.Path, lines, old))
			b.WriteString("\nContext and removed lines must copy the current file exactly; the @@ line numbers may be approximate.")
			a.findings = append(a.findings, Finding{
				Category: CategorySearchNotFound, Path: e.Path, Block: e.Block, Line: h.Line, TargetLine: nearestLine(lines, old), Message: b.String(),
			})
			continue
		}
		ri := newReindenter(old, lines[pos:pos+len(old)], mode)
		out := make([]string, 0, len(h.Lines))
		fi := pos
		for _, l := range h.Lines {
			switch l.Op {
			case OpContext:
				// Keep the file's own version of an unchanged line.
				out = append(out, lines[fi])
				fi++
			case OpDelete:
				fi++
			case OpAdd:
				out = append(out, ri.apply(l.Text))
			}
		}
		st.doc.lines = slices.Concat(lines[:pos], out, lines[pos+len(old):])
		if h.OldStart > 0 {
			drift = pos - (h.OldStart - 1)
		}
		drift += len(out) - len(old)
		prevEnd = pos + len(out)
		if prevEnd == len(st.doc.lines) {
			switch {
			case h.NewNoEOL:
				st.doc.eol = false
			case h.OldNoEOL:
				st.doc.eol = true
			}
		}
	}
	// An edit whose every hunk was already in place changed nothing.
	return ok && skipped < len(e.Hunks)
}

// write puts every changed file on disk and builds the result.
func (a *applier) write() Result {
	res := Result{Applied: a.applied}
	for _, st := range a.order {
		switch {
		case st.existed && !st.exists:
			if err := a.root.Remove(st.real); err != nil {
				a.find(st.edit, CategoryIO, "%s: cannot delete %s: %v.", describe(st.edit), st.path, err)
				continue
			}
			res.Deleted = append(res.Deleted, st.path)
		case st.exists:
			content := st.doc.String()
			if st.existed && content == st.orig {
				continue
			}
			if err := a.writeFile(st, content); err != nil {
				category := CategoryIO
				if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.EISDIR) {
					category = CategoryConflict
				}
				a.find(st.edit, category, "%s: cannot write %s: %v.", describe(st.edit), st.path, err)
				continue
			}
			if st.existed {
				res.Changed = append(res.Changed, st.path)
			} else {
				res.Created = append(res.Created, st.path)
			}
		}
	}
	slices.Sort(res.Created)
	slices.Sort(res.Changed)
	slices.Sort(res.Deleted)
	return res
}

func (a *applier) writeFile(st *fileState, content string) error {
	dir := path.Dir(st.real)
	if dir != "." {
		if err := a.root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	// Check again just before writing: an earlier edit may have replaced
	// a directory here, and a link must never be replaced or followed.
	if fi, err := a.root.Lstat(st.real); err == nil && (fi.Mode()&fs.ModeSymlink != 0 || fi.IsDir()) {
		return fmt.Errorf("%s is no longer a regular file", st.path)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(dir, ".moose-edit-"+hex.EncodeToString(rnd[:])+".tmp")
	f, err := a.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(content)
	// fchmod on the open file, not a chmod by name, so a swapped name
	// cannot redirect it; it also sets the exact mode whatever the umask.
	cerr := f.Chmod(st.mode)
	if err := errors.Join(werr, cerr, f.Close()); err != nil {
		_ = a.root.Remove(tmp)
		return err
	}
	if err := a.root.Rename(tmp, st.real); err != nil {
		_ = a.root.Remove(tmp)
		return err
	}
	return nil
}
