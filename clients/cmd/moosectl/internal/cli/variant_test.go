package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/cli"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

const reverseAnswer = "strutil/reverse.go\n```go\npackage strutil\n\nfunc Reverse(s string) string { return s }\n```\n"

// writeCassette records one answer for the title "Add a Reverse function".
func writeCassette(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cassette.yaml")
	var b strings.Builder
	b.WriteString("model: replay-demo\nentries:\n  - key: Add a Reverse function\n    cycle: 1\n    input_tokens: 420\n    output_tokens: 133\n    text: |\n")
	for _, l := range strings.Split(strings.TrimRight(reverseAnswer, "\n"), "\n") {
		b.WriteString("      " + l + "\n")
	}
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	return path
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func TestVariantUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	typo := writeFile(t, dir, "typo.yaml", "name: v\nplugin: replay\nmodle: x\n")
	both := writeFile(t, dir, "both.yaml", "name: v\nsystem_prompt: hi\nsystem_prompt_file: s.md\n")
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"unknown fields", []string{"variant", "create", "-f", typo},
			`invalid variant file: line 2: unknown field "plugin"; line 3: unknown field "modle" (known fields: name, plugin_name,`},
		{"prompt twice", []string{"variant", "create", "-f", both}, "system_prompt and system_prompt_file exclude each other"},
		{"bad param", []string{"variant", "create", "--name", "v", "--param", "novalue"}, `--param "novalue": want KEY=VALUE`},
		{"missing prompt file", []string{"variant", "create", "--name", "v", "--system-prompt-file", filepath.Join(dir, "absent.md")},
			"--system-prompt-file: open "},
		{"name twice", []string{"variant", "create", "v", "--name", "w"}, "--name and the NAME argument exclude each other"},
		{"bad status", []string{"variant", "list", "--status", "gone"}, `--status: unknown variant status "gone" (want one of active, retired)`},
		{"try without work order", []string{"variant", "try", "v"}, "give the work order with -f FILE or --title TITLE"},
		{"try bad work order", []string{"variant", "try", "v", "-f", typo}, `unknown field "plugin"`},
		{"retire without id", []string{"variant", "retire"}, "needs 1 argument(s) (ID|NAME)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := moosectl(t, nil, append([]string{"--server", "127.0.0.1:1"}, tt.args...)...)
			require.Equal(t, cli.ExitUsage, r.code, r.stderr)
			require.Contains(t, r.stderr, tt.stderr)
		})
	}
}

