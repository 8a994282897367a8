package edit

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Parse extracts every edit from a model's response, in any mix of the three
// formats, and reports blocks it could not read as findings. If it finds no
// edits and nothing malformed, it reports a single CategoryNoEdits finding
// explaining what it saw. Parse never panics, whatever the input.
func Parse(response string) ([]Edit, []Finding) {
	text := strings.ReplaceAll(response, "\r\n", "\n")
	p := &parser{lines: strings.Split(text, "\n")}
	p.run()
	if len(p.edits) == 0 && len(p.findings) == 0 {
		p.findings = append(p.findings, Finding{Category: CategoryNoEdits, Message: p.noEditsMessage()})
	}
	return p.edits, p.findings
}

type parser struct {
	lines    []string
	edits    []Edit
	findings []Finding
	block    int
	// pathless counts fenced blocks that held code but named no file, so the
	// no-edits message can say what went wrong.
	pathless int
	fences   int
}

func (p *parser) nextBlock() int {
	p.block++
	return p.block
}

func (p *parser) malformed(block, line int, path, format string, args ...any) {
	p.findings = append(p.findings, Finding{
		Category: CategoryMalformed,
		Path:     path,
		Block:    block,
		Line:     line,
		Message:  fmt.Sprintf(format, args...),
	})
}

func (p *parser) noEditsMessage() string {
	switch {
	case p.pathless > 0:
		return fmt.Sprintf("The response has %d fenced code block(s) but none says which file it is for, so nothing was changed. "+
			"Put the file's path (relative to the repository root) alone on the line before the opening fence.", p.pathless)
	case p.fences > 0:
		return "The response has fenced blocks but none contains a whole file, a unified diff or a SEARCH/REPLACE block, so nothing was changed."
	default:
		return "The response contains no edits (no fenced file, unified diff or SEARCH/REPLACE block), so nothing was changed."
	}
}

func (p *parser) run() {
	for i := 0; i < len(p.lines); {
		line := p.lines[i]
		if f, ok := openFence(line); ok {
			i = p.fenced(i, f)
			continue
		}
		if isSearchMarker(line) {
			i = p.searchReplace(p.lines, i, 0, headerPathBefore(p.lines, i), true)
			continue
		}
		if diffStartsAt(p.lines, i) {
			i = p.diff(p.lines, i, 0, "", false, false)
			continue
		}
		i++
	}
}

// fence is an opening code fence.
type fence struct {
	char byte
	n    int
	info string
}

func openFence(line string) (fence, bool) {
	s := strings.TrimLeft(line, " \t")
	if len(s) < 3 || (s[0] != '`' && s[0] != '~') {
		return fence{}, false
	}
	c := s[0]
	n := 0
	for n < len(s) && s[n] == c {
		n++
	}
	if n < 3 {
		return fence{}, false
	}
	info := strings.TrimSpace(s[n:])
	// CommonMark: a backtick fence's info string has no backticks; without
	// this rule inline code such as ```x``` would open a block.
	if c == '`' && strings.ContainsRune(info, '`') {
		return fence{}, false
	}
	return fence{char: c, n: n, info: info}, true
}

func closesFence(line string, f fence) bool {
	s := strings.TrimSpace(line)
	if len(s) < f.n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != f.char {
			return false
		}
	}
	return true
}

