package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/output"
	"github.com/moosehq/moose/clients/cmd/moosectl/internal/wofile"
	"github.com/moosehq/moose/clients/moose"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

func init() { register(newVariantCommand) }

func newVariantCommand(a *App) *cobra.Command {
	cmd := groupCommand("variant", "Create, inspect, try and retire proposer variants")
	cmd.Aliases = []string{"variants"}
	cmd.AddCommand(
		newVariantCreateCommand(a),
		newVariantListCommand(a),
		newVariantGetCommand(a),
		newVariantRetireCommand(a),
		newVariantTryCommand(a),
	)
	return cmd
}

func variantClient(c *moose.Client) moosev1.VariantServiceClient {
	return moosev1.NewVariantServiceClient(c.Conn())
}

// variantFile is the YAML shape of a variant: the fields of
// CreateVariantRequest, plus the two prompts by file, resolved against the
// variant file's directory so a variant and its prompts can live together.
type variantFile struct {
	Name               string            `yaml:"name"`
	PluginName         string            `yaml:"plugin_name"`
	PluginVersion      string            `yaml:"plugin_version"`
	Model              string            `yaml:"model"`
	BaseURL            string            `yaml:"base_url"`
	SystemPrompt       string            `yaml:"system_prompt"`
	SystemPromptFile   string            `yaml:"system_prompt_file"`
	PromptTemplate     string            `yaml:"prompt_template"`
	PromptTemplateFile string            `yaml:"prompt_template_file"`
	Temperature        float64           `yaml:"temperature"`
	MaxTokens          int32             `yaml:"max_tokens"`
	EditFormat         string            `yaml:"edit_format"`
	FewShotCount       int32             `yaml:"few_shot_count"`
	InputPricePerMTok  float64           `yaml:"input_price_per_mtok"`
	OutputPricePerMTok float64           `yaml:"output_price_per_mtok"`
	CacheReadPrice     float64           `yaml:"cache_read_price_per_mtok"`
	CacheWritePrice    float64           `yaml:"cache_write_price_per_mtok"`
	Params             map[string]string `yaml:"params"`
}

// variantFields are the keys a variant file may hold, in documentation order.
var variantFields = []string{
	"name", "plugin_name", "plugin_version", "model", "base_url", "system_prompt", "system_prompt_file",
	"prompt_template", "prompt_template_file", "temperature", "max_tokens", "edit_format", "few_shot_count",
	"input_price_per_mtok", "output_price_per_mtok", "cache_read_price_per_mtok", "cache_write_price_per_mtok", "params",
}

// errInvalidVariantFile marks every problem with the content of a variant file.
var errInvalidVariantFile = errors.New("invalid variant file")

