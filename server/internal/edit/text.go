package edit

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// doc is a text file as lines, remembering what splitting dropped so that
// writing it back changes only what an edit changed.
type doc struct {
	lines []string
	eol   bool // the last line ends in a newline
	crlf  bool // the file mostly uses CRLF line endings
}

func splitDoc(s string) doc {
	crlf := strings.Count(s, "\r\n")
	d := doc{crlf: crlf > 0 && crlf*2 >= strings.Count(s, "\n")}
	if crlf > 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	d.eol = s == "" || strings.HasSuffix(s, "\n")
	if s == "" {
		return d
	}
	d.lines = strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return d
}

func (d doc) String() string {
	if len(d.lines) == 0 {
		return ""
	}
	s := strings.Join(d.lines, "\n")
	if d.eol {
		s += "\n"
	}
	if d.crlf {
		s = strings.ReplaceAll(s, "\n", "\r\n")
	}
	return s
}

// splitText splits edit text (Search, Replace) into lines.
func splitText(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// matchMode is how loosely a block of lines matched.
type matchMode int

const (
	matchExact matchMode = iota
	matchTrailingSpace
	matchIndent
)

func (m matchMode) equal(a, b string) bool {
	switch m {
	case matchExact:
		return a == b
	case matchTrailingSpace:
		return strings.TrimRight(a, " \t") == strings.TrimRight(b, " \t")
	default:
		return strings.TrimSpace(a) == strings.TrimSpace(b)
	}
}

// locate finds needle in hay as whole lines, trying progressively looser
// comparisons, and among the matches at the first level that has any picks
// the one nearest hint (a 0-based line). It reports ok=false if none match.
func locate(hay, needle []string, hint int) (pos int, mode matchMode, ok bool) {
	if len(needle) == 0 || len(needle) > len(hay) {
		return 0, 0, false
	}
	for _, m := range []matchMode{matchExact, matchTrailingSpace, matchIndent} {
		best := -1
		for i := 0; i+len(needle) <= len(hay); i++ {
			if windowEqual(hay[i:i+len(needle)], needle, m) && (best < 0 || abs(i-hint) < abs(best-hint)) {
				best = i
			}
		}
		if best >= 0 {
			return best, m, true
		}
	}
	return 0, 0, false
}

func windowEqual(a, b []string, m matchMode) bool {
	for i := range b {
		if !m.equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// reindenter carries the indentation difference between the model's
// version of matched text and the file's over to the model's new lines, for
// matches made by ignoring indentation: a model that wrote four spaces where
// the file has a tab gets its new lines in tabs too.
type reindenter struct {
	// m maps each model indentation seen in the match to the file's.
	m         map[string]string
	modelUnit int // spaces per indentation level in the model's text
	fileUnit  int // spaces per level in the file, if it uses spaces
	fileTabs  bool
}

func newReindenter(model, file []string, mode matchMode) reindenter {
	if mode != matchIndent {
		return reindenter{}
	}
	r := reindenter{m: map[string]string{}}
	var mw, fw []int
	for i := range model {
		if strings.TrimSpace(model[i]) == "" {
			continue
		}
		mi, fi := leadingSpace(model[i]), leadingSpace(file[i])
		if _, ok := r.m[mi]; !ok {
			r.m[mi] = fi
		}
		mw = append(mw, width(mi))
		fw = append(fw, width(fi))
		r.fileTabs = r.fileTabs || strings.Contains(fi, "\t")
	}
	r.modelUnit, r.fileUnit = indentUnit(mw), indentUnit(fw)
	return r
}

func (r reindenter) apply(line string) string {
	if r.m == nil || strings.TrimSpace(line) == "" {
		return line
	}
	ind := leadingSpace(line)
	rest := line[len(ind):]
	if f, ok := r.m[ind]; ok {
		return f + rest
	}
	// Deeper than anything matched: translate the known prefix, then the
	// extra levels in the file's style.
	best, found := "", false
	for k := range r.m {
		if strings.HasPrefix(ind, k) && (!found || len(k) > len(best)) {
			best, found = k, true
		}
	}
	if !found {
		return line
	}
	levels := width(ind[len(best):]) / r.modelUnit
	extra := strings.Repeat(" ", r.fileUnit*levels)
	if r.fileTabs {
		extra = strings.Repeat("\t", levels)
	}
	return r.m[best] + extra + rest
}

// width measures indentation in columns, a tab counting as one level of
// four, which is all the precision reindenting needs.
func width(ind string) int {
	n := 0
	for _, c := range ind {
		if c == '\t' {
			n += 4
		} else {
			n++
		}
	}
	return n
}

// indentUnit guesses the width of one indentation level from the widths
// seen: the smallest positive gap between distinct widths, else 4.
func indentUnit(ws []int) int {
	slices.Sort(ws)
	unit := 0
	for i := 1; i < len(ws); i++ {
		if d := ws[i] - ws[i-1]; d > 0 && (unit == 0 || d < unit) {
			unit = d
		}
	}
	if unit == 0 {
		return 4
	}
	return unit
}

func leadingSpace(s string) string {
	return s[:len(s)-len(strings.TrimLeft(s, " \t"))]
}

// ---- similarity, for "closest lines" feedback ----

// bigrams returns the sorted character bigrams of a trimmed line, the basis
// of a Dice coefficient: cheap, and robust to the small edits that make
// model-written SEARCH text miss (renamed identifiers, changed whitespace).
func bigrams(s string) []uint64 {
	r := []rune(strings.TrimSpace(s))
	if len(r) < 2 {
		if len(r) == 1 {
			return []uint64{uint64(r[0])}
		}
		return nil
	}
	out := make([]uint64, 0, len(r)-1)
	for i := 0; i+1 < len(r); i++ {
		out = append(out, uint64(r[i])<<32|uint64(r[i+1]))
	}
	slices.Sort(out)
	return out
}

func dice(a, b []uint64) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	common := 0
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			common++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return 2 * float64(common) / float64(len(a)+len(b))
}

// Bounds on the closest-lines search, so a huge file or SEARCH text cannot
// make feedback slow.
const (
	maxScoredNeedle = 60
	maxShownLines   = 40
	maxShownWidth   = 200
	minShownScore   = 0.3
)

// nearest finds the window of len(needle) lines in hay most similar to
// needle, line by line, and returns its start and mean similarity.
func nearest(hay, needle []string) (start int, score float64) {
	if len(hay) == 0 || len(needle) == 0 {
		return 0, 0
	}
	scored := needle[:min(len(needle), maxScoredNeedle)]
	nb := make([][]uint64, len(scored))
	for i, l := range scored {
		nb[i] = bigrams(l)
	}
	hb := make([][]uint64, len(hay))
	for i, l := range hay {
		hb[i] = bigrams(l)
	}
	best, bestScore := 0, -1.0
	last := max(0, len(hay)-len(scored))
	for i := 0; i <= last; i++ {
		sum := 0.0
		for j := range nb {
			if i+j < len(hb) {
				sum += dice(nb[j], hb[i+j])
			}
		}
		if s := sum / float64(len(nb)); s > bestScore {
			best, bestScore = i, s
		}
	}
	return best, bestScore
}

// closestLines describes where the file comes closest to the lines the model
// expected, with line numbers, for a finding message.
func closestLines(path string, hay, needle []string) string {
	if len(hay) == 0 {
		return fmt.Sprintf("%s is empty.", path)
	}
	start, score := nearest(hay, needle)
	if score < minShownScore {
		return fmt.Sprintf("No lines in %s resemble them (best similarity %.0f%%); check that the edit is for the right file.", path, score*100)
	}
	end := min(len(hay), start+max(len(needle), 1))
	var b strings.Builder
	span := fmt.Sprintf("lines %d-%d", start+1, end)
	if end == start+1 {
		span = fmt.Sprintf("line %d", end)
	}
	fmt.Fprintf(&b, "The closest lines in %s (%s, %.0f%% similar) are:\n", path, span, score*100)
	shown := end
	if end-start > maxShownLines {
		shown = start + maxShownLines
	}
	width := len(fmt.Sprint(end))
	for i := start; i < shown; i++ {
		l := hay[i]
		l = clip(l, maxShownWidth)
		fmt.Fprintf(&b, "%*d| %s\n", width, i+1, l)
	}
	if shown < end {
		fmt.Fprintf(&b, "%*s| … (%d more lines)\n", width, "", end-shown)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// nearestLine is the 1-based line of hay where the lines most like needle
// start, or 0 when nothing resembles them.
func nearestLine(hay, needle []string) int {
	if len(hay) == 0 {
		return 0
	}
	start, score := nearest(hay, needle)
	if score < minShownScore {
		return 0
	}
	return start + 1
}

// clip shortens s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