func TestVariantCommands(t *testing.T) {
	t.Parallel()
	s, _ := builtinReplaySession(t)
	cassette := writeCassette(t)
	dir := t.TempDir()

	// The server registered the replay proposer from its plugin directory.
	out := s.ok("plugin", "list", "--kind", "proposer")
	require.Regexp(t, `(?m)^proposer\s+replay\s+1\.0\.0\s+ready\s+\d+\s+0\s+builtin\s+`+replayBuild.sha256[:12]+`$`, out)
	system := writeFile(t, dir, "system.md", "You are terse.\n")

	// From flags.
	var fromFlags moosev1.Variant
	s.json(&fromFlags, "variant", "create", "--name", "replay-v1", "--plugin", "replay", "--base-url", cassette,
		"--model", "replay-demo", "--temperature", "0.3", "--max-tokens", "2048", "--edit-format", "whole",
		"--few-shot", "2", "--input-price", "1", "--output-price", "2", "--param", "a=1", "--param", "b=x=y",
		"--system-prompt-file", system)
	require.NotEmpty(t, fromFlags.GetId())
	require.Equal(t, "replay-v1", fromFlags.GetName())
	require.Equal(t, "replay", fromFlags.GetPluginName())
	require.Empty(t, fromFlags.GetPluginVersion())
	require.Equal(t, cassette, fromFlags.GetBaseUrl())
	require.InDelta(t, 0.3, fromFlags.GetTemperature(), 1e-9)
	require.EqualValues(t, 2048, fromFlags.GetMaxTokens())
	require.EqualValues(t, 2, fromFlags.GetFewShotCount())
	require.InDelta(t, 1, fromFlags.GetInputPricePerMtok(), 1e-9)
	require.InDelta(t, 2, fromFlags.GetOutputPricePerMtok(), 1e-9)
	require.Equal(t, map[string]string{"a": "1", "b": "x=y"}, fromFlags.GetParams())
	require.Equal(t, "You are terse.\n", fromFlags.GetSystemPrompt())
	require.Equal(t, moosev1.VariantStatus_VARIANT_STATUS_ACTIVE, fromFlags.GetStatus())

	// From YAML, prompts by file relative to the variant file, flags on top.
	writeFile(t, dir, "prompts/task.tmpl", "Do {{.Title}}.\n")
	variantYAML := writeFile(t, dir, "variant.yaml", `name: from-file
plugin_name: replay
plugin_version: 1.0.0
model: replay-demo
base_url: `+cassette+`
system_prompt: |
  Inline system prompt.
prompt_template_file: prompts/task.tmpl
edit_format: diff
input_price_per_mtok: 0.5
params:
  cassette_note: yaml
`)
	out = s.ok("variant", "create", "-f", variantYAML, "--edit-format", "search_replace", "--param", "extra=1")
	require.Regexp(t, `(?m)^Name:\s+from-file$`, out)
	require.Regexp(t, `(?m)^Plugin version:\s+1\.0\.0$`, out)
	require.Regexp(t, `(?m)^Edit format:\s+search_replace$`, out, "the flag overrides the file")
	require.Regexp(t, `(?m)^Input price:\s+\$0\.5 per million tokens$`, out)
	require.Contains(t, out, "Params:\n  cassette_note=yaml\n  extra=1\n")
	require.Contains(t, out, "System prompt:\n  Inline system prompt.\nPrompt template:\n  Do {{.Title}}.\n")

	// A name as the argument, with the rest of the file (stdin).
	var fromStdin moosev1.Variant
	r := moosectl(t, strings.NewReader("plugin_name: replay\nbase_url: "+cassette+"\n"),
		"--server", s.addr, "--token", s.token, "-o", "json", "variant", "create", "piped", "-f", "-")
	require.Equal(t, cli.ExitOK, r.code, r.stderr)
	require.NoError(t, protojson.Unmarshal([]byte(r.stdout), &fromStdin))
	require.Equal(t, "piped", fromStdin.GetName())
	require.Equal(t, "whole", fromStdin.GetEditFormat(), "the server's default edit format")

	// The server's checks: every invalid field named; names are unique.
	r = s.run("variant", "create", "--name", "Bad Name", "--plugin", "nope", "--temperature", "3")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "create variant: ")
	require.Contains(t, r.stderr, "(InvalidArgument)")
	require.Contains(t, r.stderr, "  name: must be 1-63 lowercase")
	require.Contains(t, r.stderr, `  plugin_name: no proposer plugin "nope" is registered`)
	require.Contains(t, r.stderr, "  temperature: must be between 0 and 2")
	r = s.run("variant", "create", "--name", "replay-v1", "--plugin", "replay")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "(AlreadyExists)")

	// try: the answer verbatim, then the numbers. Cost is 420 × $1 + 133 × $2 per million.
	woFile := writeFile(t, dir, "wo.yaml", "title: Add a Reverse function\ndescription: reverse runes\ncomplexity: 2\n")
	out = s.ok("variant", "try", "replay-v1", "-f", woFile)
	require.True(t, strings.HasPrefix(out, reverseAnswer+"\n"), out)
	require.Regexp(t, `(?m)^Model:\s+replay-demo$`, out)
	require.Regexp(t, `(?m)^Tokens:\s+420 input, 133 output$`, out)
	require.Regexp(t, `(?m)^Finish reason:\s+stop$`, out)
	require.Regexp(t, `(?m)^Cost:\s+\$0\.000686$`, out)
	require.Regexp(t, `(?m)^Latency:\s+[0-9.]+(µs|ms|s)$`, out)

	var tried moosev1.TryVariantResponse
	s.json(&tried, "variant", "try", fromFlags.GetId(), "--title", "Add a Reverse function")
	require.Equal(t, reverseAnswer, tried.GetText())
	require.EqualValues(t, 420, tried.GetInputTokens())
	require.EqualValues(t, 133, tried.GetOutputTokens())
	require.InDelta(t, 0.000686, tried.GetCostUsd(), 1e-12)
	require.NotNil(t, tried.GetLatency())

	// The project named by --project must exist.
	r = s.run("variant", "try", "replay-v1", "-f", woFile, "--project", "0193e0c4-0000-7000-8000-000000000009")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "(NotFound)")
	p := s.project("calc")
	s.ok("variant", "try", "replay-v1", "-f", woFile, "--project", p.GetId())

	// A key the cassette does not hold: the plugin's error reaches the user.
	r = s.run("variant", "try", "replay-v1", "--title", "Something else")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "try variant replay-v1: ")
	require.Contains(t, r.stderr, "Add a Reverse function", "the error names the keys the cassette holds")

	// get, list, retire.
	out = s.ok("variant", "get", "replay-v1")
	require.Regexp(t, `(?m)^ID:\s+`+fromFlags.GetId()+`$`, out)
	require.Contains(t, out, "System prompt:\n  You are terse.\n")

	var list moosev1.ListVariantsResponse
	s.json(&list, "variant", "list")
	require.Len(t, list.GetVariants(), 3)

	out = s.ok("variant", "retire", "replay-v1")
	require.Equal(t, "Variant replay-v1 ("+fromFlags.GetId()+") is retired.\n", out)
	var retired moosev1.Variant
	s.json(&retired, "variant", "retire", fromFlags.GetId())
	require.Equal(t, moosev1.VariantStatus_VARIANT_STATUS_RETIRED, retired.GetStatus(), "retiring twice changes nothing")
	require.NotNil(t, retired.GetRetireTime())

	out = s.ok("variant", "list", "--status", "retired")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	require.Regexp(t, `^`+fromFlags.GetId()+`\s+replay-v1\s+replay\s+replay-demo\s+whole\s+\$1/\$2\s+retired\s`, lines[1])
	out = s.ok("variant", "list", "--status", "ACTIVE")
	require.NotContains(t, out, "replay-v1")
	require.Contains(t, out, "from-file")
	require.Contains(t, out, "piped")

	r = s.run("variant", "get", "no-such-variant")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "(NotFound)")
}
