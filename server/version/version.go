// Package version says which build of Moose a binary is, for the --version
// flag of moosed and moosectl: the main module's version and the commit it
// was built from, both as the Go toolchain recorded them in the binary
// (runtime/debug.ReadBuildInfo), so there is nothing to stamp with -ldflags
// and no release step that can forget to.
//
// It lives outside server/internal because moosectl uses it too, and it
// imports only the standard library, so a client binary pulls in nothing of
// the server.
//
// The toolchain records the commit only when it builds inside a git checkout
// with VCS stamping on (the default; -buildvcs=false or a linked git worktree
// turns it off), and the version only from a tagged commit or as a
// pseudo-version; otherwise the output says so ("(devel)", "commit unknown").
package version

import (
	"runtime/debug"
	"strings"
)

// String describes the running binary as program's version line, for
// example
//
//	moosectl v0.0.0-20261203083112-e32ed0da2d4a+dirty (commit e32ed0da2d4a, 2026-12-03T08:31:12Z, modified)
func String(program string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return Format(program, bi)
}

// Format is String for given build information; nil means the binary has
// none (built without module support).
func Format(program string, bi *debug.BuildInfo) string {
	ver := ""
	settings := map[string]string{}
	if bi != nil {
		ver = bi.Main.Version
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
	}
	if ver == "" {
		ver = "(devel)"
	}
	var b strings.Builder
	b.WriteString(program)
	b.WriteString(" ")
	b.WriteString(ver)
	rev := settings["vcs.revision"]
	if rev == "" {
		b.WriteString(" (commit unknown)")
		return b.String()
	}
	// Twelve hex digits, as in Go's pseudo-versions: unambiguous in any
	// repository of this size, and the same prefix the version shows.
	if len(rev) > 12 {
		rev = rev[:12]
	}
	b.WriteString(" (commit ")
	b.WriteString(rev)
	if t := settings["vcs.time"]; t != "" {
		b.WriteString(", ")
		b.WriteString(t)
	}
	if settings["vcs.modified"] == "true" {
		b.WriteString(", modified")
	}
	b.WriteString(")")
	return b.String()
}
