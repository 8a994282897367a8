package server

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDependencyInstallSeesNoSecrets(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-secret")
	t.Setenv("GITHUB_TOKEN", "ghp-secret")
	t.Setenv("GOPROXY", "https://proxy.example")
	env := strings.Join(installEnv(), "\n")
	require.NotContains(t, env, "secret")
	require.Contains(t, env, "GOPROXY=https://proxy.example")
	require.Contains(t, env, "PATH=")
}