// loadVariantFile reads a variant file ("-": stdin). Unknown keys are errors,
// all of them at once, because a misspelt key would silently create a
// variant without that setting.
func loadVariantFile(path string, stdin io.Reader) (*moosev1.CreateVariantRequest, error) {
	var data []byte
	var err error
	name, dir := path, filepath.Dir(path)
	if path == "-" {
		name, dir = "<stdin>", "."
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read variant file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: %w: the file is empty", name, errInvalidVariantFile)
		}
		return nil, fmt.Errorf("%s: %w: %s", name, errInvalidVariantFile, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: %w: line %d: want a mapping of variant fields (%s)", name, errInvalidVariantFile, root.Line, strings.Join(variantFields, ", "))
	}
	var unknown []string
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i]; !slices.Contains(variantFields, k.Value) {
			unknown = append(unknown, fmt.Sprintf("line %d: unknown field %q", k.Line, k.Value))
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%s: %w: %s (known fields: %s)", name, errInvalidVariantFile, strings.Join(unknown, "; "), strings.Join(variantFields, ", "))
	}
	var f variantFile
	if err := root.Decode(&f); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("%s: %w: %s", name, errInvalidVariantFile, strings.Join(te.Errors, "; "))
		}
		return nil, fmt.Errorf("%s: %w: %v", name, errInvalidVariantFile, err)
	}
	req := &moosev1.CreateVariantRequest{
		Name: f.Name, PluginName: f.PluginName, PluginVersion: f.PluginVersion, Model: f.Model, BaseUrl: f.BaseURL,
		SystemPrompt: f.SystemPrompt, PromptTemplate: f.PromptTemplate, Temperature: f.Temperature,
		MaxTokens: f.MaxTokens, EditFormat: f.EditFormat, FewShotCount: f.FewShotCount,
		InputPricePerMtok: f.InputPricePerMTok, OutputPricePerMtok: f.OutputPricePerMTok, Params: f.Params,
		CacheReadPricePerMtok: f.CacheReadPrice, CacheWritePricePerMtok: f.CacheWritePrice,
	}
	for _, p := range []struct {
		key, inline, file string
		dst               *string
	}{
		{"system_prompt", f.SystemPrompt, f.SystemPromptFile, &req.SystemPrompt},
		{"prompt_template", f.PromptTemplate, f.PromptTemplateFile, &req.PromptTemplate},
	} {
		if p.file == "" {
			continue
		}
		if p.inline != "" {
			return nil, fmt.Errorf("%s: %w: %s and %s_file exclude each other", name, errInvalidVariantFile, p.key, p.key)
		}
		file := p.file
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s: %s_file: %w", name, p.key, err)
		}
		*p.dst = string(b)
	}
	return req, nil
}