// fenced handles the block opened at line i and returns the index after it.
func (p *parser) fenced(i int, f fence) int {
	p.fences++
	end := -1
	depth := 0
	for j := i + 1; j < len(p.lines); j++ {
		l := p.lines[j]
		if closesFence(l, f) {
			if depth == 0 {
				end = j
				break
			}
			depth--
			continue
		}
		// A three-character fence cannot hold a literal ``` line by the
		// rules, yet models put markdown (with its own fenced examples)
		// inside one. Treat an inner fence with an info string as nested so
		// its bare closer does not end the outer block. Longer outer fences
		// follow the plain rules: the model chose them on purpose.
		if f.n == 3 {
			if g, ok := openFence(l); ok && g.char == f.char && g.info != "" && g.n == 3 {
				depth++
			}
		}
	}
	unterminated := end < 0
	stop := end
	if unterminated {
		stop = len(p.lines)
	}
	body := p.lines[i+1 : stop]
	base := i + 1 // index in p.lines of body[0]
	next := stop + 1
	if unterminated {
		next = len(p.lines)
	}

	lang, infoPath := parseInfo(f.info)
	path := infoPath
	if path == "" {
		path = headerPathBefore(p.lines, i)
	}

	switch {
	case containsSearchMarker(body):
		// Later blocks in the same fence default to the last path named.
		for j := 0; j < len(body); {
			if isSearchMarker(body[j]) {
				path = pathOr(headerPathBefore(body, j), path)
				j = p.searchReplace(body, j, base, path, false)
				continue
			}
			j++
		}
	case isDiffLang(lang) && !hasPatchExt(infoPath) || looksLikeDiff(body) && !hasPatchExt(path):
		before := len(p.edits) + len(p.findings)
		firstFinding := len(p.findings)
		p.diff(body, 0, base, path, true, unterminated)
		if len(p.edits)+len(p.findings) == before {
			b := p.nextBlock()
			p.malformed(b, i+1, path, "diff block %d, fenced on line %d: the diff fence contains no hunks. "+
				"Write --- a/path and +++ b/path, then @@ -start,count +start,count @@ and the changed lines.", b, i+1)
		}
		if !unterminated {
			if rest := continuedDiff(p.lines, end+1); rest > end+1 {
				p.closedEarly(f, i, end, rest, path, firstFinding)
				next = rest
				// The fence that was meant to close the diff now stands
				// alone after it; do not read it as an opening fence.
				if next < len(p.lines) && closesFence(p.lines[next], f) {
					next++
				}
			}
		}
	default:
		if path == "" && len(body) > 0 {
			if cp := commentPath(body[0]); cp != "" {
				path = cp
				body = body[1:]
				base++
			}
		}
		if path == "" {
			if strings.TrimSpace(strings.Join(body, "")) != "" {
				p.pathless++
			}
			return next
		}
		b := p.nextBlock()
		if unterminated {
			p.malformed(b, i+1, path, "file block %d (%s): the code fence opened on line %d is never closed, so the file may be cut off; it was not applied. "+
				"Close every fence, and write the whole file.", b, path, i+1)
			return next
		}
		p.edits = append(p.edits, Edit{
			Path:    path,
			Format:  FormatWholeFile,
			Content: joinLines(body),
			Block:   b,
			Line:    i + 1,
		})
	}
	return next
}

// continuedDiff returns the index after the diff body lines (" ", "+", "-",
// "@@" and blank lines) that start at lines[i], or i when they do not look
// like a diff that was cut off by an early fence: there must be at least
// one added or removed line before the first line of prose.
func continuedDiff(lines []string, i int) int {
	j, changes := i, 0
	for ; j < len(lines); j++ {
		l := lines[j]
		if l == "" {
			continue
		}
		if _, ok := openFence(l); ok {
			break
		}
		switch {
		case strings.HasPrefix(l, "@@"), l[0] == ' ':
		case l[0] == '+' || l[0] == '-':
			changes++
		default:
			if changes == 0 {
				return i
			}
			return trimBlank(lines, i, j)
		}
	}
	if changes == 0 {
		return i
	}
	return trimBlank(lines, i, j)
}

// trimBlank moves end back over blank lines, not before start.
func trimBlank(lines []string, start, end int) int {
	for end > start && lines[end-1] == "" {
		end--
	}
	return end
}

// closedEarly reports a diff fence that a line of the diff itself closed:
// a context line holding a run of backticks as long as the fence. The lines
// after it (from end+1 to rest) are more of the diff and were not read.
func (p *parser) closedEarly(f fence, open, end, rest int, path string, firstFinding int) {
	why := fmt.Sprintf("the diff's fence (opened on line %d with %d %q) was closed early by line %d, %q, which is part of the diff's own content; "+
		"lines %d-%d after it are more of the diff and were not read. "+
		"Fence the diff with more backticks than any run inside it (for example %s diff).",
		open+1, f.n, string(f.char), end+1, strings.TrimSpace(p.lines[end]), end+2, rest, strings.Repeat(string(f.char), f.n+1))
	amended := false
	for k := firstFinding; k < len(p.findings); k++ {
		if p.findings[k].Category == CategoryMalformed {
			p.findings[k].Message += " Probably because " + why
			amended = true
		}
	}
	if !amended {
		b := p.nextBlock()
		p.malformed(b, end+1, path, "diff block %d: %s", b, why)
	}
}

func pathOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// joinLines turns body lines into file content ending in one newline.
func joinLines(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

// ---- SEARCH/REPLACE ----

var (
	searchRe  = regexp.MustCompile(`^<{5,9} ?SEARCH\b`)
	dividerRe = regexp.MustCompile(`^={5,9}$`)
	replaceRe = regexp.MustCompile(`^>{5,9} ?REPLACE\b`)
)

func isSearchMarker(l string) bool  { return searchRe.MatchString(strings.TrimSpace(l)) }
func isDividerMarker(l string) bool { return dividerRe.MatchString(strings.TrimSpace(l)) }
func isReplaceMarker(l string) bool { return replaceRe.MatchString(strings.TrimSpace(l)) }

func containsSearchMarker(lines []string) bool {
	for _, l := range lines {
		if isSearchMarker(l) {
			return true
		}
	}
	return false
}

// searchReplace reads the block whose SEARCH marker is lines[i] and returns
// the index after it. base maps indexes in lines to response lines.
// unfenced blocks end at their REPLACE marker; a missing marker is reported
// where the next block or the text ends.
func (p *parser) searchReplace(lines []string, i, base int, path string, unfenced bool) int {
	b := p.nextBlock()
	respLine := base + i + 1
	div, rep := -1, -1
	j := i + 1
	for ; j < len(lines); j++ {
		l := lines[j]
		if isSearchMarker(l) {
			break
		}
		if div < 0 && isDividerMarker(l) {
			div = j
			continue
		}
		if div >= 0 && isReplaceMarker(l) {
			rep = j
			break
		}
		if unfenced && div < 0 {
			// A fence opening or closing before the divider means the
			// model left the block; do not swallow the rest of the answer.
			if _, ok := openFence(l); ok {
				break
			}
		}
	}
	name := path
	if name == "" {
		name = "no file named"
	}
	switch {
	case div < 0:
		p.malformed(b, respLine, path, "SEARCH/REPLACE block %d (%s), starting on line %d: no ======= line divides the SEARCH text from the REPLACE text. "+
			"Each block is: <<<<<<< SEARCH, the old lines, =======, the new lines, >>>>>>> REPLACE.", b, name, respLine)
		return max(j, i+1)
	case rep < 0:
		p.malformed(b, respLine, path, "SEARCH/REPLACE block %d (%s), starting on line %d: no >>>>>>> REPLACE line ends the block. "+
			"Each block is: <<<<<<< SEARCH, the old lines, =======, the new lines, >>>>>>> REPLACE.", b, name, respLine)
		return max(j, i+1)
	case path == "":
		p.malformed(b, respLine, "", "SEARCH/REPLACE block %d, starting on line %d: no file path precedes it. "+
			"Put the file's path alone on the line before the block (or before its opening fence).", b, respLine)
		return rep + 1
	}
	p.edits = append(p.edits, Edit{
		Path:    path,
		Format:  FormatSearchReplace,
		Search:  joinLines(lines[i+1 : div]),
		Replace: joinLines(lines[div+1 : rep]),
		Block:   b,
		Line:    respLine,
	})
	return rep + 1
}

// ---- unified diff ----

var hunkRe = regexp.MustCompile(`^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@`)

func isDiffLang(lang string) bool {
	switch strings.ToLower(lang) {
	case "diff", "patch", "udiff", "git":
		return true
	}
	return false
}

func hasPatchExt(p string) bool {
	return strings.HasSuffix(p, ".diff") || strings.HasSuffix(p, ".patch")
}

func isFileHeader(lines []string, i int) bool {
	l := lines[i]
	if strings.HasPrefix(l, "diff --git ") {
		return true
	}
	return strings.HasPrefix(l, "--- ") && i+1 < len(lines) && strings.HasPrefix(lines[i+1], "+++ ")
}

func diffStartsAt(lines []string, i int) bool {
	return isFileHeader(lines, i)
}

func looksLikeDiff(body []string) bool {
	for i, l := range body {
		if strings.TrimSpace(l) == "" {
			continue
		}
		return isFileHeader(body, i) || strings.HasPrefix(l, "@@ ") || l == "@@" ||
			strings.HasPrefix(l, "Index: ")
	}
	return false
}

// diff reads a diff starting at lines[i] and returns the index after it.
// Fenced diffs run to the end of lines, skipping stray prose between files;
// bare diffs end at the first line that is not part of a diff.
func (p *parser) diff(lines []string, i, base int, defPath string, fenced, truncated bool) int {
	var cur *diffEdit
	// afterGit is set between a diff --git line and its ---/+++ pair, which
	// belong to the same file.
	afterGit := false
	flush := func() {
		if cur == nil {
			return
		}
		if cur.Path == "" {
			p.malformed(cur.Block, cur.Line, "", "diff block %d, starting on line %d: the --- and +++ lines name no file. "+
				"Write --- a/PATH and +++ b/PATH with the path relative to the repository root.", cur.Block, cur.Line)
		} else if len(cur.Hunks) > 0 || cur.Delete || cur.Create {
			p.edits = append(p.edits, cur.Edit)
		} else if !cur.hunkFindings {
			p.malformed(cur.Block, cur.Line, cur.Path, "diff block %d (%s), starting on line %d: the file header has no hunks. "+
				"After the --- and +++ lines, each change needs an @@ -start,count +start,count @@ line followed by the changed lines.", cur.Block, cur.Path, cur.Line)
		}
		cur = nil
	}
	start := func(path string, line int) {
		flush()
		cur = &diffEdit{Edit: Edit{Path: path, Format: FormatUnifiedDiff, Block: p.nextBlock(), Line: line}}
	}

	for i < len(lines) {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "diff --git "):
			a, b := gitHeaderPaths(strings.TrimPrefix(l, "diff --git "))
			start(pathOr(b, a), base+i+1)
			afterGit = true
			i++
		ext:
			for ; i < len(lines); i++ {
				h := lines[i]
				switch {
				case strings.HasPrefix(h, "new file mode"):
					cur.Create = true
				case strings.HasPrefix(h, "deleted file mode"):
					cur.Delete = true
				case strings.HasPrefix(h, "rename to "):
					cur.Path = strings.TrimSpace(strings.TrimPrefix(h, "rename to "))
				case strings.HasPrefix(h, "index "), strings.HasPrefix(h, "old mode"), strings.HasPrefix(h, "new mode"),
					strings.HasPrefix(h, "similarity index"), strings.HasPrefix(h, "rename from "),
					strings.HasPrefix(h, "dissimilarity index"), strings.HasPrefix(h, "copy "):
				default:
					break ext
				}
			}
		case isFileHeader(lines, i):
			oldP := diffPath(lines[i][4:], "a/")
			newP := diffPath(lines[i+1][4:], "b/")
			if !afterGit {
				start("", base+i+1)
			}
			afterGit = false
			cur.Create = cur.Create || oldP == "/dev/null"
			cur.Delete = cur.Delete || newP == "/dev/null"
			switch {
			case newP != "/dev/null" && newP != "":
				cur.Path = newP
			case oldP != "/dev/null" && oldP != "":
				cur.Path = oldP
			}
			if cur.Path == "" {
				cur.Path = defPath
			}
			if cur.Create && cur.Delete {
				cur.Create, cur.Delete = false, false
			}
			i += 2
		case strings.HasPrefix(l, "@@"), fenced && l != "" && strings.ContainsRune("+- ", rune(l[0])) && (cur != nil || defPath != ""):
			// The second form is a fenced hunk without its @@ line, which
			// models often leave out; its position is then unknown.
			afterGit = false
			if cur == nil {
				if defPath == "" {
					b := p.nextBlock()
					p.malformed(b, base+i+1, "", "diff block %d, hunk on line %d: the hunk has no file header and no path precedes the diff, so the file is unknown. "+
						"Start each file's diff with --- a/path and +++ b/path lines.", b, base+i+1)
					i = p.skipHunk(lines, i+1, fenced)
					continue
				}
				start(defPath, base+i+1)
			}
			i = p.hunk(lines, i, base, cur, fenced, truncated)
		case fenced:
			// Prose or "Index:" lines between files inside a fence.
			i++
		default:
			flush()
			return i
		}
	}
	flush()
	return i
}

