package edit

import (
	"regexp"
	"strings"
	"unicode"
)

// Models name a file in many ways. These helpers find the name without
// mistaking prose or code for one: a false positive here writes a snippet
// over a real file, so anything ambiguous is left alone.

// knownBare are extensionless file names accepted as paths on their own.
var knownBare = map[string]bool{
	"Makefile": true, "makefile": true, "GNUmakefile": true, "Dockerfile": true, "Containerfile": true,
	"Jenkinsfile": true, "Procfile": true, "Gemfile": true, "Rakefile": true, "Vagrantfile": true,
	"Justfile": true, "justfile": true, "Taskfile": true, "LICENSE": true, "README": true,
	"CODEOWNERS": true, "BUILD": true, "WORKSPACE": true, "Brewfile": true, "Caddyfile": true,
}

var (
	listMarkerRe = regexp.MustCompile(`^(?:\d+[.)]|[-*+])\s+`)
	backtickRe   = regexp.MustCompile("`([^`]+)`")
	labels       = []string{
		"file path:", "filepath:", "filename:", "file name:", "file:", "path:",
		"new file:", "updated file:", "modified file:", "create file:", "update file:",
	}
)

// pathLike reports whether s could be a file path. strict is for a line that
// is nothing but the candidate; otherwise (prose) an extension must look like
// one, which keeps `fmt.Println` from being read as a file.
func pathLike(s string, strict bool) bool {
	if s == "" || len(s) > maxPathLen || strings.Contains(s, "://") {
		return false
	}
	hasLetter := false
	for _, r := range s {
		switch {
		case unicode.IsLetter(r):
			hasLetter = true
		case unicode.IsDigit(r), strings.ContainsRune("._-/+@~\\:", r):
		default:
			return false
		}
	}
	if !hasLetter || strings.HasSuffix(s, "/") || strings.HasSuffix(s, ".") {
		return false
	}
	base := s[strings.LastIndexAny(s, `/\`)+1:]
	if knownBare[base] {
		return true
	}
	if strings.ContainsAny(s, `/\`) && (strict || strings.Contains(base, ".")) {
		return base != ""
	}
	dot := strings.LastIndexByte(base, '.')
	if dot < 0 || dot == len(base)-1 {
		return false
	}
	if strict || dot == 0 {
		return true
	}
	ext := base[dot+1:]
	if len(ext) > 10 {
		return false
	}
	for _, r := range ext {
		if unicode.IsUpper(r) {
			return false
		}
	}
	return true
}

// headerPathBefore looks for a path header on the line before lines[i],
// allowing one blank line between.
func headerPathBefore(lines []string, i int) string {
	for j, blanks := i-1, 0; j >= 0; j-- {
		if strings.TrimSpace(lines[j]) == "" {
			blanks++
			if blanks > 1 {
				return ""
			}
			continue
		}
		return pathFromHeader(lines[j])
	}
	return ""
}

// pathFromHeader reads a path from a header line: "path/x.go", "`x.go`",
// "**x.go**", "### x.go", "File: x.go", "1. `x.go`", or a short prose
// line that ends in a colon or is a heading and names exactly one file
// ("Here is the updated `x.go`:").
func pathFromHeader(line string) string {
	s := strings.TrimSpace(line)
	if s == "" || len(s) > 300 {
		return ""
	}
	if _, ok := openFence(s); ok {
		return ""
	}
	if isSearchMarker(s) || isDividerMarker(s) || isReplaceMarker(s) {
		return ""
	}
	heading := strings.HasPrefix(s, "#")
	s = strings.TrimSpace(strings.TrimLeft(s, "#>"))
	s = listMarkerRe.ReplaceAllString(s, "")
	bold := strings.HasPrefix(s, "**") || strings.HasPrefix(s, "__")
	colon := strings.HasSuffix(strings.TrimRight(s, "*` "), ":")

	t := trimDecoration(s)
	lower := strings.ToLower(t)
	for _, l := range labels {
		if strings.HasPrefix(lower, l) {
			t = trimDecoration(t[len(l):])
			break
		}
	}
	if pathLike(t, true) {
		return t
	}
	if !(heading || bold || colon) {
		return ""
	}
	// Prose: take the single path-like token, preferring backticked ones.
	var found []string
	for _, m := range backtickRe.FindAllStringSubmatch(s, -1) {
		if c := trimDecoration(m[1]); pathLike(c, false) {
			found = append(found, c)
		}
	}
	if len(found) == 0 {
		for _, w := range strings.Fields(s) {
			if c := strings.Trim(trimDecoration(w), "(),;'\""); pathLike(c, false) {
				found = append(found, c)
			}
		}
	}
	if len(found) == 1 {
		return found[0]
	}
	return ""
}

// trimDecoration strips markdown emphasis, backticks, quotes and a trailing
// colon from around a candidate path.
func trimDecoration(s string) string {
	for {
		t := strings.TrimSpace(s)
		t = strings.TrimSuffix(t, ":")
		t = strings.Trim(t, "*`'\" ")
		if t == s {
			return t
		}
		s = t
	}
}

// parseInfo splits a fence info string into its language and a path if it
// carries one: "go", "go path/x.go", "path/x.go", "go:path/x.go",
// `go title="x.go"`.
func parseInfo(info string) (lang, path string) {
	fields := strings.Fields(info)
	for i, f := range fields {
		f = strings.Trim(f, `{}`)
		if k := strings.IndexByte(f, '='); k >= 0 {
			f = f[k+1:]
		}
		f = strings.Trim(f, `"'`)
		if i == 0 {
			if k := strings.IndexByte(f, ':'); k > 0 && !(k == 1 && isASCIILetter(f[0])) && isWord(f[:k]) {
				lang = f[:k]
				if c := f[k+1:]; pathLike(c, true) && strings.ContainsAny(c, "./") {
					return lang, c
				}
				continue
			}
			if pathLike(f, true) && strings.ContainsAny(f, `./\`) {
				return "", f
			}
			lang = f
			continue
		}
		if pathLike(f, true) && (strings.ContainsAny(f, `./\`) || knownBare[f]) {
			return lang, f
		}
	}
	return lang, ""
}

func isWord(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '+' && r != '-' && r != '#' {
			return false
		}
	}
	return s != ""
}

// commentPath reads a path from a first-line comment such as "// x.go" or
// "# path/to/x.py", the last place models put the name.
func commentPath(line string) string {
	s := strings.TrimSpace(line)
	for _, open := range []string{"//", "#", "--", "/*", "<!--", ";;", ";"} {
		if strings.HasPrefix(s, open) {
			t := strings.TrimSpace(strings.TrimPrefix(s, open))
			t = strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(t, "-->"), "*/"))
			lower := strings.ToLower(t)
			for _, l := range labels {
				if strings.HasPrefix(lower, l) {
					t = strings.TrimSpace(t[len(l):])
					break
				}
			}
			t = trimDecoration(t)
			if pathLike(t, true) && strings.ContainsAny(t, "./") {
				return t
			}
			return ""
		}
	}
	return ""
}
