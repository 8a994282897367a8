package edit

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode"
)

// ErrUnsafePath is wrapped by CleanPath's errors.
var ErrUnsafePath = errors.New("unsafe path")

// maxPathLen bounds a path from an untrusted response; real repository paths
// are far shorter and PATH_MAX is 4096.
const maxPathLen = 1024

// CleanPath checks a model-supplied path without touching the filesystem and
// returns it in clean, slash-separated, root-relative form. Backslashes are
// read as separators (models trained on Windows output write them). It
// rejects empty paths, NUL and control characters, absolute and
// drive-lettered paths, home-relative "~" paths, any ".." component, and any
// component naming .git (case-insensitively, for case-insensitive
// filesystems). Symbolic links are Apply's business, since they need the tree.
func CleanPath(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("%w: empty path", ErrUnsafePath)
	}
	if len(p) > maxPathLen {
		return "", fmt.Errorf("%w: path longer than %d bytes", ErrUnsafePath, maxPathLen)
	}
	for _, r := range p {
		if r == 0 {
			return "", fmt.Errorf("%w: path contains a NUL byte", ErrUnsafePath)
		}
		if unicode.IsControl(r) {
			return "", fmt.Errorf("%w: path contains control character %q", ErrUnsafePath, r)
		}
	}
	s := strings.ReplaceAll(p, `\`, "/")
	if len(s) >= 2 && s[1] == ':' && isASCIILetter(s[0]) {
		return "", fmt.Errorf("%w: %q has a drive letter; use a path relative to the repository root", ErrUnsafePath, p)
	}
	if strings.HasPrefix(s, "/") {
		return "", fmt.Errorf("%w: %q is absolute; use a path relative to the repository root", ErrUnsafePath, p)
	}
	if strings.HasSuffix(s, "/") {
		return "", fmt.Errorf("%w: %q names a directory, not a file", ErrUnsafePath, p)
	}
	parts := strings.Split(s, "/")
	if parts[0] == "~" || strings.HasPrefix(parts[0], "~") {
		return "", fmt.Errorf("%w: %q is relative to a home directory; use a path relative to the repository root", ErrUnsafePath, p)
	}
	if slices.Contains(parts, "..") {
		return "", fmt.Errorf("%w: %q contains a \"..\" component", ErrUnsafePath, p)
	}
	for _, c := range parts {
		if isGitDir(c) {
			return "", fmt.Errorf("%w: %q is inside .git", ErrUnsafePath, p)
		}
	}
	c := path.Clean(s)
	if c == "." || c == "" {
		return "", fmt.Errorf("%w: %q does not name a file", ErrUnsafePath, p)
	}
	return c, nil
}

func isGitDir(component string) bool {
	// Trailing dots and spaces are dropped by Windows filesystems, so ".git."
	// would be .git there; refuse those spellings too.
	return strings.EqualFold(strings.TrimRight(component, ". "), ".git")
}

func isASCIILetter(b byte) bool {
	return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')
}
