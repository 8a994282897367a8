// Package variant manages proposer variants: a registered proposer plugin plus
// the configuration that makes it one contestant in routing and A/B tests
// (model, endpoint, prompts, edit format, few-shot count, prices). A prompt
// change or a newly served fine-tuned model becomes a new variant with one
// Create call: no restart, no new binary. Variants are never deleted, only
// retired, because work orders, experiments and statistics refer to them.
package variant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/moosehq/moose/plugins/sdk/param"
	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/pluginhost"
	"github.com/moosehq/moose/server/internal/price"
)

// Status is a variant's lifecycle state.
type Status string

// Variant states.
const (
	StatusActive  Status = "active"
	StatusRetired Status = "retired"
)

// Edit formats a variant may ask for.
var EditFormats = []string{"whole", "diff", "search_replace"}

// Variant is a proposer plugin plus configuration.
type Variant struct {
	ID         string
	Name       string
	PluginName string
	// PluginVersion empty: the newest registered version of the plugin.
	PluginVersion  string
	Model          string
	BaseURL        string
	SystemPrompt   string
	PromptTemplate string
	Temperature    float64
	MaxTokens      int
	EditFormat     string
	FewShotCount   int
	// Prices in US dollars per million tokens; all four 0 means the variant
	// gives none (see Prices). A cache price of 0 derives from the input price.
	InputPricePerMTok      float64
	OutputPricePerMTok     float64
	CacheReadPricePerMTok  float64
	CacheWritePricePerMTok float64
	Params                 map[string]string
	Status                 Status
	CreatedAt              time.Time
	RetiredAt              *time.Time
}

// Config is the variant's configuration as the plugin contract carries it.
func (v Variant) Config() *pluginv1.VariantConfig {
	return &pluginv1.VariantConfig{
		Name:           v.Name,
		Model:          v.Model,
		BaseUrl:        v.BaseURL,
		SystemPrompt:   v.SystemPrompt,
		PromptTemplate: v.PromptTemplate,
		Temperature:    v.Temperature,
		MaxTokens:      int32(v.MaxTokens),
		EditFormat:     v.EditFormat,
		FewShotCount:   int32(v.FewShotCount),
		Params:         v.Params,
	}
}

// Where a variant's prices come from.
const (
	PriceSourceVariant = "variant"
	PriceSourceCatalog = "catalog"
	PriceSourceNone    = "none"
)

// Prices are the prices the variant's calls are costed with, and where they
// come from: the variant's own when it gives any, with cache prices it does
// not give derived from its input price (price.CacheRatesFor its model);
// else the built-in catalog's for its model; else none ($0). A variant
// priced by the catalog follows the catalog as moosed is upgraded; each
// attempt keeps the cost it was charged.
func (v Variant) Prices() (price.Prices, string) {
	own := price.Prices{Input: v.InputPricePerMTok, CacheRead: v.CacheReadPricePerMTok,
		CacheWrite: v.CacheWritePricePerMTok, Output: v.OutputPricePerMTok}
	if own != (price.Prices{}) {
		return own.WithCacheDefaults(price.CacheRatesFor(v.Model)), PriceSourceVariant
	}
	if p, ok := price.Lookup(v.Model); ok {
		return p, PriceSourceCatalog
	}
	return own, PriceSourceNone
}

// Cost is the price in US dollars of one call that used u: cache reads and
// writes at their own prices, the rest of the input at the input price.
func (v Variant) Cost(u price.Usage) float64 {
	p, _ := v.Prices()
	return p.Cost(u)
}

// Proposers is the part of the plugin host variants need.
type Proposers interface {
	Get(kind pluginhost.Kind, name, version string) (pluginhost.Plugin, error)
	List(kind pluginhost.Kind) []pluginhost.Plugin
	Propose(ctx context.Context, name, version string, req *pluginv1.ProposeRequest) (*pluginv1.ProposeResponse, error)
}

// Service stores variants in PostgreSQL and tries them against their plugin.
type Service struct {
	pool    *pgxpool.Pool
	plugins Proposers
}

// NewService returns a Service.
func NewService(pool *pgxpool.Pool, plugins Proposers) *Service {
	return &Service{pool: pool, plugins: plugins}
}

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

