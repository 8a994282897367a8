package repourl_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/repourl"
)

func TestRemoteURLs(t *testing.T) {
	t.Parallel()
	p := repourl.Policy{}
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"https://github.com/acme/widgets.git", true},
		{"ssh://git@github.com/acme/widgets.git", true},
		{"git://example.com/widgets", true},
		{"git@github.com:acme/widgets.git", true},
		{"http://example.com/widgets", false},
		{"ftp://example.com/widgets", false},
		{"ext::sh -c touch% /tmp/pwned", false},
		{"fd::3", false},
		{"https:///no-host", false},
		{"-uhttps://example.com", false},
		{"relative/path", false},
		{"/srv/repos/calc", false},
		{"file:///srv/repos/calc", false},
		{"", false},
	} {
		err := p.Check(tt.url)
		if tt.ok {
			require.NoError(t, err, tt.url)
			continue
		}
		var ve *fault.ValidationError
		require.True(t, errors.As(err, &ve), "%s: %v", tt.url, err)
		require.Equal(t, "repo_url", ve.Violations[0].Field)
	}
}

func TestLocalPathsUnderRoots(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make directories owned by others")
	}
	base, err := os.MkdirTemp("", "repourl-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.Chmod(filepath.Join(base, "root", "private"), 0o755); _ = os.RemoveAll(base) })
	require.NoError(t, os.Chmod(base, 0o755))
	root := filepath.Join(base, "root")
	mk := func(path string, mode os.FileMode) string {
		require.NoError(t, os.MkdirAll(path, 0o755))
		require.NoError(t, os.Chmod(path, mode))
		return path
	}
	open := mk(filepath.Join(root, "open"), 0o755)
	mk(filepath.Join(open, ".git"), 0o755)
	private := mk(filepath.Join(root, "private"), 0o700)
	inside := mk(filepath.Join(private, "repo"), 0o755)
	gitPrivate := mk(filepath.Join(root, "gitprivate"), 0o755)
	mk(filepath.Join(gitPrivate, ".git"), 0o700)
	outside := mk(filepath.Join(base, "outside"), 0o755)
	escape := filepath.Join(root, "escape")
	require.NoError(t, os.Symlink(outside, escape))

	p := repourl.Policy{Roots: []string{root}}
	require.NoError(t, p.Check(open))
	require.NoError(t, p.Check("file://"+open))
	for _, bad := range []string{inside, private, gitPrivate, outside, escape, filepath.Join(root, "absent"), root + "/../outside"} {
		err := p.Check(bad)
		require.Error(t, err, bad)
		var ve *fault.ValidationError
		require.True(t, errors.As(err, &ve), bad)
		require.Equal(t, "repo_url", ve.Violations[0].Field)
	}
	require.Contains(t, p.Check(inside).Error(), private+" is not searchable")
}
