package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/servertest"
)

// asUser runs curl against REST as another local user: a real process with
// that uid and gid, like any other account on the machine would.
type asUser struct {
	t        *testing.T
	uid, gid uint32
	base     string
}

func nobody(t *testing.T, base string) asUser {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a child process as another user")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("needs curl")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return asUser{t: t, uid: uint32(uid), gid: uint32(gid), base: base}
}

// do sends one request and returns the HTTP status and body. token "" sends
// no Authorization header; contentType "" sends none.
func (a asUser) do(method, path, token, contentType, body string) (int, string) {
	a.t.Helper()
	args := []string{"-sS", "-X", method, "-o", "-", "-w", "\n%{http_code}", "--max-time", "60"}
	if token != "" {
		args = append(args, "-H", "Authorization: Bearer "+token)
	}
	if contentType != "" {
		args = append(args, "-H", "Content-Type: "+contentType)
	}
	if body != "" {
		args = append(args, "--data-binary", "@-")
	}
	cmd := exec.Command("curl", append(args, a.base+path)...)
	cmd.Stdin = strings.NewReader(body)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/"}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: a.uid, Gid: a.gid, Groups: []uint32{}}}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	require.NoError(a.t, cmd.Run(), "curl as uid %d: %s", a.uid, errOut.String())
	s := out.String()
	i := strings.LastIndex(s, "\n")
	code, err := strconv.Atoi(s[i+1:])
	require.NoError(a.t, err, s)
	return code, s[:i]
}

