// Package promptctx builds what a proposer sees of a worktree for one work
// order: the file tree (as git sees it, so ignored files never appear), the
// project's manifests, and the source files most relevant to the work order,
// all within a byte budget.
//
// Relevance is lexical on purpose: identifiers and words of the work order's
// title, description and acceptance criteria are matched against each file's
// path and content, weighted by how rare a term is in the repository
// (a term found in every file says nothing). A path the work order names
// outright wins, and files in its directory (or the directory a new file is to
// be created in) come next. It is cheap, deterministic and needs no index;
// retrieval of past attempts is a separate concern.
package promptctx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"

	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/moosehq/moose/server/internal/gitcmd"
)

// WorkOrder is the text that decides relevance.
type WorkOrder struct {
	Title              string
	Description        string
	AcceptanceCriteria []string
}

// Options bound the context. Zero values take the defaults.
type Options struct {
	// ByteBudget bounds Context.Size: tree paths plus file paths and contents (default 64 KiB).
	ByteBudget int
	// MaxTreeEntries caps FileTree (default 2000).
	MaxTreeEntries int
	// MaxFileBytes: larger files are never included (default 24 KiB).
	MaxFileBytes int
	// MaxScanFiles caps how many files are read to score content (default 5000),
	// so a huge repository costs bounded time; path-relevant files are read first.
	MaxScanFiles int
}

// DefaultByteBudget is the budget used when Options.ByteBudget is zero.
const DefaultByteBudget = 64 << 10

func (o Options) withDefaults() Options {
	if o.ByteBudget <= 0 {
		o.ByteBudget = DefaultByteBudget
	}
	if o.MaxTreeEntries <= 0 {
		o.MaxTreeEntries = 2000
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = 24 << 10
	}
	if o.MaxScanFiles <= 0 {
		o.MaxScanFiles = 5000
	}
	return o
}

// File is one file's content as shown to the proposer.
type File struct {
	Path    string // slash-separated, relative to the worktree
	Content string
	Reason  string // why it was chosen: "manifest", "named in work order", "matches: ..."
}

// Context is what Build returns.
type Context struct {
	FileTree      []string // sorted paths
	TreeTruncated bool     // FileTree lists only part of the worktree
	Files         []File   // manifests first, then by relevance
}

// Size is the bytes the context counts against the budget: each tree path
// plus a newline, and each file's path and content.
func (c Context) Size() int {
	n := 0
	for _, p := range c.FileTree {
		n += len(p) + 1
	}
	for _, f := range c.Files {
		n += len(f.Path) + len(f.Content)
	}
	return n
}

// manifests are build and dependency declarations: small, and they tell a
// model the language, framework and versions. Lock files are left out: large
// and nearly useless to a model.
var manifests = map[string]bool{
	"go.mod": true, "go.work": true, "package.json": true, "tsconfig.json": true,
	"Cargo.toml": true, "pyproject.toml": true, "requirements.txt": true, "setup.py": true,
	"setup.cfg": true, "Pipfile": true, "Gemfile": true, "pom.xml": true, "build.gradle": true,
	"build.gradle.kts": true, "settings.gradle": true, "composer.json": true, "Makefile": true,
	"CMakeLists.txt": true, "deno.json": true, "mix.exs": true, "pubspec.yaml": true,
}

// skipExt are extensions never worth a model's context, binary or generated.
var skipExt = map[string]bool{
	".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".ico": true, ".webp": true, ".pdf": true,
	".zip": true, ".gz": true, ".tgz": true, ".tar": true, ".jar": true, ".wasm": true, ".so": true,
	".exe": true, ".woff": true, ".woff2": true, ".ttf": true, ".map": true, ".lock": true, ".sum": true,
}

var lockNames = map[string]bool{"package-lock.json": true, "yarn.lock": true, "pnpm-lock.yaml": true, "npm-shrinkwrap.json": true}

var sourceExt = map[string]bool{
	".go": true, ".js": true, ".jsx": true, ".ts": true, ".tsx": true, ".mjs": true, ".cjs": true,
	".py": true, ".rs": true, ".java": true, ".kt": true, ".rb": true, ".php": true, ".c": true,
	".h": true, ".cc": true, ".cpp": true, ".hpp": true, ".cs": true, ".swift": true, ".scala": true,
	".proto": true, ".sql": true, ".vue": true, ".svelte": true, ".ex": true, ".exs": true, ".dart": true,
}

// ErrNotRepository means dir is not inside a git working tree.
var ErrNotRepository = errors.New("not a git working tree")