// diffEdit is an Edit under construction.
type diffEdit struct {
	Edit
	// hunkFindings is set when a hunk was reported, so the file is not also
	// reported as having none.
	hunkFindings bool
}

// skipHunk steps over a hunk body that cannot be used.
func (p *parser) skipHunk(lines []string, i int, fenced bool) int {
	for i < len(lines) && !strings.HasPrefix(lines[i], "@@") && !isFileHeader(lines, i) {
		l := lines[i]
		if !fenced && l != "" && !strings.ContainsRune(" +-\\", rune(l[0])) {
			break
		}
		i++
	}
	return i
}

// hunk reads the hunk starting at lines[i] into cur and returns the index
// after it. lines[i] is an @@ header, or for a headerless fenced hunk its
// first body line.
func (p *parser) hunk(lines []string, i, base int, cur *diffEdit, fenced, truncated bool) int {
	h := Hunk{Line: base + i + 1}
	counted := false
	j := i
	if strings.HasPrefix(lines[i], "@@") {
		h.Header = strings.TrimSpace(lines[i])
		if m := hunkRe.FindStringSubmatch(lines[i]); m != nil {
			counted = true
			h.OldStart = atoi(m[1])
			h.OldLines = atoiDefault(m[2], 1)
			h.NewStart = atoi(m[3])
			h.NewLines = atoiDefault(m[4], 1)
		}
		j++
	} else {
		h.Header = "hunk without @@ header"
	}
	oldSeen, newSeen := 0, 0
	var last Op
	// rawBlank marks context lines written as empty lines (not " ").
	var rawBlank []bool
	add := func(op Op, text string, blank bool) {
		h.Lines = append(h.Lines, HunkLine{Op: op, Text: text})
		rawBlank = append(rawBlank, blank)
		if op != OpAdd {
			oldSeen++
		}
		if op != OpDelete {
			newSeen++
		}
		last = op
	}
body:
	for ; j < len(lines); j++ {
		l := lines[j]
		if strings.HasPrefix(l, "@@") || isFileHeader(lines, j) {
			break
		}
		// Outside a fence nothing bounds the diff, so trust the counts
		// once they are met; inside one the fence does, and model-written
		// counts are too often wrong to cut a hunk short.
		if !fenced && counted && oldSeen >= h.OldLines && newSeen >= h.NewLines &&
			(l == "" || !strings.ContainsRune(" +-\\", rune(l[0]))) {
			break
		}
		if l == "" {
			// Editors and models strip the space from blank context lines.
			add(OpContext, "", true)
			continue
		}
		switch l[0] {
		case ' ':
			add(OpContext, l[1:], false)
		case '-':
			add(OpDelete, l[1:], false)
		case '+':
			add(OpAdd, l[1:], false)
		case '\\':
			switch last {
			case OpDelete:
				h.OldNoEOL = true
			case OpAdd:
				h.NewNoEOL = true
			case OpContext:
				h.OldNoEOL, h.NewNoEOL = true, true
			}
		default:
			if !fenced {
				break body
			}
			// Inside a fence, a line without an operation character is a
			// context line whose leading space the model dropped.
			add(OpContext, l, false)
		}
	}
	// Empty lines at the end are separators, not context: dropping them only
	// loosens the match.
	for n := len(h.Lines); n > 0 && h.Lines[n-1].Op == OpContext && rawBlank[n-1]; n-- {
		h.Lines = h.Lines[:n-1]
		oldSeen--
		newSeen--
	}
	k := len(cur.Hunks) + 1
	changes := false
	for _, hl := range h.Lines {
		if hl.Op != OpContext {
			changes = true
			break
		}
	}
	atEnd := j >= len(lines)
	switch {
	case counted && (oldSeen < h.OldLines || newSeen < h.NewLines) && atEnd && (truncated || !fenced):
		cur.hunkFindings = true
		p.malformed(cur.Block, h.Line, cur.Path, "diff block %d (%s), hunk %d (%s): the response ends inside the hunk: the header promises %d old and %d new lines but only %d and %d follow. "+
			"The answer was probably cut off; send a shorter diff.", cur.Block, cur.Path, k, h.Header, h.OldLines, h.NewLines, oldSeen, newSeen)
	case !changes:
		cur.hunkFindings = true
		p.malformed(cur.Block, h.Line, cur.Path, "diff block %d (%s), hunk %d (%s) on line %d: the hunk has no lines starting with + or -, so it changes nothing.",
			cur.Block, cur.Path, k, h.Header, h.Line)
	default:
		cur.Hunks = append(cur.Hunks, h)
	}
	return j
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func atoiDefault(s string, def int) int {
	if s == "" {
		return def
	}
	return atoi(s)
}

// diffPath reads the path from a ---/+++ header, dropping a trailing
// timestamp and the conventional a/ or b/ prefix.
func diffPath(s, prefix string) string {
	if t := strings.IndexByte(s, '\t'); t >= 0 {
		s = s[:t]
	}
	s = strings.TrimSpace(s)
	s = unquote(s)
	if s == "/dev/null" {
		return s
	}
	return strings.TrimPrefix(s, prefix)
}

// gitHeaderPaths splits "a/x b/y" from a diff --git line.
func gitHeaderPaths(s string) (string, string) {
	s = strings.TrimSpace(s)
	if k := strings.Index(s, " b/"); strings.HasPrefix(s, "a/") && k >= 0 {
		return s[2:k], s[k+3:]
	}
	if f := strings.Fields(s); len(f) == 2 {
		return strings.TrimPrefix(f[0], "a/"), strings.TrimPrefix(f[1], "b/")
	}
	return "", ""
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		if u, err := strconv.Unquote(s); err == nil {
			return u
		}
	}
	return s
}
