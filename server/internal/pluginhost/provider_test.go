package pluginhost_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/pluginhost"
)

// providersDir holds moose-plugin-openai and moose-plugin-architect-replay,
// built on first use into a folder inside pluginDir (so registrations resolve
// inside the plugin directory, and pluginDir's own built-ins stay as they are).
var (
	buildProviders sync.Once
	providersDir   string
	providersErr   error
)

func providers(t *testing.T) string {
	t.Helper()
	buildProviders.Do(func() {
		dir := filepath.Join(pluginDir, "providers")
		if providersErr = os.MkdirAll(dir, 0o755); providersErr != nil {
			return
		}
		for name, pkg := range map[string]string{
			"moose-plugin-openai":           "github.com/moosehq/moose/plugins/openai",
			"moose-plugin-architect-replay": "github.com/moosehq/moose/plugins/architect-replay",
		} {
			if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg).CombinedOutput(); err != nil {
				providersErr = fmt.Errorf("build %s: %v\n%s", pkg, err, out)
				return
			}
		}
		providersErr = pluginhost.WriteManifest(dir, "moose-plugin-openai", "moose-plugin-architect-replay")
		providersDir = dir
	})
	require.NoError(t, providersErr)
	return providersDir
}

// syncBuffer collects host logs from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeOpenAI answers chat completions and records the Authorization headers.
// Model "bad-key" gets OpenAI's 401 answer, echoing the key it was sent as
// a careless proxy would.
type fakeOpenAI struct {
	srv  *httptest.Server
	mu   sync.Mutex
	auth []string
}

func newFakeOpenAI(t *testing.T) *fakeOpenAI {
	f := &fakeOpenAI{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		auth := r.Header.Get("Authorization")
		f.mu.Lock()
		f.auth = append(f.auth, auth)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(string(body), `"bad-key"`) {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":{"message":"Incorrect API key provided: %s.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`,
				strings.TrimPrefix(auth, "Bearer "))
			return
		}
		fmt.Fprint(w, `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini",
"choices":[{"index":0,"message":{"role":"assistant","content":"a.go\n`+"```go\\npackage a\\n```"+`"},"finish_reason":"stop"}],
"usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150}}`)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeOpenAI) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.auth...)
}

func secretKey(t *testing.T) string {
	b := make([]byte, 12)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return "moose-test-key-" + hex.EncodeToString(b)
}

func keyEnv(key string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		switch name {
		case "OPENAI_API_KEY":
			return key, true
		case "MOOSE_PLUGIN_LOG_LEVEL":
			return "debug", true // as chatty as the plugins get
		}
		return os.LookupEnv(name)
	}
}

func proposeOpenAI(h *pluginhost.Host, f *fakeOpenAI, model string) (*pluginv1.ProposeResponse, error) {
	return h.Propose(context.Background(), "openai", "", &pluginv1.ProposeRequest{
		WorkOrder: &pluginv1.WorkOrder{Title: "Add a", AcceptanceCriteria: []string{"a exists"}},
		Variant:   &pluginv1.VariantConfig{Model: model, BaseUrl: f.srv.URL + "/v1", Params: map[string]string{"max_attempts": "1"}},
		Cycle:     1,
	})
}

// TestAPIKeyReachesOnlyItsPlugin: the key given to the openai plugin through
// its env allowlist is used for the model call, and appears neither in a
// validator's environment, nor in another proposer's, nor in any host log
// line or error, even when the provider echoes it back.
func TestAPIKeyReachesOnlyItsPlugin(t *testing.T) {
	t.Parallel()
	dir := providers(t)
	key := secretKey(t)
	logs := &syncBuffer{}
	h, err := pluginhost.New(pluginhost.Config{
		Dir: pluginDir, DataDir: t.TempDir(), LookupEnv: keyEnv(key),
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	require.NoError(t, err)
	require.NoError(t, h.Start(context.Background()))
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = h.Close(context.Background())
		}
	})

	f := newFakeOpenAI(t)
	sum, err := pluginhost.FileSHA256(filepath.Join(dir, "moose-plugin-openai"))
	require.NoError(t, err)
	_, err = h.Register(context.Background(), pluginhost.Registration{
		Kind: pluginhost.KindProposer, Name: "openai", Version: "1.1.0",
		Command: "providers/moose-plugin-openai", SHA256: sum, Env: []string{"OPENAI_API_KEY"},
		AllowedBaseURLs: []string{f.srv.URL + "/v1"},
	})
	require.NoError(t, err)
	vreg := testReg("1.0.0", "-kind", "validator")
	vreg.Kind = pluginhost.KindValidator
	_, err = h.Register(context.Background(), vreg)
	require.NoError(t, err)
	_, err = h.Register(context.Background(), testReg("1.0.0"))
	require.NoError(t, err)

	r, err := proposeOpenAI(h, f, "gpt-4o-mini")
	require.NoError(t, err)
	require.Contains(t, r.GetText(), "package a")
	require.EqualValues(t, 120, r.GetInputTokens())
	require.Len(t, r.GetPromptHash(), 64)
	require.Equal(t, []string{"Bearer " + key}, f.seen(), "the plugin sent the allowlisted key")

	// Another endpoint, even one asking for the key by name, gets none.
	foreign := newFakeOpenAI(t)
	_, err = h.Propose(context.Background(), "openai", "", &pluginv1.ProposeRequest{
		WorkOrder: &pluginv1.WorkOrder{Title: "Add a"},
		Variant: &pluginv1.VariantConfig{Model: "gpt-4o-mini", BaseUrl: foreign.srv.URL + "/v1",
			Params: map[string]string{"max_attempts": "1", "api_key_env": "OPENAI_API_KEY"}},
		Cycle: 1,
	})
	require.NoError(t, err)
	require.Equal(t, []string{"Bearer none"}, foreign.seen(), "a base_url outside allowed_base_urls gets no key")

	_, err = proposeOpenAI(h, f, "bad-key")
	require.ErrorIs(t, err, fault.ErrFailedPrecondition, "a bad key is a configuration error, not an outage")
	require.ErrorContains(t, err, "rejected the API key")
	require.NotContains(t, err.Error(), key)

	v, err := h.Validate(context.Background(), "testplugin", "1.0.0", &pluginv1.ValidateRequest{WorkOrder: &pluginv1.WorkOrder{Title: "env"}})
	require.NoError(t, err)
	require.Contains(t, v.GetLogs(), "PATH=", "the env answer is the validator's environment")
	require.NotContains(t, v.GetLogs(), key)
	require.NotContains(t, v.GetLogs(), "OPENAI_API_KEY")

	other, err := propose(h, "1.0.0", "env", nil)
	require.NoError(t, err)
	require.NotContains(t, other.GetText(), key)
	require.NotContains(t, other.GetText(), "OPENAI_API_KEY")

	require.NoError(t, h.Close(context.Background()))
	closed = true
	out := logs.String()
	require.Contains(t, out, `"plugin":"proposer/openai/1.1.0"`, "the plugin's own logs were captured")
	require.Contains(t, out, "model call failed")
	require.NotContains(t, out, key)
}

