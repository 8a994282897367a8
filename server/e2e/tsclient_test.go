package e2e_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

// tsCassette answers the TypeScript client's work orders with a passing
// change to the shell project it creates.
const tsCassette = `model: ts-replay
entries:
  - key: Add a greet function
    input_tokens: 300
    output_tokens: 80
    text: |
      lib.sh
      ` + "```sh" + `
      add() { echo $(( $1 + $2 )); }
      greet() { echo "hello, $1"; }
      ` + "```" + `

      test.sh
      ` + "```sh" + `
      . ./lib.sh
      [ "$(add 2 3)" = 5 ] && [ "$(greet moose)" = "hello, moose" ] && echo "2 passed, 0 failed"
      ` + "```" + `
`

// TestTypeScriptClient generates a TypeScript client from the /openapi.json a
// real moosed serves (openapi-typescript types, openapi-fetch calls),
// type-checks it with tsc against testdata/tsclient/main.ts, and runs it: it
// creates a project, a replay variant and two work orders, approves one
// through the documented custom-method path, polls it to its end and reads
// its result, pages the project's work orders one at a time, and reads a 404
// through the error schema. Every field is read under its generated name and
// must be defined; what it read must be what gRPC says. Skipped only where
// npm is not installed.
func TestTypeScriptClient(t *testing.T) {
	skipShort(t)
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not installed")
	}
	t.Parallel()
	modules := tsClientModules(t)

	started := time.Now()
	n := newNode(t)
	n.start()
	t.Logf("moosed serving in %v", time.Since(started).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()

	repo := filepath.Join(traversableDir(t, "moose-e2e-ts-"), "shell")
	require.NoError(t, os.MkdirAll(repo, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "lib.sh"), []byte("add() { echo $(( $1 + $2 )); }\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "test.sh"), []byte(". ./lib.sh\n[ \"$(add 1 1)\" = 2 ] && echo \"1 passed, 0 failed\"\n"), 0o644))
	gitRun(t, repo, "init", "-q", "-b", "main")
	gitRun(t, repo, "add", "-A")
	gitRun(t, repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x")
	cassette := filepath.Join(traversableDir(t, "moose-e2e-cassette-"), "ts.yaml")
	require.NoError(t, os.WriteFile(cassette, []byte(tsCassette), 0o644))

	// The client, generated from the served document and type-checked.
	work := t.TempDir()
	for _, f := range []string{"package.json", "tsconfig.json", "main.ts"} {
		raw, err := os.ReadFile(filepath.Join("testdata", "tsclient", f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(work, f), raw, 0o644))
	}
	require.NoError(t, os.Symlink(modules, filepath.Join(work, "node_modules")))
	bin := filepath.Join(modules, ".bin")
	started = time.Now()
	tsRun(t, ctx, work, nil, filepath.Join(bin, "openapi-typescript"), "http://"+n.httpAddr+"/openapi.json", "-o", "schema.d.ts")
	tsRun(t, ctx, work, nil, filepath.Join(bin, "tsc"), "-p", ".")
	t.Logf("generated and type-checked in %v", time.Since(started).Round(time.Millisecond))

	started = time.Now()
	out := tsRun(t, ctx, work, []string{"MOOSE_URL=http://" + n.httpAddr, "MOOSE_TOKEN=" + n.token, "MOOSE_REPO=" + repo, "MOOSE_CASSETTE=" + cassette},
		"node", filepath.Join("dist", "main.js"))
	t.Logf("client ran in %v: %s", time.Since(started).Round(time.Millisecond), out)
	var got struct {
		ProjectID      string   `json:"project_id"`
		VariantID      string   `json:"variant_id"`
		IDs            []string `json:"ids"`
		ApprovedStatus string   `json:"approved_status"`
		Read           struct {
			Status       string   `json:"status"`
			OverallScore float64  `json:"overall_score"`
			Passed       bool     `json:"passed"`
			BuildPassed  bool     `json:"build_passed"`
			TestsPassed  bool     `json:"tests_passed"`
			TestsTotal   int32    `json:"tests_total"`
			Cycles       int32    `json:"cycles"`
			InputTokens  string   `json:"input_tokens"`
			OutputTokens string   `json:"output_tokens"`
			Dimensions   []string `json:"dimensions"`
			VariantID    string   `json:"variant_id"`
		} `json:"read"`
		ToStatuses []string `json:"to_statuses"`
		Listed     []string `json:"listed"`
		Pages      int      `json:"pages"`
		NotFound   struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"not_found"`
	}
	require.NoError(t, json.Unmarshal([]byte(lastLine(out)), &got), out)

	// What the typed client read is what gRPC says.
	p, err := n.projects.GetProject(ctx, &moosev1.GetProjectRequest{Id: got.ProjectID})
	require.NoError(t, err)
	require.Equal(t, "ts-shell", p.GetProject().GetName())
	require.Len(t, got.IDs, 2)
	wo := n.get(ctx, got.IDs[0])
	require.Equal(t, "WORK_ORDER_STATUS_APPROVED", got.ApprovedStatus)
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, wo.GetStatus(), "%+v", wo.GetResult())
	require.Equal(t, wo.GetStatus().String(), got.Read.Status)
	res := wo.GetResult()
	require.True(t, got.Read.Passed)
	require.True(t, got.Read.BuildPassed)
	require.True(t, got.Read.TestsPassed)
	require.Equal(t, res.GetOverallScore(), got.Read.OverallScore)
	require.Positive(t, got.Read.OverallScore)
	require.Equal(t, res.GetTestsTotal(), got.Read.TestsTotal)
	require.Equal(t, res.GetCycles(), got.Read.Cycles)
	require.Equal(t, "300", got.Read.InputTokens, "the cassette's input tokens, an int64 as a JSON string")
	require.Equal(t, "80", got.Read.OutputTokens)
	require.Len(t, got.Read.Dimensions, len(res.GetDimensions()))
	require.NotEmpty(t, got.Read.Dimensions)
	require.Equal(t, got.VariantID, got.Read.VariantID, "the pinned variant ran it")
	require.Equal(t, wo.GetVariantId(), got.Read.VariantID)
	require.Equal(t, []string{"WORK_ORDER_STATUS_PENDING", "WORK_ORDER_STATUS_APPROVED", "WORK_ORDER_STATUS_IN_PROGRESS", "WORK_ORDER_STATUS_COMPLETED"}, got.ToStatuses)
	require.Equal(t, got.IDs, got.Listed, "page_size=1 pages through both, in creation order")
	require.GreaterOrEqual(t, got.Pages, 2)
	require.Equal(t, 5, got.NotFound.Code, "NotFound")
	require.NotEmpty(t, got.NotFound.Message)
}

// tsClientModules installs testdata/tsclient/package.json's packages once
// per version of that file, under the repository's .tools (ignored by git,
// kept between runs), and returns the node_modules directory. Installing in
// a temporary directory renamed into place keeps concurrent runs from seeing
// a half-installed tree.
func tsClientModules(t *testing.T) string {
	t.Helper()
	pkg, err := os.ReadFile(filepath.Join("testdata", "tsclient", "package.json"))
	require.NoError(t, err)
	sum := sha256.Sum256(pkg)
	tools, err := filepath.Abs(filepath.Join("..", "..", ".tools"))
	require.NoError(t, err)
	dir := filepath.Join(tools, "tsclient-"+hex.EncodeToString(sum[:6]))
	modules := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(modules, ".bin", "tsc")); err == nil {
		return modules
	}
	require.NoError(t, os.MkdirAll(tools, 0o755))
	tmp, err := os.MkdirTemp(tools, "tsclient-install-")
	require.NoError(t, err)
	defer os.RemoveAll(tmp)
	require.NoError(t, os.WriteFile(filepath.Join(tmp, "package.json"), pkg, 0o644))
	started := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tsRun(t, ctx, tmp, nil, "npm", "install", "--no-package-lock", "--no-audit", "--no-fund", "--loglevel=error")
	t.Logf("installed the client's npm packages in %v", time.Since(started).Round(time.Millisecond))
	if err := os.Rename(tmp, dir); err != nil {
		// Another run installed it meanwhile.
		_, serr := os.Stat(filepath.Join(modules, ".bin", "tsc"))
		require.NoError(t, serr, "install %s: %v", dir, err)
	}
	return modules
}

// tsRun runs a command in dir and returns its standard output, failing the
// test with everything it printed when it fails.
func tsRun(t *testing.T, ctx context.Context, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, err, "%s %s:\n%s\n%s", name, strings.Join(args, " "), stdout.String(), stderr.String())
	return stdout.String()
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