// Build assembles the proposer's context for wo from the worktree at dir.
func Build(ctx context.Context, dir string, wo WorkOrder, opts Options) (Context, error) {
	opts = opts.withDefaults()
	paths, err := listFiles(ctx, dir)
	if err != nil {
		return Context{}, err
	}
	var out Context
	budget := opts.ByteBudget

	// The tree gets at most a quarter of the budget: file contents are worth more.
	out.FileTree, out.TreeTruncated = pickTree(paths, opts.MaxTreeEntries, budget/4)
	budget -= out.Size()

	q := parseQuery(wo)
	chosen := map[string]bool{}
	add := func(p, content, reason string) bool {
		cost := len(p) + len(content)
		if cost > budget {
			return false
		}
		budget -= cost
		out.Files = append(out.Files, File{Path: p, Content: content, Reason: reason})
		chosen[p] = true
		return true
	}

	// Manifests, shallowest first, within a quarter of the budget; the
	// files named by the work order must not be crowded out by a monorepo's
	// hundred package.json files.
	manifestBudget := budget / 4
	var mans []string
	for _, p := range paths {
		if manifests[path.Base(p)] {
			mans = append(mans, p)
		}
	}
	sort.SliceStable(mans, func(i, j int) bool { return depth(mans[i]) < depth(mans[j]) })
	for _, p := range mans {
		content, ok := readText(dir, p, opts.MaxFileBytes)
		if !ok || len(p)+len(content) > manifestBudget {
			continue
		}
		if add(p, content, "manifest") {
			manifestBudget -= len(p) + len(content)
		}
	}

	ranked, err := rank(ctx, dir, paths, q, chosen, opts)
	if err != nil {
		return Context{}, err
	}
	for _, r := range ranked {
		if budget < 64 {
			break
		}
		add(r.path, r.content, r.reason)
	}
	return out, nil
}

func listFiles(ctx context.Context, dir string) ([]string, error) {
	cmd := gitcmd.Command(ctx, dir, nil, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("list files: %w", ctx.Err())
		}
		if strings.Contains(stderr.String(), "not a git repository") {
			return nil, fmt.Errorf("list files in %s: %w", dir, ErrNotRepository)
		}
		return nil, fmt.Errorf("list files in %s: %w: %s", dir, err, strings.TrimSpace(stderr.String()))
	}
	var paths []string
	for _, f := range bytes.Split(out, []byte{0}) {
		if len(f) > 0 {
			paths = append(paths, string(f))
		}
	}
	slices.Sort(paths)
	return slices.Compact(paths), nil
}

// pickTree keeps the shallowest paths when the tree must be cut, so the
// proposer still sees the project's shape, then restores sorted order.
func pickTree(paths []string, maxEntries, maxBytes int) ([]string, bool) {
	ordered := slices.Clone(paths)
	sort.SliceStable(ordered, func(i, j int) bool { return depth(ordered[i]) < depth(ordered[j]) })
	var tree []string
	size := 0
	for _, p := range ordered {
		if len(tree) >= maxEntries || size+len(p)+1 > maxBytes {
			break
		}
		tree = append(tree, p)
		size += len(p) + 1
	}
	slices.Sort(tree)
	return tree, len(tree) < len(paths)
}

func depth(p string) int { return strings.Count(p, "/") }

// readText returns a file's content if it is a regular, small, text file.
func readText(dir, rel string, maxBytes int) (string, bool) {
	full := filepath.Join(dir, filepath.FromSlash(rel))
	info, err := os.Lstat(full)
	if err != nil || !info.Mode().IsRegular() || info.Size() > int64(maxBytes) {
		return "", false
	}
	b, err := os.ReadFile(full)
	if err != nil || len(b) > maxBytes {
		return "", false
	}
	if bytes.IndexByte(b[:min(len(b), 8000)], 0) >= 0 || !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}

// query is the work order reduced to terms and named paths.
type query struct {
	terms map[string]bool // lower-case words and identifier parts
	named []string        // path-like strings mentioned in the text
}

var (
	pathLike = regexp.MustCompile(`[A-Za-z0-9_.\-/]*[A-Za-z0-9_\-]\.[A-Za-z0-9]{1,8}\b|[A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-]+)+/?`)
	wordRe   = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
)

var stopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`the and for with that this from into when then than must should
		shall will would can could not are was were has have had been being all any each every
		its use used using add adds added new make makes return returns file files code test tests
		should also only more most such what which who why how out our your their them they there
		here via per one two get set let var func function const type string int bool true false nil
		null import package module export default public private static class void value values
		work order work_order acceptance criteria implement implemented ensure support`) {
		stopwords[w] = true
	}
}

func parseQuery(wo WorkOrder) query {
	text := wo.Title + "\n" + wo.Description + "\n" + strings.Join(wo.AcceptanceCriteria, "\n")
	q := query{terms: map[string]bool{}}
	for _, m := range pathLike.FindAllString(text, -1) {
		m = strings.Trim(strings.TrimPrefix(m, "./"), ".")
		if m != "" && !slices.Contains(q.named, m) {
			q.named = append(q.named, m)
		}
	}
	for _, w := range wordRe.FindAllString(text, -1) {
		for _, t := range terms(w) {
			if len(t) >= 3 && !stopwords[t] {
				q.terms[t] = true
			}
		}
	}
	return q
}