func (v *Variant) validate(plugins Proposers, inCatalog bool) error {
	ve := &fault.ValidationError{}
	if !namePattern.MatchString(v.Name) {
		ve.Add("name", "must be 1-63 lowercase letters, digits, '.', '_' or '-'")
	}
	if v.PluginName == "" {
		ve.Add("plugin_name", "is required")
	} else if !inCatalog && !hasProposer(plugins, v.PluginName, v.PluginVersion) {
		ve.Add("plugin_name", "no proposer plugin %q is registered", strings.TrimSuffix(v.PluginName+"@"+v.PluginVersion, "@"))
	}
	if pl, ok := newestProposer(plugins, v.PluginName, v.PluginVersion); ok {
		checkKeyPolicy(ve, pl.Registration, v)
		checkParams(ve, pl, v.Params)
	}
	if v.EditFormat == "" {
		v.EditFormat = "whole"
	}
	if !contains(EditFormats, v.EditFormat) {
		ve.Add("edit_format", "must be one of %s", strings.Join(EditFormats, ", "))
	}
	if v.Temperature < 0 || v.Temperature > 2 || math.IsNaN(v.Temperature) {
		ve.Add("temperature", "must be between 0 and 2")
	}
	if v.MaxTokens < 0 {
		ve.Add("max_tokens", "must not be negative")
	}
	if v.FewShotCount < 0 || v.FewShotCount > 20 {
		ve.Add("few_shot_count", "must be between 0 and 20")
	}
	if v.InputPricePerMTok < 0 || math.IsNaN(v.InputPricePerMTok) {
		ve.Add("input_price_per_mtok", "must not be negative")
	}
	if v.OutputPricePerMTok < 0 || math.IsNaN(v.OutputPricePerMTok) {
		ve.Add("output_price_per_mtok", "must not be negative")
	}
	if v.CacheReadPricePerMTok < 0 || math.IsNaN(v.CacheReadPricePerMTok) {
		ve.Add("cache_read_price_per_mtok", "must not be negative")
	}
	if v.CacheWritePricePerMTok < 0 || math.IsNaN(v.CacheWritePricePerMTok) {
		ve.Add("cache_write_price_per_mtok", "must not be negative")
	}
	return ve.Err()
}

func hasProposer(p Proposers, name, version string) bool {
	if version != "" {
		_, err := p.Get(pluginhost.KindProposer, name, version)
		return err == nil
	}
	for _, pl := range p.List(pluginhost.KindProposer) {
		if pl.Name == name {
			return true
		}
	}
	return false
}

// newestProposer is the plugin a variant of name (and version, when given) is
// served by: the most recently registered version.
func newestProposer(p Proposers, name, version string) (pluginhost.Plugin, bool) {
	if name == "" {
		return pluginhost.Plugin{}, false
	}
	if version != "" {
		pl, err := p.Get(pluginhost.KindProposer, name, version)
		return pl, err == nil
	}
	var best pluginhost.Plugin
	found := false
	for _, pl := range p.List(pluginhost.KindProposer) {
		if pl.Name == name && (!found || pl.CreatedAt.After(best.CreatedAt)) {
			best, found = pl, true
		}
	}
	return best, found
}

// checkParams refuses params the plugin does not read, and documented params
// (plugins/sdk/param) whose value does not parse: before this check a param
// the plugin ignored (reasoning_effort, say, before it was forwarded) was
// silently dropped, and the variant ran without it. A plugin that declares no
// params (a third-party plugin written before they could be declared, or one
// not running on this node) is not checked.
func checkParams(ve *fault.ValidationError, pl pluginhost.Plugin, params map[string]string) {
	known := pl.Info.Params
	if len(known) == 0 {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(params)) {
		if !slices.Contains(known, name) {
			ve.Add("params."+name, "plugin %s does not read it; it reads %s", pl.Name, strings.Join(known, ", "))
			continue
		}
		if err := param.Check(name, params[name]); err != nil {
			ve.Add("params."+name, "%v", err)
		}
	}
}

