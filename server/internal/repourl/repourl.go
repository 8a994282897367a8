// Package repourl decides what a project's repo_url may point at.
//
// moosed runs as root and clones what a caller names, then sends the files to
// a model and pushes branches: a repo_url naming a local directory would let
// any caller read what only root can. So a repo_url is a remote URL of an
// allowed scheme (https, ssh, git, or scp-like user@host:path), or — only when
// the operator configured repository roots — a local path or file:// URL
// under one of them that the unprivileged user "nobody" can read: every
// directory from / down must be searchable by nobody, and the repository
// directory (and its .git) readable. The check uses mode bits (owner, group,
// other); ACLs are not consulted, so a path they would open to nobody is
// refused, never the reverse.
package repourl

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/moosehq/moose/server/internal/fault"
)

// Schemes are the remote URL schemes a repo_url may use.
var Schemes = []string{"https", "ssh", "git"}

// scpLike is git's user@host:path form (the path must not start with '/'
// followed by nothing, and the host must be a plain name).
var scpLike = regexp.MustCompile(`^[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:[^:]+$`)

// Policy checks repo_urls.
type Policy struct {
	// Roots are directories under which local paths and file:// URLs are
	// allowed. Empty: none are.
	Roots []string
	// UID and GID are who must be able to read a local repository; zero
	// values mean the user "nobody" (65534 when it is not in /etc/passwd).
	UID, GID uint32
}

// Check returns a ValidationError on field repo_url when raw is not allowed.
func (p Policy) Check(raw string) error {
	if reason := p.reason(raw); reason != "" {
		return fault.Invalid("repo_url", "%s", reason)
	}
	return nil
}

func (p Policy) reason(raw string) string {
	if raw == "" {
		return "is required"
	}
	if strings.HasPrefix(raw, "-") || strings.ContainsAny(raw, "\x00\n\r") {
		return "must not start with '-' or contain control characters"
	}
	if scpLike.MatchString(raw) && !strings.Contains(raw, "://") {
		return ""
	}
	var local string
	if filepath.IsAbs(raw) {
		local = raw
	} else if u, err := url.Parse(raw); err == nil && u.Scheme != "" {
		switch scheme := strings.ToLower(u.Scheme); {
		case scheme == "file":
			if u.Host != "" && u.Host != "localhost" {
				return "file:// URLs must name a local path"
			}
			local = u.Path
		case contains(Schemes, scheme):
			if u.Host == "" {
				return fmt.Sprintf("a %s URL needs a host", scheme)
			}
			return ""
		default:
			return fmt.Sprintf("scheme %q is not allowed: use https, ssh, git or user@host:path", u.Scheme)
		}
	} else {
		return "must be a remote URL (https://, ssh://, git://, user@host:path) or an absolute path under a configured --repo-roots directory"
	}
	if len(p.Roots) == 0 {
		return "local paths and file:// URLs are not allowed on this server (no --repo-roots configured)"
	}
	return p.checkLocal(local)
}

func (p Policy) checkLocal(path string) string {
	clean := filepath.Clean(path)
	real, err := filepath.EvalSymlinks(clean)
	if err != nil {
		return fmt.Sprintf("local path %s cannot be read: %v", clean, errors.Unwrap(err))
	}
	under := false
	for _, root := range p.Roots {
		r, err := filepath.EvalSymlinks(filepath.Clean(root))
		if err != nil {
			continue
		}
		if real == r || strings.HasPrefix(real, r+string(filepath.Separator)) {
			under = true
			break
		}
	}
	if !under {
		return fmt.Sprintf("local path %s is not under a configured repository root (--repo-roots %s)", clean, strings.Join(p.Roots, ","))
	}
	uid, gid := p.who()
	// Every directory above must be searchable, the repository itself
	// readable and searchable, and so must its .git when there is one.
	dir := real
	var chain []string
	for {
		chain = append(chain, dir)
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	for _, d := range chain[1:] {
		if !allows(d, uid, gid, 0o1) {
			return fmt.Sprintf("local path %s is not readable by the unprivileged user (uid %d): %s is not searchable by it", clean, uid, d)
		}
	}
	targets := []string{real}
	if fi, err := os.Stat(filepath.Join(real, ".git")); err == nil && fi.IsDir() {
		targets = append(targets, filepath.Join(real, ".git"))
	}
	for _, d := range targets {
		if !allows(d, uid, gid, 0o5) {
			return fmt.Sprintf("local path %s is not readable by the unprivileged user (uid %d): %s", clean, uid, d)
		}
	}
	return ""
}

// allows reports whether uid/gid get the rwx bits want (e.g. 05 = r-x) on path.
func allows(path string, uid, gid uint32, want os.FileMode) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	mode := fi.Mode().Perm()
	var bits os.FileMode
	switch {
	case st.Uid == uid:
		bits = mode >> 6
	case st.Gid == gid:
		bits = mode >> 3
	default:
		bits = mode
	}
	return bits&want == want
}

func (p Policy) who() (uint32, uint32) {
	if p.UID != 0 {
		return p.UID, p.GID
	}
	uid, gid := uint32(65534), uint32(65534)
	if u, err := user.Lookup("nobody"); err == nil {
		if n, err := strconv.ParseUint(u.Uid, 10, 32); err == nil {
			uid = uint32(n)
		}
		if n, err := strconv.ParseUint(u.Gid, 10, 32); err == nil {
			gid = uint32(n)
		}
	}
	return uid, gid
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