// TestAnotherLocalUser: a real unprivileged account (nobody) drives a real
// moosed's REST API: without a token nothing changes, each scope is held to
// its calls, a text/plain POST and a root-only repository are refused, and a
// variant pointing at a foreign endpoint never sees the server's API key.
func TestAnotherLocalUser(t *testing.T) {
	const secret = "sk-moosed-own-key-never-leaves"
	t.Setenv("OPENAI_API_KEY", secret)
	var mu sync.Mutex
	var auths []string
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"c1","object":"chat.completion","created":%d,"model":"m",
"choices":[{"index":0,"message":{"role":"assistant","content":"NOTES.md\n`+"```markdown\\n# hi\\n```"+`"},"finish_reason":"stop"}],
"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}`, time.Now().Unix())
	}))
	t.Cleanup(foreign.Close)

	srv := servertest.Start(t, servertest.APIOnly(), servertest.WithBuiltinPlugins(t))
	u := nobody(t, srv.HTTPURL())
	read, write, admin := srv.Token(t, "read"), srv.Token(t, "write"), srv.AdminToken()
	id := uuid.NewString()

	// Every mutating call without a token is refused, before anything runs.
	mutating := [][2]string{
		{"POST", "/v1/projects"}, {"POST", "/v1/workorders"},
		{"POST", "/v1/workorders/" + id + ":approve"}, {"POST", "/v1/workorders/" + id + ":cancel"}, {"POST", "/v1/workorders/" + id + ":retry"},
		{"POST", "/v1/plugins"}, {"POST", "/v1/plugins/proposer/openai/1.0.0:reload"}, {"DELETE", "/v1/plugins/proposer/openai/1.0.0"},
		{"POST", "/v1/variants"}, {"POST", "/v1/variants/" + id + ":retire"}, {"POST", "/v1/variants/" + id + ":try"},
		{"PUT", "/v1/routing/tiers/cheap"},
		{"POST", "/v1/experiments"}, {"POST", "/v1/experiments/" + id + ":stop"}, {"POST", "/v1/experiments/" + id + ":promote"}, {"POST", "/v1/experiments/" + id + ":rollback"},
		{"POST", "/v1/specs:decompose"}, {"POST", "/v1/datasets:export"},
		{"POST", "/v1/tokens"}, {"POST", "/v1/tokens/" + id + ":revoke"},
	}
	for _, m := range mutating {
		code, body := u.do(m[0], m[1], "", "application/json", "{}")
		require.Equal(t, http.StatusUnauthorized, code, "%s %s without a token: %s", m[0], m[1], body)
		require.Contains(t, body, "scope", "%s %s names the scope it needs", m[0], m[1])
	}
	code, body := u.do("GET", "/v1/workorders", "", "", "")
	require.Equal(t, http.StatusUnauthorized, code, "reads need a token too: %s", body)
	code, _ = u.do("GET", "/healthz", "", "", "")
	require.Equal(t, http.StatusOK, code, "health stays public")
	code, _ = u.do("POST", "/v1/plugins/proposer/openai/1.0.0:reload", "moose_guessed", "application/json", "{}")
	require.Equal(t, http.StatusUnauthorized, code, "a made-up token is no token")

	// read cannot write.
	project := `{"name":"calc","repo_url":"https://git.example.com/calc.git","default_branch":"main","language":"go"}`
	code, body = u.do("GET", "/v1/projects", read, "", "")
	require.Equal(t, http.StatusOK, code, body)
	code, body = u.do("POST", "/v1/projects", read, "application/json", project)
	require.Equal(t, http.StatusForbidden, code, body)
	require.Contains(t, body, "write scope")

	// write may create projects, but not register plugins, change routing or mint tokens.
	code, body = u.do("POST", "/v1/projects", write, "application/json", project)
	require.Equal(t, http.StatusOK, code, body)
	code, body = u.do("POST", "/v1/plugins", write, "application/json", `{"kind":"proposer","name":"evil","version":"1","command":"/bin/sh"}`)
	require.Equal(t, http.StatusForbidden, code, body)
	require.Contains(t, body, "admin scope")
	code, body = u.do("PUT", "/v1/routing/tiers/cheap", write, "application/json", `{"min_complexity":1,"max_complexity":3}`)
	require.Equal(t, http.StatusForbidden, code, body)
	code, body = u.do("POST", "/v1/tokens", write, "application/json", `{"name":"escalated","scopes":["admin"]}`)
	require.Equal(t, http.StatusForbidden, code, body)
	code, body = u.do("DELETE", "/v1/plugins/proposer/openai/1.0.0", write, "", "")
	require.Equal(t, http.StatusForbidden, code, body)

	// A text/plain POST (what any web page can send without a preflight) is refused.
	code, body = u.do("POST", "/v1/projects", write, "text/plain", strings.Replace(project, "calc", "calc2", 1))
	require.Equal(t, http.StatusUnsupportedMediaType, code, body)

	// A project pointing at a directory only root can read is refused, even
	// under an allowed repository root.
	private := filepath.Join(servertest.RepoDir(t), "private")
	require.NoError(t, os.MkdirAll(filepath.Join(private, "repo"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(private, "repo", "secret.txt"), []byte("root only"), 0o644))
	require.NoError(t, os.Chmod(private, 0o700))
	for _, repo := range []string{filepath.Join(private, "repo"), "file://" + filepath.Join(private, "repo"), "/root", "/etc"} {
		code, body = u.do("POST", "/v1/projects", write, "application/json",
			`{"name":"leak","repo_url":"`+repo+`","default_branch":"main","language":"go"}`)
		require.Equal(t, http.StatusBadRequest, code, "%s: %s", repo, body)
		require.Contains(t, body, `"field":"repo_url"`, repo)
	}

	// A variant pointing the openai built-in at another server: it may be
	// created (it gets no key), but not while asking for the key by name.
	code, body = u.do("POST", "/v1/variants", admin, "application/json",
		`{"name":"exfil","plugin_name":"openai","model":"gpt-4o-mini","base_url":"`+foreign.URL+`/v1","params":{"api_key_env":"OPENAI_API_KEY","max_attempts":"1"}}`)
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, body, `"field":"base_url"`)
	code, body = u.do("POST", "/v1/variants", admin, "application/json",
		`{"name":"other-env","plugin_name":"openai","model":"gpt-4o-mini","params":{"api_key_env":"GITHUB_TOKEN"}}`)
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, body, `"field":"params.api_key_env"`)
	code, body = u.do("POST", "/v1/variants", admin, "application/json",
		`{"name":"elsewhere","plugin_name":"openai","model":"gpt-4o-mini","base_url":"`+foreign.URL+`/v1","params":{"max_attempts":"1"}}`)
	require.Equal(t, http.StatusOK, code, body)
	code, body = u.do("POST", "/v1/variants/elsewhere:try", admin, "application/json", `{"work_order":{"title":"Add notes","complexity":1}}`)
	require.Equal(t, http.StatusOK, code, body)
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, auths, "the foreign server was called")
	for _, a := range auths {
		require.NotContains(t, a, secret, "the server's key never reaches a foreign endpoint")
	}
}
