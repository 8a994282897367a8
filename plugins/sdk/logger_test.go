package sdk_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/sdk"
	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
)

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestLoggerWritesToTheProcessStderrAfterServe: a line a plugin logs with
// Logger while serving a call arrives on the process's standard error, the
// stream a host reads and re-emits, in hclog's JSON shape. (go-plugin's Serve
// swaps os.Stderr for a pipe only a host that asks for it reads.)
func TestLoggerWritesToTheProcessStderrAfterServe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "shouter")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/moosehq/moose/examples/plugins/shouter").CombinedOutput()
	require.NoError(t, err, string(out))
	stderr := &lockedBuffer{}
	cfg := sdk.ClientConfig()
	cfg.Cmd = exec.Command(bin)
	cfg.Cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cfg.Stderr = stderr // SyncStderr stays unset: go-plugin discards the swapped os.Stderr
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Level: hclog.Off})
	client := plugin.NewClient(cfg)
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	require.NoError(t, err)
	raw, err := rpc.Dispense(sdk.KindProposer)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = raw.(pluginv1.ProposerServiceClient).Propose(ctx, &pluginv1.ProposeRequest{
		WorkOrder: &pluginv1.WorkOrder{Title: "log me"}, Variant: &pluginv1.VariantConfig{Model: "loud-1"}})
	require.NoError(t, err)
	var rec map[string]any
	require.Eventually(t, func() bool {
		sc := bufio.NewScanner(strings.NewReader(stderr.String()))
		for sc.Scan() {
			rec = nil
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["@message"] == "proposing" && rec["title"] == "log me" {
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "the plugin's log line never reached its stderr; stderr:\n%s", stderr)
	require.Equal(t, "info", rec["@level"])
	require.Equal(t, "loud-1", rec["model"])
	require.NotEmpty(t, rec["@timestamp"])
}