// checkKeyPolicy refuses a variant that asks for a key (params.api_key_env)
// the registration does not allow, or asks for one while pointing at an
// endpoint the registration may not send keys to. A variant naming no key
// may point anywhere: it simply gets none (the host releases keys per call).
func checkKeyPolicy(ve *fault.ValidationError, reg pluginhost.Registration, v *Variant) {
	name := strings.TrimSpace(v.Params["api_key_env"])
	if name == "" {
		return
	}
	if !contains(reg.Env, name) {
		ve.Add("params.api_key_env", "%q is not in plugin %s's env allowlist (%s)", name, reg.Name, strings.Join(reg.Env, ", "))
	}
	if !reg.KeyAllowed(v.BaseURL) {
		allowed := strings.Join(reg.AllowedBaseURLs, ", ")
		if allowed == "" {
			allowed = "nowhere"
		}
		ve.Add("base_url", "the variant names api_key_env, but plugin %s may send keys only to %s", reg.Name, allowed)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Create records a new active variant. The plugin must be a registered proposer.
func (s *Service) Create(ctx context.Context, v Variant) (Variant, error) {
	// Another node may have registered the plugin: the shared catalog counts
	// too (built-ins are in every node's memory).
	var inCatalog bool
	if v.PluginName != "" {
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM plugins WHERE kind = 'proposer' AND name = $1 AND ($2 = '' OR version = $2))`,
			v.PluginName, v.PluginVersion).Scan(&inCatalog); err != nil {
			return Variant{}, fmt.Errorf("look up plugin catalog: %w", err)
		}
	}
	if err := v.validate(s.plugins, inCatalog); err != nil {
		return Variant{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Variant{}, fmt.Errorf("create variant: %w", err)
	}
	v.ID = id.String()
	if v.Params == nil {
		v.Params = map[string]string{}
	}
	params, _ := json.Marshal(v.Params)
	row, err := s.pool.Query(ctx, `
		INSERT INTO variants (id, name, plugin_name, plugin_version, model, base_url, system_prompt, prompt_template,
			temperature, max_tokens, edit_format, few_shot_count, input_price_per_mtok, output_price_per_mtok, params,
			cache_read_price_per_mtok, cache_write_price_per_mtok)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
		RETURNING `+columns,
		v.ID, v.Name, v.PluginName, v.PluginVersion, v.Model, v.BaseURL, v.SystemPrompt, v.PromptTemplate,
		v.Temperature, v.MaxTokens, v.EditFormat, v.FewShotCount, v.InputPricePerMTok, v.OutputPricePerMTok, params,
		v.CacheReadPricePerMTok, v.CacheWritePricePerMTok)
	if err != nil {
		return Variant{}, fmt.Errorf("create variant %s: %w", v.Name, err)
	}
	out, err := pgx.CollectExactlyOneRow(row, scan)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return Variant{}, fmt.Errorf("create variant %s: a variant with that name exists: %w", v.Name, fault.ErrConflict)
	}
	if err != nil {
		return Variant{}, fmt.Errorf("create variant %s: %w", v.Name, err)
	}
	return out, nil
}

// Get returns a variant by id or by name.
func (s *Service) Get(ctx context.Context, idOrName string) (Variant, error) {
	where, arg := byIDOrName(idOrName)
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM variants WHERE `+where, arg)
	if err != nil {
		return Variant{}, fmt.Errorf("get variant %s: %w", idOrName, err)
	}
	v, err := pgx.CollectExactlyOneRow(rows, scan)
	if errors.Is(err, pgx.ErrNoRows) {
		return Variant{}, fmt.Errorf("variant %s: %w", idOrName, fault.ErrNotFound)
	}
	if err != nil {
		return Variant{}, fmt.Errorf("get variant %s: %w", idOrName, err)
	}
	return v, nil
}

// ListFilter narrows List; zero fields match everything.
type ListFilter struct {
	Status     Status
	PluginName string
}

// ParseStatus accepts "active", "retired" and the API enum names.
func ParseStatus(s string) (Status, error) {
	switch strings.ToLower(strings.TrimPrefix(strings.ToUpper(s), "VARIANT_STATUS_")) {
	case "":
		return "", nil
	case "active":
		return StatusActive, nil
	case "retired":
		return StatusRetired, nil
	}
	return "", fault.Invalid("status", "must be active or retired, got %q", s)
}

// List returns variants, newest first.
func (s *Service) List(ctx context.Context, f ListFilter) ([]Variant, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM variants
		WHERE ($1 = '' OR status = $1) AND ($2 = '' OR plugin_name = $2)
		ORDER BY created_at DESC, id DESC`, string(f.Status), f.PluginName)
	if err != nil {
		return nil, fmt.Errorf("list variants: %w", err)
	}
	out, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("list variants: %w", err)
	}
	return out, nil
}

// Retire stops routing to a variant. Retiring a retired variant returns it unchanged.
func (s *Service) Retire(ctx context.Context, idOrName string) (Variant, error) {
	where, arg := byIDOrName(idOrName)
	rows, err := s.pool.Query(ctx, `UPDATE variants SET status = 'retired', retired_at = COALESCE(retired_at, now())
		WHERE `+where+` RETURNING `+columns, arg)
	if err != nil {
		return Variant{}, fmt.Errorf("retire variant %s: %w", idOrName, err)
	}
	v, err := pgx.CollectExactlyOneRow(rows, scan)
	if errors.Is(err, pgx.ErrNoRows) {
		return Variant{}, fmt.Errorf("variant %s: %w", idOrName, fault.ErrNotFound)
	}
	if err != nil {
		return Variant{}, fmt.Errorf("retire variant %s: %w", idOrName, err)
	}
	return v, nil
}

// TryRequest is one ad-hoc work order sent straight to a variant.
type TryRequest struct {
	Title              string
	Description        string
	AcceptanceCriteria []string
	Complexity         int
	Metadata           map[string]string
	// ProjectID optionally adds the project's name and language as context.
	ProjectID string
	// Cycle to ask for; 0 means 1.
	Cycle int
}

// TryResult is the variant's raw answer.
type TryResult struct {
	Text        string
	Edits       []*pluginv1.Edit
	Model       string
	InputTokens int64
	// CacheReadInputTokens and CacheWriteInputTokens are the parts of
	// InputTokens read from and written to the provider's prompt cache.
	CacheReadInputTokens  int64
	CacheWriteInputTokens int64
	OutputTokens          int64
	FinishReason          string
	Latency               time.Duration
	CostUSD               float64
}

// Try sends one work order to the variant's proposer and returns its answer.
// Nothing is stored: it is the plugin author's inner loop.
func (s *Service) Try(ctx context.Context, idOrName string, req TryRequest) (TryResult, error) {
	ve := &fault.ValidationError{}
	if strings.TrimSpace(req.Title) == "" {
		ve.Add("work_order.title", "is required")
	}
	if req.Complexity == 0 {
		req.Complexity = 1
	}
	if req.Complexity < 1 || req.Complexity > 10 {
		ve.Add("work_order.complexity", "must be between 1 and 10")
	}
	if req.ProjectID != "" {
		if _, err := uuid.Parse(req.ProjectID); err != nil {
			ve.Add("project_id", "must be a UUID")
		}
	}
	if err := ve.Err(); err != nil {
		return TryResult{}, err
	}
	v, err := s.Get(ctx, idOrName)
	if err != nil {
		return TryResult{}, err
	}
	preq := &pluginv1.ProposeRequest{
		WorkOrder: &pluginv1.WorkOrder{
			Title: req.Title, Description: req.Description, AcceptanceCriteria: req.AcceptanceCriteria,
			Complexity: int32(req.Complexity), Metadata: req.Metadata,
		},
		EditFormat: v.EditFormat,
		Variant:    v.Config(),
		Cycle:      int32(max(req.Cycle, 1)),
	}
	if req.ProjectID != "" {
		var pc pluginv1.ProjectContext
		err := s.pool.QueryRow(ctx, `SELECT name, language FROM projects WHERE id = $1`, req.ProjectID).Scan(&pc.Name, &pc.Language)
		if errors.Is(err, pgx.ErrNoRows) {
			return TryResult{}, fmt.Errorf("project %s: %w", req.ProjectID, fault.ErrNotFound)
		}
		if err != nil {
			return TryResult{}, fmt.Errorf("load project %s: %w", req.ProjectID, err)
		}
		preq.Project = &pc
	}
	start := time.Now()
	resp, err := s.plugins.Propose(ctx, v.PluginName, v.PluginVersion, preq)
	latency := time.Since(start)
	if err != nil {
		return TryResult{}, fmt.Errorf("try variant %s: %w", v.Name, err)
	}
	return TryResult{
		Text:                  resp.GetText(),
		Edits:                 resp.GetEdits(),
		Model:                 resp.GetModel(),
		InputTokens:           resp.GetInputTokens(),
		CacheReadInputTokens:  resp.GetCacheReadInputTokens(),
		CacheWriteInputTokens: resp.GetCacheWriteInputTokens(),
		OutputTokens:          resp.GetOutputTokens(),
		FinishReason:          resp.GetFinishReason(),
		Latency:               latency,
		CostUSD:               v.Cost(UsageOf(resp)),
	}, nil
}

// UsageOf is the token usage a proposer reported.
func UsageOf(resp *pluginv1.ProposeResponse) price.Usage {
	return price.Usage{Input: resp.GetInputTokens(), CacheRead: resp.GetCacheReadInputTokens(),
		CacheWrite: resp.GetCacheWriteInputTokens(), Output: resp.GetOutputTokens()}
}

const columns = `id, name, plugin_name, plugin_version, model, base_url, system_prompt, prompt_template, temperature,
	max_tokens, edit_format, few_shot_count, input_price_per_mtok, output_price_per_mtok, params, status, created_at, retired_at,
	cache_read_price_per_mtok, cache_write_price_per_mtok`

func byIDOrName(s string) (string, any) {
	if id, err := uuid.Parse(s); err == nil {
		return "id = $1", id
	}
	return "name = $1", s
}

func scan(row pgx.CollectableRow) (Variant, error) {
	var v Variant
	var id uuid.UUID
	var params []byte
	var status string
	err := row.Scan(&id, &v.Name, &v.PluginName, &v.PluginVersion, &v.Model, &v.BaseURL, &v.SystemPrompt, &v.PromptTemplate,
		&v.Temperature, &v.MaxTokens, &v.EditFormat, &v.FewShotCount, &v.InputPricePerMTok, &v.OutputPricePerMTok,
		&params, &status, &v.CreatedAt, &v.RetiredAt, &v.CacheReadPricePerMTok, &v.CacheWritePricePerMTok)
	if err != nil {
		return v, err
	}
	v.ID = id.String()
	v.Status = Status(status)
	if err := json.Unmarshal(params, &v.Params); err != nil {
		return v, fmt.Errorf("decode variant params: %w", err)
	}
	return v, nil
}