// terms splits an identifier into the whole (lower-cased) and its camelCase
// and snake_case parts: ParseHTTPConfig gives parsehttpconfig, parse, http, config.
func terms(ident string) []string {
	out := []string{strings.ToLower(ident)}
	var parts []string
	for _, chunk := range strings.FieldsFunc(ident, func(r rune) bool { return r == '_' || unicode.IsDigit(r) }) {
		runes := []rune(chunk)
		start := 0
		for i := 1; i < len(runes); i++ {
			lowerToUpper := unicode.IsLower(runes[i-1]) && unicode.IsUpper(runes[i])
			acronymEnd := i+1 < len(runes) && unicode.IsUpper(runes[i-1]) && unicode.IsUpper(runes[i]) && unicode.IsLower(runes[i+1])
			if lowerToUpper || acronymEnd {
				parts = append(parts, string(runes[start:i]))
				start = i
			}
		}
		parts = append(parts, string(runes[start:]))
	}
	if len(parts) > 1 {
		for _, p := range parts {
			out = append(out, strings.ToLower(p))
		}
	}
	return out
}

type candidate struct {
	path      string
	content   string
	pathScore float64
	named     string // named path this file is, or is near
	exact     bool
	hits      map[string]int
	score     float64
	reason    string
}

// rank scores files by named paths, path terms and content terms (weighted
// by inverse document frequency) and returns the relevant ones best first.
func rank(ctx context.Context, dir string, paths []string, q query, skip map[string]bool, opts Options) ([]candidate, error) {
	var cands []*candidate
	for _, p := range paths {
		if skip[p] || skipExt[strings.ToLower(path.Ext(p))] || lockNames[path.Base(p)] || strings.HasSuffix(p, ".min.js") {
			continue
		}
		c := &candidate{path: p}
		lp := strings.ToLower(p)
		for _, n := range q.named {
			ln := strings.ToLower(strings.TrimSuffix(n, "/"))
			switch {
			case lp == ln || strings.HasSuffix(lp, "/"+ln):
				c.exact, c.named = true, n
			case c.named == "" && (strings.HasPrefix(lp, ln+"/") || sameDir(lp, ln)):
				c.named = n
			}
		}
		for _, w := range wordRe.FindAllString(p, -1) {
			for _, t := range terms(w) {
				if q.terms[t] {
					c.pathScore++
				}
			}
		}
		cands = append(cands, c)
	}
	// Read the most promising files first, so MaxScanFiles cuts the least useful.
	sort.SliceStable(cands, func(i, j int) bool { return prelim(cands[i]) > prelim(cands[j]) })
	df := map[string]int{}
	scanned := 0
	for _, c := range cands {
		if scanned >= opts.MaxScanFiles {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("rank files: %w", err)
		}
		content, ok := readText(dir, c.path, opts.MaxFileBytes)
		if !ok {
			continue
		}
		scanned++
		c.content = content
		c.hits = map[string]int{}
		for _, w := range wordRe.FindAllString(content, -1) {
			for _, t := range terms(w) {
				if q.terms[t] {
					c.hits[t]++
				}
			}
		}
		for t := range c.hits {
			df[t]++
		}
	}
	n := float64(max(scanned, 1))
	var ranked []candidate
	for _, c := range cands {
		if c.hits == nil { // unreadable, binary, too big or not scanned
			continue
		}
		content := 0.0
		var matched []string
		for t, k := range c.hits {
			idf := math.Log(1 + n/float64(df[t]))
			content += idf * (1 + math.Log(float64(k)))
			matched = append(matched, t)
		}
		c.score = content + 3*c.pathScore
		switch {
		case c.exact:
			c.score += 1000
			c.reason = "named in work order"
		case c.named != "":
			c.score += 20
			c.reason = "near " + c.named
		}
		if c.score <= 0 {
			continue
		}
		if sourceExt[strings.ToLower(path.Ext(c.path))] {
			c.score *= 1.5
		}
		if c.reason == "" {
			slices.Sort(matched)
			if len(matched) > 6 {
				matched = matched[:6]
			}
			c.reason = "matches: " + strings.Join(matched, ", ")
		}
		ranked = append(ranked, *c)
	}
	sort.SliceStable(ranked, func(i, j int) bool {
		if ranked[i].score != ranked[j].score {
			return ranked[i].score > ranked[j].score
		}
		return ranked[i].path < ranked[j].path
	})
	return ranked, nil
}

func prelim(c *candidate) float64 {
	s := c.pathScore
	if c.exact {
		s += 1000
	} else if c.named != "" {
		s += 20
	}
	if sourceExt[strings.ToLower(path.Ext(c.path))] {
		s += 0.5
	}
	return s
}

// sameDir reports whether file p sits in the directory of named path n
// (n may name a file that does not exist yet).
func sameDir(p, n string) bool {
	nd := path.Dir(n)
	return nd != "." && path.Dir(p) == nd
}