func newVariantCreateCommand(a *App) *cobra.Command {
	var (
		file                 string
		flags                moosev1.CreateVariantRequest
		systemFile, tmplFile string
		params               []string
	)
	cmd := &cobra.Command{
		Use:   "create (--name NAME --plugin PLUGIN [flags] | -f variant.yaml) [flags]",
		Short: "Create a variant of a registered proposer plugin",
		Long: `Create an active variant: a registered proposer plugin plus the configuration
it is called with. No restart and no new binary are needed. The name may also
be given as the only argument.

Settings come from flags, from a YAML file (-f, "-" for stdin), or both: flags
given explicitly override the file's fields (--param adds or replaces keys).
A variant file has these fields (unknown fields are an error):

  name: gpt4o-mini-whole-v2        # unique: lowercase letters, digits, . _ -
  plugin_name: openai
  plugin_version: 1.2.0            # empty: the newest registered version
  model: gpt-4o-mini
  base_url: https://api.openai.com/v1   # for the replay plugin: the cassette path
  system_prompt_file: prompts/system.md # relative to the variant file; or system_prompt: ...
  prompt_template_file: prompts/task.tmpl   # or prompt_template: ...
  temperature: 0.2
  max_tokens: 4096
  edit_format: whole               # whole, diff or search_replace
  few_shot_count: 2
  input_price_per_mtok: 0.15       # US dollars per million tokens; none given: the built-in catalog's
  output_price_per_mtok: 0.60
  cache_read_price_per_mtok: 0.075 # optional; 0 derives cache prices from the input price
  params:
    reasoning_effort: low

The server checks every field and names each invalid one, params the plugin
does not read included.`,
		Example: `  moosectl variant create --name mini-v1 --plugin openai --model gpt-4o-mini \
    --edit-format whole --input-price 0.15 --output-price 0.60 --system-prompt-file system.md
  moosectl variant create -f variant.yaml --name mini-v2 --temperature 0.7`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErrorf("%s takes at most one argument (NAME), got %d", cmd.CommandPath(), len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &moosev1.CreateVariantRequest{}
			if file != "" {
				var err error
				if req, err = loadVariantFile(file, cmd.InOrStdin()); err != nil {
					if errors.Is(err, errInvalidVariantFile) {
						return usageError{err}
					}
					return err
				}
			}
			if len(args) == 1 {
				if cmd.Flags().Changed("name") {
					return usageErrorf("--name and the NAME argument exclude each other")
				}
				req.Name = args[0]
			}
			if err := overrideVariant(cmd, req, &flags, systemFile, tmplFile, params); err != nil {
				return err
			}
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				resp, err := variantClient(c).CreateVariant(ctx, req)
				if err != nil {
					return fmt.Errorf("create variant: %w", err)
				}
				v := resp.GetVariant()
				return a.Render(v, func(w io.Writer) error { return writeVariant(w, v) })
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", `YAML variant file ("-": stdin)`)
	f.StringVar(&flags.Name, "name", "", "unique variant name")
	f.StringVar(&flags.PluginName, "plugin", "", "proposer plugin name")
	f.StringVar(&flags.PluginVersion, "plugin-version", "", "plugin version (default: the newest registered)")
	f.StringVar(&flags.Model, "model", "", "model name sent to the plugin")
	f.StringVar(&flags.BaseUrl, "base-url", "", "model server base URL (replay plugin: cassette path)")
	f.StringVar(&systemFile, "system-prompt-file", "", "file holding the system prompt")
	f.StringVar(&tmplFile, "prompt-template-file", "", "file holding the prompt template")
	f.Float64Var(&flags.Temperature, "temperature", 0, "sampling temperature, 0 to 2")
	f.Int32Var(&flags.MaxTokens, "max-tokens", 0, "output token limit (0: the plugin's default)")
	f.StringVar(&flags.EditFormat, "edit-format", "", "whole, diff or search_replace (default whole)")
	f.Int32Var(&flags.FewShotCount, "few-shot", 0, "few-shot examples per request, 0 to 20")
	f.Float64Var(&flags.InputPricePerMtok, "input-price", 0, "US dollars per million input tokens (no prices given: the built-in catalog's for the model)")
	f.Float64Var(&flags.OutputPricePerMtok, "output-price", 0, "US dollars per million output tokens")
	f.Float64Var(&flags.CacheReadPricePerMtok, "cache-read-price", 0, "US dollars per million input tokens read from the prompt cache (0: derived from the input price)")
	f.Float64Var(&flags.CacheWritePricePerMtok, "cache-write-price", 0, "US dollars per million input tokens written to the prompt cache (0: derived from the input price)")
	f.StringArrayVar(&params, "param", nil, "plugin parameter KEY=VALUE (repeat for several)")
	return cmd
}

// overrideVariant copies the flags the user actually gave onto req, so a
// flag's default never clobbers a value from the file.
func overrideVariant(cmd *cobra.Command, req, flags *moosev1.CreateVariantRequest, systemFile, tmplFile string, params []string) error {
	set := cmd.Flags().Changed
	for flag, copyField := range map[string]func(){
		"name":              func() { req.Name = flags.GetName() },
		"plugin":            func() { req.PluginName = flags.GetPluginName() },
		"plugin-version":    func() { req.PluginVersion = flags.GetPluginVersion() },
		"model":             func() { req.Model = flags.GetModel() },
		"base-url":          func() { req.BaseUrl = flags.GetBaseUrl() },
		"temperature":       func() { req.Temperature = flags.GetTemperature() },
		"max-tokens":        func() { req.MaxTokens = flags.GetMaxTokens() },
		"edit-format":       func() { req.EditFormat = flags.GetEditFormat() },
		"few-shot":          func() { req.FewShotCount = flags.GetFewShotCount() },
		"input-price":       func() { req.InputPricePerMtok = flags.GetInputPricePerMtok() },
		"output-price":      func() { req.OutputPricePerMtok = flags.GetOutputPricePerMtok() },
		"cache-read-price":  func() { req.CacheReadPricePerMtok = flags.GetCacheReadPricePerMtok() },
		"cache-write-price": func() { req.CacheWritePricePerMtok = flags.GetCacheWritePricePerMtok() },
	} {
		if set(flag) {
			copyField()
		}
	}
	for _, p := range []struct {
		flag, path string
		dst        *string
	}{
		{"--system-prompt-file", systemFile, &req.SystemPrompt},
		{"--prompt-template-file", tmplFile, &req.PromptTemplate},
	} {
		if p.path == "" {
			continue
		}
		b, err := os.ReadFile(p.path)
		if err != nil {
			return usageErrorf("%s: %v", p.flag, err)
		}
		*p.dst = string(b)
	}
	if len(params) > 0 {
		merged := maps.Clone(req.GetParams())
		if merged == nil {
			merged = map[string]string{}
		}
		for _, kv := range params {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return usageErrorf("--param %q: want KEY=VALUE", kv)
			}
			merged[k] = v
		}
		req.Params = merged
	}
	return nil
}

// variantStatuses are the values of variant list --status.
var variantStatuses = []string{"active", "retired"}

func newVariantListCommand(a *App) *cobra.Command {
	var req moosev1.ListVariantsRequest
	cmd := &cobra.Command{
		Use:   "list [--status active|retired] [--plugin NAME]",
		Short: "List variants, newest first",
		Long: `List variants, newest first. With -o json the output is one
ListVariantsResponse object.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.Status != "" && !slices.Contains(variantStatuses, strings.ToLower(req.Status)) {
				return usageErrorf("--status: unknown variant status %q (want one of %s)", req.Status, strings.Join(variantStatuses, ", "))
			}
			req.Status = strings.ToLower(req.Status)
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				resp, err := variantClient(c).ListVariants(ctx, &req)
				if err != nil {
					return fmt.Errorf("list variants: %w", err)
				}
				return a.Render(resp, func(w io.Writer) error { return writeVariants(w, resp.GetVariants()) })
			})
		},
	}
	cmd.Flags().StringVar(&req.Status, "status", "", "only variants in this status: active or retired")
	cmd.Flags().StringVar(&req.PluginName, "plugin", "", "only variants of this proposer plugin")
	return cmd
}

func newVariantGetCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID|NAME",
		Short: "Show one variant with its prompts",
		Args:  exactArgs(1, "ID|NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				resp, err := variantClient(c).GetVariant(ctx, &moosev1.GetVariantRequest{Id: args[0]})
				if err != nil {
					return fmt.Errorf("get variant: %w", err)
				}
				v := resp.GetVariant()
				return a.Render(v, func(w io.Writer) error { return writeVariant(w, v) })
			})
		},
	}
}

func newVariantRetireCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "retire ID|NAME",
		Short: "Stop routing work orders to a variant; its history stays",
		Long: `Retire a variant: routing and experiments stop choosing it, while its past
work orders and statistics stay. Retiring a retired variant changes nothing.`,
		Args: exactArgs(1, "ID|NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				resp, err := variantClient(c).RetireVariant(ctx, &moosev1.RetireVariantRequest{Id: args[0]})
				if err != nil {
					return fmt.Errorf("retire variant: %w", err)
				}
				v := resp.GetVariant()
				return a.Render(v, func(w io.Writer) error {
					_, err := fmt.Fprintf(w, "Variant %s (%s) is %s.\n", v.GetName(), v.GetId(), variantStatusName(v.GetStatus()))
					return err
				})
			})
		},
	}
}

func newVariantTryCommand(a *App) *cobra.Command {
	var (
		file, title, projectID string
		cycle                  int32
	)
	cmd := &cobra.Command{
		Use:   "try VARIANT (-f workorder.yaml | --title TITLE) [--project ID]",
		Short: "Send one work order straight to a variant and print its answer",
		Long: `Send one ad-hoc work order to a variant's proposer and print the raw answer,
then the model, token counts, finish reason, cost and latency. Nothing is
stored and nothing is built: this is the plugin author's inner loop.

The work order comes from a work-order file (-f, "-" for stdin; the format of
"moosectl wo create -f", whose project_id is used unless --project is given)
or from --title alone. --project sends that project's name and language as
context. --timeout applies only when given: a model may take a while.`,
		Example: `  moosectl variant try mini-v1 -f workorder.yaml
  moosectl variant try mini-v1 --title "Add a Reverse function" -o json`,
		Args: exactArgs(1, "VARIANT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" && title == "" {
				return usageErrorf("give the work order with -f FILE or --title TITLE")
			}
			wo := &moosev1.CreateWorkOrderRequest{}
			if file != "" {
				var err error
				if wo, err = wofile.Load(file, cmd.InOrStdin()); err != nil {
					if errors.Is(err, wofile.ErrInvalid) {
						return usageError{err}
					}
					return err
				}
			}
			if title != "" {
				wo.Title = title
			}
			if cmd.Flags().Changed("project") {
				wo.ProjectId = projectID
			}
			req := &moosev1.TryVariantRequest{
				Id: args[0],
				WorkOrder: &moosev1.TryWorkOrder{
					Title: wo.GetTitle(), Description: wo.GetDescription(), AcceptanceCriteria: wo.GetAcceptanceCriteria(),
					Complexity: wo.GetComplexity(), Metadata: wo.GetMetadata(),
				},
				ProjectId: wo.GetProjectId(),
				Cycle:     cycle,
			}
			return a.CallUnlimited(cmd, func(ctx context.Context, c *moose.Client) error {
				resp, err := variantClient(c).TryVariant(ctx, req)
				if err != nil {
					return fmt.Errorf("try variant %s: %w", args[0], err)
				}
				return a.Render(resp, func(w io.Writer) error { return writeTryResult(w, resp) })
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", `YAML work-order file ("-": stdin)`)
	f.StringVar(&title, "title", "", "work-order title (overrides the file's)")
	f.StringVar(&projectID, "project", "", "project ID whose name and language are sent as context")
	f.Int32Var(&cycle, "cycle", 1, "cycle number to ask for (2 and up: refinements)")
	return cmd
}

func variantStatusName(s moosev1.VariantStatus) string {
	switch s {
	case moosev1.VariantStatus_VARIANT_STATUS_ACTIVE:
		return "active"
	case moosev1.VariantStatus_VARIANT_STATUS_RETIRED:
		return "retired"
	}
	return "unspecified"
}

func variantPlugin(v *moosev1.Variant) string {
	if v.GetPluginVersion() == "" {
		return v.GetPluginName()
	}
	return v.GetPluginName() + "@" + v.GetPluginVersion()
}

// price formats US dollars per million tokens without trailing zeros.
func price(usdPerMTok float64) string {
	return "$" + strconv.FormatFloat(usdPerMTok, 'f', -1, 64)
}

// writeVariants writes one row per variant.
func writeVariants(w io.Writer, variants []*moosev1.Variant) error {
	t := output.NewTable(w, "ID", "NAME", "PLUGIN", "MODEL", "FORMAT", "PRICE IN/OUT", "STATUS", "CREATED")
	for _, v := range variants {
		in, out := v.GetInputPricePerMtok(), v.GetOutputPricePerMtok()
		if ep := v.GetEffectivePrices(); ep != nil {
			in, out = ep.GetInputPerMtok(), ep.GetOutputPerMtok()
		}
		t.Row(v.GetId(), v.GetName(), variantPlugin(v), v.GetModel(), v.GetEditFormat(),
			price(in)+"/"+price(out),
			variantStatusName(v.GetStatus()), output.Time(v.GetCreateTime()))
	}
	return t.Flush()
}

// writeVariant writes one variant as a key/value block followed by its prompts.
func writeVariant(w io.Writer, v *moosev1.Variant) error {
	t := output.NewTable(w)
	t.Row("ID:", v.GetId())
	t.Row("Name:", v.GetName())
	t.Row("Status:", variantStatusName(v.GetStatus()))
	t.Row("Plugin:", v.GetPluginName())
	pv := v.GetPluginVersion()
	if pv == "" {
		pv = "newest registered"
	}
	t.Row("Plugin version:", pv)
	t.Row("Model:", v.GetModel())
	t.Row("Base URL:", v.GetBaseUrl())
	t.Row("Edit format:", v.GetEditFormat())
	t.Row("Temperature:", strconv.FormatFloat(v.GetTemperature(), 'f', -1, 64))
	t.Row("Max tokens:", strconv.Itoa(int(v.GetMaxTokens())))
	t.Row("Few-shot examples:", strconv.Itoa(int(v.GetFewShotCount())))
	if ep := v.GetEffectivePrices(); ep != nil {
		// What attempts are costed with: the variant's prices, or the catalog's.
		t.Row("Input price:", price(ep.GetInputPerMtok())+" per million tokens")
		t.Row("Output price:", price(ep.GetOutputPerMtok())+" per million tokens")
		t.Row("Cache prices:", price(ep.GetCacheReadPerMtok())+" read, "+price(ep.GetCacheWritePerMtok())+" write per million tokens")
		t.Row("Prices from:", ep.GetSource())
	} else {
		t.Row("Input price:", price(v.GetInputPricePerMtok())+" per million tokens")
		t.Row("Output price:", price(v.GetOutputPricePerMtok())+" per million tokens")
	}
	t.Row("Created:", output.Time(v.GetCreateTime()))
	if v.GetRetireTime() != nil {
		t.Row("Retired:", output.Time(v.GetRetireTime()))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	var b strings.Builder
	if params := v.GetParams(); len(params) > 0 {
		b.WriteString("Params:\n")
		for _, k := range slices.Sorted(maps.Keys(params)) {
			fmt.Fprintf(&b, "  %s=%s\n", k, params[k])
		}
	}
	b.WriteString("System prompt:\n")
	b.WriteString(indentBlock(v.GetSystemPrompt()))
	b.WriteString("Prompt template:\n")
	b.WriteString(indentBlock(v.GetPromptTemplate()))
	_, err := io.WriteString(w, b.String())
	return err
}

// indentBlock indents every line of s by two spaces; "-" when s is empty.
func indentBlock(s string) string {
	if strings.TrimSpace(s) == "" {
		return "  -\n"
	}
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight("  "+l, " ")
	}
	return strings.Join(lines, "\n") + "\n"
}

// writeTryResult prints the answer verbatim (it is what the host's extractor
// would parse), then any structured edits, then the numbers.
func writeTryResult(w io.Writer, r *moosev1.TryVariantResponse) error {
	var b strings.Builder
	if r.GetText() != "" {
		b.WriteString(r.GetText())
		if !strings.HasSuffix(r.GetText(), "\n") {
			b.WriteString("\n")
		}
	} else if len(r.GetEdits()) == 0 {
		b.WriteString("(the proposer returned no text and no edits)\n")
	}
	for _, e := range r.GetEdits() {
		if e.GetDelete() {
			fmt.Fprintf(&b, "Edit: delete %s\n", e.GetPath())
			continue
		}
		fence := "```"
		for strings.Contains(e.GetContent(), fence) {
			fence += "`"
		}
		fmt.Fprintf(&b, "Edit: %s\n%s\n%s", e.GetPath(), fence, e.GetContent())
		if !strings.HasSuffix(e.GetContent(), "\n") {
			b.WriteString("\n")
		}
		b.WriteString(fence + "\n")
	}
	b.WriteString("\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	t := output.NewTable(w)
	t.Row("Model:", r.GetModel())
	t.Row("Tokens:", fmt.Sprintf("%d input%s, %d output", r.GetInputTokens(),
		cacheNote(r.GetCacheReadInputTokens(), r.GetCacheWriteInputTokens()), r.GetOutputTokens()))
	t.Row("Finish reason:", r.GetFinishReason())
	t.Row("Cost:", fmt.Sprintf("$%.6f", r.GetCostUsd()))
	t.Row("Latency:", latency(r.GetLatency().AsDuration()))
	return t.Flush()
}

// cacheNote says how many input tokens came from or went to the prompt
// cache; nothing when none did.
func cacheNote(read, write int64) string {
	var parts []string
	if read > 0 {
		parts = append(parts, fmt.Sprintf("%d cached", read))
	}
	if write > 0 {
		parts = append(parts, fmt.Sprintf("%d written to cache", write))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// latency keeps three significant digits or so: milliseconds for anything a
// model takes, microseconds for a local replay.
func latency(d time.Duration) string {
	if d >= time.Millisecond {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Microsecond).String()
}