// TestBuiltinsGetTheirAllowlistAndArchitectsServe: RegisterBuiltins gives the
// openai built-in OPENAI_API_KEY (Config.BuiltinEnv's default) and registers
// the replay architect as an architect that Decompose reaches.
func TestBuiltinsGetTheirAllowlistAndArchitectsServe(t *testing.T) {
	t.Parallel()
	dir := providers(t)
	key := secretKey(t)
	f := newFakeOpenAI(t)
	h := newHost(t, func(c *pluginhost.Config) {
		c.LookupEnv = keyEnv(key)
		c.BuiltinBaseURLs = map[string][]string{"openai": {f.srv.URL + "/v1"}}
	})
	pls, err := h.RegisterBuiltins(context.Background(), dir)
	require.NoError(t, err)
	byName := map[string]pluginhost.Plugin{}
	for _, p := range pls {
		byName[p.Name] = p
	}
	require.Equal(t, pluginhost.KindProposer, byName["openai"].Kind)
	require.Equal(t, []string{"OPENAI_API_KEY"}, byName["openai"].Env)
	require.Equal(t, []string{f.srv.URL + "/v1"}, byName["openai"].AllowedBaseURLs)
	require.Equal(t, pluginhost.KindArchitect, byName["architect-replay"].Kind)
	require.Empty(t, byName["architect-replay"].Env)
	require.Len(t, h.List(pluginhost.KindArchitect), 1)

	_, err = proposeOpenAI(h, f, "gpt-4o-mini")
	require.NoError(t, err)
	require.Equal(t, []string{"Bearer " + key}, f.seen())

	spec, err := os.ReadFile("../../../examples/specs/calc-features.md")
	require.NoError(t, err)
	cassette, err := filepath.Abs("../../../examples/cassettes/architect.yaml")
	require.NoError(t, err)
	resp, err := h.Decompose(context.Background(), "architect-replay", "", &pluginv1.DecomposeRequest{
		Spec: string(spec), Config: &pluginv1.ArchitectConfig{BaseUrl: cassette},
	})
	require.NoError(t, err)
	require.Len(t, resp.GetWorkOrders(), 4)
	require.Equal(t, "Support the modulo operator % in calc.Eval", resp.GetWorkOrders()[0].GetTitle())

	_, err = h.Decompose(context.Background(), "architect-replay", "", &pluginv1.DecomposeRequest{
		Spec: "# Unknown spec", Config: &pluginv1.ArchitectConfig{BaseUrl: cassette},
	})
	require.ErrorIs(t, err, fault.ErrFailedPrecondition)
	_, err = h.Decompose(context.Background(), "openai", "", &pluginv1.DecomposeRequest{Spec: "x"})
	require.ErrorIs(t, err, fault.ErrNotFound, "a proposer is not an architect")
}

