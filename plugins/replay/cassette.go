package main

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// Cassette is a recorded set of answers.
type Cassette struct {
	Model   string  `yaml:"model" json:"model"`
	Entries []Entry `yaml:"entries" json:"entries"`
}

// Entry is one recorded answer.
type Entry struct {
	Key          string `yaml:"key" json:"key"`
	Cycle        int32  `yaml:"cycle" json:"cycle"`
	Text         string `yaml:"text" json:"text"`
	InputTokens  int64  `yaml:"input_tokens" json:"input_tokens"`
	OutputTokens int64  `yaml:"output_tokens" json:"output_tokens"`
	Model        string `yaml:"model" json:"model"`
	FinishReason string `yaml:"finish_reason" json:"finish_reason"`
}

// find returns the entry for key and cycle; an entry without a cycle matches any.
func (c *Cassette) find(key string, cycle int32) (Entry, error) {
	var any *Entry
	var cycles []int32
	for i, e := range c.Entries {
		if e.Key != key {
			continue
		}
		if e.Cycle == cycle {
			return e, nil
		}
		if e.Cycle == 0 && any == nil {
			any = &c.Entries[i]
		}
		cycles = append(cycles, e.Cycle)
	}
	if any != nil {
		return *any, nil
	}
	if len(cycles) > 0 {
		return Entry{}, fmt.Errorf("key %q has no answer for cycle %d (recorded cycles %v)", key, cycle, cycles)
	}
	return Entry{}, fmt.Errorf("no entry for key %q (keys: %s)", key, strings.Join(c.keys(), ", "))
}

func (c *Cassette) keys() []string {
	var ks []string
	for _, e := range c.Entries {
		if !slices.Contains(ks, fmt.Sprintf("%q", e.Key)) {
			ks = append(ks, fmt.Sprintf("%q", e.Key))
		}
	}
	sort.Strings(ks)
	if len(ks) > 20 {
		ks = append(ks[:20], "...")
	}
	return ks
}

// cache keeps parsed cassettes, re-reading a file when it changes.
type cache struct {
	mu sync.Mutex
	m  map[string]cached
}

type cached struct {
	mod  time.Time
	size int64
	c    *Cassette
}

func newCache() *cache { return &cache{m: map[string]cached{}} }

func (c *cache) load(path string) (*Cassette, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open cassette: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[path]; ok && e.mod.Equal(fi.ModTime()) && e.size == fi.Size() {
		return e.c, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read cassette: %w", err)
	}
	var cs Cassette
	if err := yaml.Unmarshal(b, &cs); err != nil {
		return nil, fmt.Errorf("parse cassette %s: %w", path, err)
	}
	c.m[path] = cached{mod: fi.ModTime(), size: fi.Size(), c: &cs}
	return &cs, nil
}
