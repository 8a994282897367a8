package depinstall_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/depinstall"
)

func TestInstallSeesNoSecrets(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-secret")
	t.Setenv("GITHUB_TOKEN", "ghp-secret")
	t.Setenv("GOPROXY", "https://proxy.example")
	env := depinstall.Env()
	for k, v := range env {
		require.NotContains(t, v, "secret", k)
	}
	require.Equal(t, "https://proxy.example", env["GOPROXY"])
	require.NotEmpty(t, env["PATH"])
}

func TestDetectAndRefuse(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.Equal(t, "", depinstall.Detect(dir))
	require.Error(t, depinstall.Install(context.Background(), dir, depinstall.Go), "no go.mod")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n\ngo 1.22\n"), 0o644))
	require.Equal(t, depinstall.Go, depinstall.Detect(dir))
	require.NoError(t, depinstall.Install(context.Background(), dir, depinstall.Go))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "package.json"), []byte("{}"), 0o644))
	require.Equal(t, depinstall.Node, depinstall.Detect(dir))
	require.Error(t, depinstall.Install(context.Background(), dir, "cobol"))
}
