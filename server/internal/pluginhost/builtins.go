package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
)

// BuiltinPrefix names built-in plugin binaries: `make build` writes
// plugins/<name> to bin/moose-plugin-<name>.
const BuiltinPrefix = "moose-plugin-"

// RegisterBuiltins registers every moose-plugin-* executable in dir as a
// built-in plugin: its kind, name and version are what it reports, its sha256
// is taken from the file. Built-ins come from the server's own build, so they
// are trusted, kept in memory only, and a rebuilt binary replaces the previous
// one of the same version. A built-in proposer or architect receives the
// variables Config.BuiltinEnv lists for its name (by default its provider's
// API key) and nothing else. One broken binary does not stop the others; their
// errors are joined.
func (h *Host) RegisterBuiltins(ctx context.Context, dir string) ([]Plugin, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list built-in plugins: %w", err)
	}
	var out []Plugin
	var errs []error
	for _, de := range entries {
		if !strings.HasPrefix(de.Name(), BuiltinPrefix) || de.IsDir() {
			continue
		}
		path, err := filepath.Abs(filepath.Join(dir, de.Name()))
		if err == nil {
			path, err = filepath.EvalSymlinks(path)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("built-in plugin %s: %w", de.Name(), err))
			continue
		}
		if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			continue
		}
		pl, err := h.registerBuiltin(ctx, path)
		if err != nil {
			errs = append(errs, fmt.Errorf("built-in plugin %s: %w", de.Name(), err))
			continue
		}
		out = append(out, pl)
	}
	return out, errors.Join(errs...)
}

func (h *Host) registerBuiltin(ctx context.Context, path string) (Plugin, error) {
	sum, err := FileSHA256(path)
	if err != nil {
		return Plugin{}, err
	}
	// The probe runs with an empty allowlist, which is a validator's
	// environment too; built-ins get no server variables.
	base := strings.TrimPrefix(filepath.Base(path), BuiltinPrefix)
	probe := Registration{Kind: KindProposer, Name: base, Version: "probe"}
	p, err := h.launch(ctx, launchSpec{id: "builtin/" + base, path: path, sha256: sum, env: h.env(probe)})
	if err != nil {
		return Plugin{}, err
	}
	reg := Registration{Name: p.info.GetName(), Version: p.info.GetVersion(), Command: path, SHA256: sum}
	switch p.info.GetKind() {
	case pluginv1.PluginKind_PLUGIN_KIND_PROPOSER:
		reg.Kind = KindProposer
	case pluginv1.PluginKind_PLUGIN_KIND_VALIDATOR:
		reg.Kind = KindValidator
	case pluginv1.PluginKind_PLUGIN_KIND_ARCHITECT:
		reg.Kind = KindArchitect
	}
	if p.kind != reg.Kind {
		p.kill()
		return Plugin{}, fmt.Errorf("reports kind %s but serves %s", p.info.GetKind(), p.kind)
	}
	if reg.Kind != KindValidator {
		reg.Env = slices.Clone(h.cfg.BuiltinEnv[reg.Name])
		if len(reg.Env) > 0 {
			reg.AllowedBaseURLs = slices.Clone(h.cfg.BuiltinBaseURLs[reg.Name])
		}
	}
	if err := reg.validate(); err != nil {
		p.kill()
		return Plugin{}, err
	}
	return h.register(ctx, reg, path, true, p)
}