// TestBuiltinEnvCanBeEmptied: an empty, non-nil BuiltinEnv gives built-ins no
// variables; the openai built-in then reaches a keyless local server without one.
func TestBuiltinEnvCanBeEmptied(t *testing.T) {
	t.Parallel()
	dir := providers(t)
	key := secretKey(t)
	h := newHost(t, func(c *pluginhost.Config) {
		c.LookupEnv = keyEnv(key)
		c.BuiltinEnv = map[string][]string{}
	})
	_, err := h.RegisterBuiltins(context.Background(), dir)
	require.NoError(t, err)
	pl, err := h.Get(pluginhost.KindProposer, "openai", "1.1.0")
	require.NoError(t, err)
	require.Empty(t, pl.Env)
	f := newFakeOpenAI(t)
	_, err = proposeOpenAI(h, f, "gpt-4o-mini")
	require.NoError(t, err)
	require.Equal(t, []string{"Bearer none"}, f.seen())
}

// TestRegisterArchitect: an architect binary registers only as an architect.
func TestRegisterArchitect(t *testing.T) {
	t.Parallel()
	dir := providers(t)
	h := newHost(t)
	sum, err := pluginhost.FileSHA256(filepath.Join(dir, "moose-plugin-architect-replay"))
	require.NoError(t, err)
	reg := pluginhost.Registration{Kind: pluginhost.KindProposer, Name: "architect-replay", Version: "1.0.0",
		Command: "providers/moose-plugin-architect-replay", SHA256: sum}
	_, err = h.Register(context.Background(), reg)
	require.Error(t, err)
	reg.Kind = pluginhost.KindArchitect
	pl, err := h.Register(context.Background(), reg)
	require.NoError(t, err)
	require.Equal(t, pluginhost.StateReady, pl.State)
	k, err := pluginhost.ParseKind("Architect")
	require.NoError(t, err)
	require.Equal(t, pluginhost.KindArchitect, k)
}

// TestBuiltinKeysGoOnlyToTheOfficialAPI: by default the openai built-in may
// send its key to api.openai.com only; a variant pointing at any other
// server (an OpenAI-compatible fake here) reaches it without the key.
func TestBuiltinKeysGoOnlyToTheOfficialAPI(t *testing.T) {
	t.Parallel()
	dir := providers(t)
	key := secretKey(t)
	h := newHost(t, func(c *pluginhost.Config) { c.LookupEnv = keyEnv(key) })
	_, err := h.RegisterBuiltins(context.Background(), dir)
	require.NoError(t, err)
	pl, err := h.Get(pluginhost.KindProposer, "openai", "1.1.0")
	require.NoError(t, err)
	require.Equal(t, []string{"https://api.openai.com/v1"}, pl.AllowedBaseURLs)
	require.True(t, pl.KeyAllowed("https://api.openai.com/v1/"))
	require.True(t, pl.KeyAllowed(""), "the plugin's own default endpoint")
	require.False(t, pl.KeyAllowed("https://api.openai.com.evil.example/v1"))
	require.False(t, pl.KeyAllowed("https://api.openai.com/v10"))
	require.False(t, pl.KeyAllowed("http://api.openai.com/v1"))

	f := newFakeOpenAI(t)
	_, err = proposeOpenAI(h, f, "gpt-4o-mini")
	require.NoError(t, err)
	require.Equal(t, []string{"Bearer none"}, f.seen())
}
