// Command architect-replay is the built-in replay architect: it answers
// Decompose from a recorded cassette instead of a model, so `moosectl spec
// decompose` works offline, deterministically and for free (demos, tests).
//
// # Cassette
//
// A YAML file named by the config's base_url, or by its param "cassette".
// Relative paths resolve against moosed's working directory.
//
//	model: gpt-4o-mini                 # model name reported
//	entries:
//	  - key: Calculator features        # the spec's first Markdown heading, or param replay_key
//	    spec_sha256: 3f2a...            # optional: matches this exact spec text first
//	    input_tokens: 910
//	    output_tokens: 420
//	    work_orders:
//	      - title: Add a modulo operator
//	        description: ...
//	        acceptance_criteria: [...]
//	        complexity: 3
//
// An entry matches when its spec_sha256 equals the hex sha256 of the spec
// text; otherwise when its key equals the param replay_key, else the spec's
// first "# " heading, else the spec name. An unknown spec is an error naming
// the cassette and the keys it holds.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gopkg.in/yaml.v3"

	"github.com/moosehq/moose/plugins/internal/prompt"
	"github.com/moosehq/moose/plugins/sdk"
)

const version = "1.0.0"

// Cassette is a set of recorded decompositions.
type Cassette struct {
	Model   string  `yaml:"model"`
	Entries []Entry `yaml:"entries"`
}

// Entry is one recorded decomposition.
type Entry struct {
	Key          string                    `yaml:"key"`
	SpecSHA256   string                    `yaml:"spec_sha256"`
	Model        string                    `yaml:"model"`
	InputTokens  int64                     `yaml:"input_tokens"`
	OutputTokens int64                     `yaml:"output_tokens"`
	WorkOrders   []prompt.PlannedWorkOrder `yaml:"work_orders"`
}

type replay struct {
	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	stamp string
	c     *Cassette
}

func (*replay) Info() sdk.Info {
	return sdk.Info{Name: "architect-replay", Version: version,
		Description: "answers Decompose from a recorded cassette (config base_url or param cassette)"}
}

func (r *replay) Decompose(_ context.Context, req *sdk.DecomposeRequest) (*sdk.DecomposeResponse, error) {
	cfg := req.GetConfig()
	path := cfg.GetBaseUrl()
	if path == "" {
		path = cfg.GetParams()["cassette"]
	}
	if path == "" {
		return nil, status.Error(codes.InvalidArgument, "architect-replay: no cassette (set base_url or param cassette)")
	}
	c, err := r.load(path)
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "architect-replay: %v", err)
	}
	sum := sha256.Sum256([]byte(req.GetSpec()))
	key := cfg.GetParams()["replay_key"]
	if key == "" {
		key = Heading(req.GetSpec())
	}
	if key == "" {
		key = req.GetSpecName()
	}
	e, ok := c.find(hex.EncodeToString(sum[:]), key)
	if !ok {
		return nil, status.Errorf(codes.NotFound, "architect-replay: cassette %s has no entry for spec %q (sha256 %x); keys: %s",
			path, key, sum[:8], strings.Join(c.keys(), ", "))
	}
	resp := &sdk.DecomposeResponse{
		Model: firstNonEmpty(e.Model, c.Model, "replay"), InputTokens: e.InputTokens, OutputTokens: e.OutputTokens,
		FinishReason: "stop", PromptHash: hex.EncodeToString(sum[:]),
	}
	for _, w := range e.WorkOrders {
		resp.WorkOrders = append(resp.WorkOrders, w.Proto())
	}
	if n := int(req.GetMaxWorkOrders()); n > 0 && len(resp.WorkOrders) > n {
		resp.WorkOrders = resp.WorkOrders[:n]
	}
	return resp, nil
}

// Heading returns the text of the spec's first "# " heading, or "".
func Heading(spec string) string {
	for _, line := range strings.Split(spec, "\n") {
		if t, ok := strings.CutPrefix(strings.TrimSpace(line), "# "); ok {
			return strings.TrimSpace(t)
		}
	}
	return ""
}

func (c *Cassette) find(sum, key string) (Entry, bool) {
	for _, e := range c.Entries {
		if e.SpecSHA256 != "" && strings.EqualFold(e.SpecSHA256, sum) {
			return e, true
		}
	}
	for _, e := range c.Entries {
		if key != "" && e.Key == key {
			return e, true
		}
	}
	return Entry{}, false
}

func (c *Cassette) keys() []string {
	var ks []string
	for _, e := range c.Entries {
		ks = append(ks, fmt.Sprintf("%q", e.Key))
	}
	sort.Strings(ks)
	return ks
}

// load parses a cassette, re-reading it when its size or modification time changes.
func (r *replay) load(path string) (*Cassette, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open cassette: %w", err)
	}
	stamp := fmt.Sprintf("%d/%d", fi.Size(), fi.ModTime().UnixNano())
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.cache[path]; ok && e.stamp == stamp {
		return e.c, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read cassette: %w", err)
	}
	var c Cassette
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("parse cassette %s: %w", path, err)
	}
	r.cache[path] = cached{stamp: stamp, c: &c}
	return &c, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func main() { sdk.ServeArchitect(&replay{cache: map[string]cached{}}) }
