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
// plugins/<name> to bin/moose-plugin-<name> and lists each in the manifest.
const BuiltinPrefix = "moose-plugin-"

// RegisterBuiltins registers the built-in plugins that dir's manifest
// (ManifestFile, written by `make build`) lists: each binary must still have
// the sha256 recorded there, or it is refused with an error log line and not
// registered. Its kind, name and version are what it reports (and must equal
// the manifest's when the manifest records them). Built-ins come from the
// server's own build, so they are kept in memory only, and a rebuilt binary
// replaces the previous one of the same version. A built-in proposer or
// architect receives the variables Config.BuiltinEnv lists for its name (by
// default its provider's API key) and nothing else.
//
// Any other moose-plugin-* file in dir is ignored, with a log line, until it
// is registered explicitly (Register). Without a manifest nothing is
// registered and a warning says how to produce one. One broken or refused
// binary does not stop the others; their errors are joined.
func (h *Host) RegisterBuiltins(ctx context.Context, dir string) ([]Plugin, error) {
	m, err := ReadManifest(dir)
	if errors.Is(err, os.ErrNotExist) {
		h.log.Warn("no built-in plugin manifest: no built-in plugins registered; run make build to build the plugins and write it",
			"dir", dir, "manifest", ManifestFile)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("built-in plugins: %w", err)
	}
	listed := map[string]bool{}
	var out []Plugin
	var errs []error
	for _, me := range m.Plugins {
		listed[me.File] = true
		pl, err := h.registerListed(ctx, dir, me)
		if err != nil {
			errs = append(errs, fmt.Errorf("built-in plugin %s: %w", me.File, err))
			continue
		}
		out = append(out, pl)
	}
	if entries, err := os.ReadDir(dir); err == nil {
		for _, de := range entries {
			if strings.HasPrefix(de.Name(), BuiltinPrefix) && !de.IsDir() && !listed[de.Name()] {
				h.log.Warn("plugin binary not in the built-in manifest: ignored until registered through the API",
					"file", filepath.Join(dir, de.Name()), "manifest", ManifestFile)
			}
		}
	}
	return out, errors.Join(errs...)
}

// registerListed verifies one manifest entry and registers it.
func (h *Host) registerListed(ctx context.Context, dir string, me ManifestEntry) (Plugin, error) {
	path, err := filepath.Abs(filepath.Join(dir, me.File))
	if err == nil {
		path, err = filepath.EvalSymlinks(path)
	}
	if err != nil {
		return Plugin{}, err
	}
	if fi, err := os.Stat(path); err != nil {
		return Plugin{}, err
	} else if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return Plugin{}, errors.New("not an executable file")
	}
	if err := verifySHA256(path, me.SHA256); err != nil {
		if errors.Is(err, ErrChecksum) {
			h.log.Error("built-in plugin refused: its sha256 differs from the manifest; rebuild with make build or register it through the API",
				"file", path, "manifest", ManifestFile, "err", err)
		}
		return Plugin{}, err
	}
	return h.registerBuiltin(ctx, path, me)
}

func (h *Host) registerBuiltin(ctx context.Context, path string, me ManifestEntry) (Plugin, error) {
	// launch checks the file against the manifest's sha256 again immediately
	// before exec, so a binary swapped after the check above is refused too.
	sum := me.SHA256
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
	if (me.Kind != "" && me.Kind != reg.Kind) || (me.Name != "" && me.Name != reg.Name) || (me.Version != "" && me.Version != reg.Version) {
		p.kill()
		return Plugin{}, fmt.Errorf("reports %s %s %s, the manifest lists %s %s %s", reg.Kind, reg.Name, reg.Version, me.Kind, me.Name, me.Version)
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
