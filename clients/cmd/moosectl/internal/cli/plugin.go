package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/output"
	"github.com/moosehq/moose/clients/moose"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

func init() { register(newPluginCommand) }

func newPluginCommand(a *App) *cobra.Command {
	cmd := groupCommand("plugin", "Register and manage plugins (proposers, validators)")
	cmd.Aliases = []string{"plugins"}
	cmd.AddCommand(
		newPluginRegisterCommand(a),
		newPluginListCommand(a),
		newPluginGetCommand(a),
		newPluginReloadCommand(a),
		newPluginUnregisterCommand(a),
	)
	return cmd
}

func pluginClient(c *moose.Client) moosev1.PluginServiceClient {
	return moosev1.NewPluginServiceClient(c.Conn())
}

func newPluginRegisterCommand(a *App) *cobra.Command {
	var req moosev1.RegisterPluginRequest
	cmd := &cobra.Command{
		Use:   "register --kind KIND --name NAME --version VERSION --command PATH [flags]",
		Short: "Register a plugin binary from the server's plugin directory",
		Long: `Register a proposer, validator or architect binary. moosed launches it, checks
that it reports the registered kind, name and version, and keeps it running; no
restart is needed. KIND NAME VERSION may also be given as arguments.

--command is the binary's path relative to the server's plugin directory (or an
absolute path inside it). The server resolves it there, wherever moosectl runs,
and pins the sha256 of the binary it found; the output shows the resolved path
and the pinned sha256. With --sha256 the server refuses (FailedPrecondition) a
binary with another hash.

A version names one binary: registering the same version with another binary
is refused. After rebuilding a registered binary, pin the new build with
"moosectl plugin reload KIND NAME VERSION --rehash", or register a new version.
Repeating an identical registration returns the existing plugin.`,
		Example: `  go build -o bin/shouter ./examples/plugins/shouter   # bin/ is moosed's default plugin directory
  moosectl plugin register proposer shouter 0.1.0 --command shouter
  moosectl plugin register --kind proposer --name shouter --version 0.1.0 --command shouter \
    --sha256 $(sha256sum bin/shouter | cut -d' ' -f1) \
    --env SHOUTER_API_KEY --allowed-base-url https://api.shouter.example/v1`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 && len(args) != 3 {
				return usageErrorf("%s takes KIND NAME VERSION as flags or as 3 arguments, got %d argument(s)", cmd.CommandPath(), len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 3 {
				for _, name := range []string{"kind", "name", "version"} {
					if cmd.Flags().Changed(name) {
						return usageErrorf("--%s and the KIND NAME VERSION arguments exclude each other", name)
					}
				}
				req.Kind, req.Name, req.Version = args[0], args[1], args[2]
			}
			var missing []string
			for _, f := range []struct{ flag, value string }{
				{"kind", req.Kind}, {"name", req.Name}, {"version", req.Version}, {"command", req.Command},
			} {
				if f.value == "" {
					missing = append(missing, "--"+f.flag)
				}
			}
			if len(missing) > 0 {
				return usageErrorf("missing %s", strings.Join(missing, ", "))
			}
			req.Sha256 = strings.ToLower(req.Sha256)
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				resp, err := pluginClient(c).RegisterPlugin(ctx, &req)
				if err != nil {
					return fmt.Errorf("register plugin: %w", err)
				}
				p := resp.GetPlugin()
				if req.Sha256 == "" {
					a.pinned(p)
				}
				return a.Render(p, func(w io.Writer) error { return writePlugin(w, p) })
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Kind, "kind", "", "plugin kind, e.g. proposer or validator")
	f.StringVar(&req.Name, "name", "", "plugin name, as the binary reports it")
	f.StringVar(&req.Version, "version", "", "plugin version, as the binary reports it")
	f.StringVar(&req.Command, "command", "", "binary path, relative to the server's plugin directory")
	f.StringArrayVar(&req.Args, "arg", nil, "argument passed to the binary (repeat for several)")
	f.StringVar(&req.Sha256, "sha256", "", "hex sha256 the binary must have (default: the server pins the binary it finds)")
	f.StringArrayVar(&req.EnvAllowlist, "env", nil, "server environment variable passed to a proposer, e.g. its API key (repeat for several)")
	f.StringArrayVar(&req.AllowedBaseUrls, "allowed-base-url", nil, "endpoint the --env values may be sent to (repeat for several); a variant with another base_url gets none")
	return cmd
}

// pinned says on stderr which binary the server resolved and pinned, so the
// plain output (or -o json) stays the plugin alone.
func (a *App) pinned(p *moosev1.Plugin) {
	fmt.Fprintf(a.stderr, "Pinned sha256 %s of %s on the server.\n", p.GetSha256(), p.GetPath())
}

func newPluginListCommand(a *App) *cobra.Command {
	var kind string
	cmd := &cobra.Command{
		Use:   "list [--kind KIND]",
		Short: "List registered plugins and the state of their processes",
		Long: `List registered plugins, built-in and registered, sorted by kind, name and
version, with the state of each process (starting, ready, restarting,
quarantined, stopped). With -o json the output is one ListPluginsResponse.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				resp, err := pluginClient(c).ListPlugins(ctx, &moosev1.ListPluginsRequest{Kind: kind})
				if err != nil {
					return fmt.Errorf("list plugins: %w", err)
				}
				return a.Render(resp, func(w io.Writer) error { return writePlugins(w, resp.GetPlugins()) })
			})
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "", "only plugins of this kind, e.g. proposer or validator")
	return cmd
}

func newPluginGetCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "get KIND NAME [VERSION]",
		Short: "Show one plugin",
		Long: `Show one plugin: its registration, what the binary reports about itself and
the state of its process. Without VERSION, the most recently registered version
of NAME is shown: the one a variant without a plugin version uses.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 || len(args) > 3 {
				return usageErrorf("%s needs 2 or 3 arguments (KIND NAME [VERSION]), got %d", cmd.CommandPath(), len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				var p *moosev1.Plugin
				if len(args) == 3 {
					resp, err := pluginClient(c).GetPlugin(ctx, &moosev1.GetPluginRequest{Kind: args[0], Name: args[1], Version: args[2]})
					if err != nil {
						return fmt.Errorf("get plugin: %w", err)
					}
					p = resp.GetPlugin()
				} else {
					var err error
					if p, err = newestPlugin(ctx, c, args[0], args[1]); err != nil {
						return err
					}
				}
				return a.Render(p, func(w io.Writer) error { return writePlugin(w, p) })
			})
		},
	}
}

// newestPlugin finds the most recently registered version of a plugin, which
// is what the server calls when no version is named.
func newestPlugin(ctx context.Context, c *moose.Client, kind, name string) (*moosev1.Plugin, error) {
	resp, err := pluginClient(c).ListPlugins(ctx, &moosev1.ListPluginsRequest{Kind: kind})
	if err != nil {
		return nil, fmt.Errorf("get plugin: %w", err)
	}
	var best *moosev1.Plugin
	for _, p := range resp.GetPlugins() {
		if p.GetName() != name {
			continue
		}
		if best == nil || p.GetCreateTime().AsTime().After(best.GetCreateTime().AsTime()) {
			best = p
		}
	}
	if best == nil {
		return nil, fmt.Errorf("get plugin: no %s plugin named %q is registered; see moosectl plugin list", kind, name)
	}
	return best, nil
}

func newPluginReloadCommand(a *App) *cobra.Command {
	var rehash bool
	var sum string
	cmd := &cobra.Command{
		Use:   "reload KIND NAME VERSION [--rehash [--sha256 HEX]]",
		Short: "Restart a plugin's process without failing a call",
		Long: `Start and health-check a fresh process for a plugin, route new calls to it,
then drain and stop the old one. A quarantined plugin gets a new chance.

The binary must still have the sha256 pinned at registration: a rebuilt binary
is refused (FailedPrecondition, naming both hashes) and the old process keeps
serving. --rehash is the rebuild-and-reload flow for a plugin under
development: the server resolves the command again, pins the binary's current
sha256 (with --sha256, only if it is that one), starts it, and stores the new
pin once the new process is healthy and reports the registered name and
version. A released build deserves a new version instead. Built-ins are pinned
by their manifest and cannot be rehashed.`,
		Example: `  go build -o bin/shouter ./examples/plugins/shouter
  moosectl plugin reload proposer shouter 0.1.0 --rehash`,
		Args: exactArgs(3, "KIND", "NAME", "VERSION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if sum != "" && !rehash {
				return usageErrorf("--sha256 needs --rehash: a plain reload starts the binary pinned at registration")
			}
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				resp, err := pluginClient(c).ReloadPlugin(ctx, &moosev1.ReloadPluginRequest{
					Kind: args[0], Name: args[1], Version: args[2], Rehash: rehash, Sha256: strings.ToLower(sum)})
				if err != nil {
					return fmt.Errorf("reload plugin: %w", err)
				}
				p := resp.GetPlugin()
				if rehash {
					a.pinned(p)
				}
				return a.Render(p, func(w io.Writer) error { return writePlugin(w, p) })
			})
		},
	}
	cmd.Flags().BoolVar(&rehash, "rehash", false, "pin the binary's current sha256 first (after a rebuild)")
	cmd.Flags().StringVar(&sum, "sha256", "", "with --rehash: hex sha256 the rebuilt binary must have")
	return cmd
}

func newPluginUnregisterCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "unregister KIND NAME VERSION",
		Short: "Drain, stop and remove a plugin",
		Long: `Wait for the plugin's calls in flight, stop its process and remove its
registration. Variants naming it stay, but fail until it is registered again.`,
		Args: exactArgs(3, "KIND", "NAME", "VERSION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				resp, err := pluginClient(c).UnregisterPlugin(ctx, &moosev1.UnregisterPluginRequest{Kind: args[0], Name: args[1], Version: args[2]})
				if err != nil {
					return fmt.Errorf("unregister plugin: %w", err)
				}
				return a.Render(resp, func(w io.Writer) error {
					_, err := fmt.Fprintf(w, "Unregistered %s plugin %s %s.\n", args[0], args[1], args[2])
					return err
				})
			})
		},
	}
}

// shortSHA is enough of a digest to tell builds apart in a table.
func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func pluginSource(p *moosev1.Plugin) string {
	if p.GetBuiltin() {
		return "builtin"
	}
	return "registered"
}

func pluginPID(p *moosev1.Plugin) string {
	if p.GetPid() == 0 {
		return "-"
	}
	return strconv.Itoa(int(p.GetPid()))
}

// writePlugins writes one row per plugin.
func writePlugins(w io.Writer, plugins []*moosev1.Plugin) error {
	t := output.NewTable(w, "KIND", "NAME", "VERSION", "STATE", "PID", "RESTARTS", "SOURCE", "SHA256")
	for _, p := range plugins {
		t.Row(p.GetKind(), p.GetName(), p.GetVersion(), p.GetState(), pluginPID(p),
			strconv.Itoa(int(p.GetRestarts())), pluginSource(p), shortSHA(p.GetSha256()))
	}
	return t.Flush()
}

// writePlugin writes one plugin as a key/value block.
func writePlugin(w io.Writer, p *moosev1.Plugin) error {
	t := output.NewTable(w)
	t.Row("Kind:", p.GetKind())
	t.Row("Name:", p.GetName())
	t.Row("Version:", p.GetVersion())
	t.Row("Description:", p.GetDescription())
	t.Row("Source:", pluginSource(p))
	t.Row("State:", p.GetState())
	t.Row("PID:", pluginPID(p))
	t.Row("Restarts:", strconv.Itoa(int(p.GetRestarts())))
	if p.GetLastError() != "" {
		t.Row("Last error:", p.GetLastError())
	}
	t.Row("Command:", p.GetCommand())
	t.Row("Path:", p.GetPath())
	t.Row("Arguments:", strings.Join(p.GetArgs(), " "))
	t.Row("SHA256:", p.GetSha256())
	t.Row("Environment:", strings.Join(p.GetEnvAllowlist(), ", "))
	t.Row("Edit formats:", strings.Join(p.GetEditFormats(), ", "))
	t.Row("Capabilities:", strings.Join(p.GetCapabilities(), ", "))
	t.Row("Registered:", output.Time(p.GetCreateTime()))
	return t.Flush()
}
