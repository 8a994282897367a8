package pluginhost_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/pluginhost"
)

func TestCheckDir(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		want    string // substring of the error; empty: accepted
	}{
		{"owner-writable directory", func(t *testing.T, dir string) { require.NoError(t, os.Chmod(dir, 0o755)) }, ""},
		{"private directory with manifest", func(t *testing.T, dir string) {
			require.NoError(t, os.Chmod(dir, 0o700))
			require.NoError(t, os.WriteFile(filepath.Join(dir, pluginhost.ManifestFile), []byte("{}"), 0o644))
		}, ""},
		{"group-writable directory", func(t *testing.T, dir string) { require.NoError(t, os.Chmod(dir, 0o775)) },
			"is writable by group or others (mode 0775): run chmod go-w "},
		{"world-writable directory", func(t *testing.T, dir string) { require.NoError(t, os.Chmod(dir, 0o757)) },
			"is writable by group or others (mode 0757)"},
		{"group-writable manifest", func(t *testing.T, dir string) {
			m := filepath.Join(dir, pluginhost.ManifestFile)
			require.NoError(t, os.WriteFile(m, []byte("{}"), 0o644))
			require.NoError(t, os.Chmod(m, 0o664))
		}, "plugin manifest "},
		{"symlinked manifest", func(t *testing.T, dir string) {
			other := filepath.Join(t.TempDir(), "m.json")
			require.NoError(t, os.WriteFile(other, []byte("{}"), 0o644))
			require.NoError(t, os.Symlink(other, filepath.Join(dir, pluginhost.ManifestFile)))
		}, "is a symbolic link"},
	}
	if os.Getuid() == 0 {
		tests = append(tests, struct {
			name    string
			prepare func(t *testing.T, dir string)
			want    string
		}{"directory of another user", func(t *testing.T, dir string) { require.NoError(t, os.Chown(dir, 65534, 65534)) },
			"is owned by uid 65534, not root or moosed's user"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tt.prepare(t, dir)
			err := pluginhost.CheckDir(dir)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
			require.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}

func TestManifestRoundTripAndRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"moose-plugin-b", "moose-plugin-a", "other"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(name), 0o755))
	}
	require.NoError(t, pluginhost.WriteManifest(dir, "moose-plugin-b", "moose-plugin-a"))
	fi, err := os.Stat(filepath.Join(dir, pluginhost.ManifestFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), fi.Mode().Perm(), "the manifest passes CheckDir")
	require.NoError(t, pluginhost.CheckDir(dir))

	m, err := pluginhost.ReadManifest(dir)
	require.NoError(t, err)
	require.Len(t, m.Plugins, 2)
	require.Equal(t, "moose-plugin-a", m.Plugins[0].File, "sorted")
	sum, err := pluginhost.FileSHA256(filepath.Join(dir, "moose-plugin-a"))
	require.NoError(t, err)
	require.Equal(t, sum, m.Plugins[0].SHA256)

	for _, bad := range []string{"other", "../moose-plugin-a", "sub/moose-plugin-a", ""} {
		require.Error(t, pluginhost.WriteManifest(dir, bad), "%q", bad)
	}
	require.ErrorContains(t, pluginhost.WriteManifest(dir, "moose-plugin-missing"), "no such file")

	// A hand-edited manifest cannot point outside the plugin directory.
	bad := `{"format":1,"plugins":[{"file":"../../usr/bin/moose-plugin-x","sha256":"` + strings.Repeat("0", 64) + `"}]}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, pluginhost.ManifestFile), []byte(bad), 0o644))
	_, err = pluginhost.ReadManifest(dir)
	require.ErrorContains(t, err, "is not a file name inside the plugin directory")
	_, err = pluginhost.ReadManifest(t.TempDir())
	require.ErrorIs(t, err, os.ErrNotExist)
}
