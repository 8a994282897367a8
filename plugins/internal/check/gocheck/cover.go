package gocheck

import (
	"bufio"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/moosehq/moose/plugins/internal/check"
)

// ParseCoverProfile reads a Go cover profile into per-file statement coverage, with files
// relative to the module root. A block listed several times (as with -coverpkg) counts as
// covered if any listing covered it.
func ParseCoverProfile(profile, modulePath string) ([]check.FileCoverage, error) {
	type block struct {
		stmts int
		hit   bool
	}
	files := map[string]map[string]*block{}
	sc := bufio.NewScanner(strings.NewReader(profile))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "mode:") {
			continue
		}
		// example.com/m/pkg/file.go:3.30,5.2 1 1
		colon := strings.LastIndex(line, ":")
		fields := strings.Fields(line[colon+1:])
		if colon < 0 || len(fields) != 3 {
			return nil, fmt.Errorf("cover profile line %d: malformed %q", n, line)
		}
		stmts, err1 := strconv.Atoi(fields[1])
		count, err2 := strconv.Atoi(fields[2])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("cover profile line %d: malformed %q", n, line)
		}
		file := pkgDir(line[:colon], modulePath)
		if files[file] == nil {
			files[file] = map[string]*block{}
		}
		b := files[file][fields[0]]
		if b == nil {
			b = &block{stmts: stmts}
			files[file][fields[0]] = b
		}
		b.hit = b.hit || count > 0
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read cover profile: %w", err)
	}
	out := make([]check.FileCoverage, 0, len(files))
	for name, blocks := range files {
		fc := check.FileCoverage{File: name}
		for _, b := range blocks {
			fc.Total += b.stmts
			if b.hit {
				fc.Covered += b.stmts
			}
		}
		out = append(out, fc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out, nil
}
