package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/output"
	"github.com/moosehq/moose/clients/moose"
	"github.com/moosehq/moose/server/version"
)

// Exit statuses of moosectl. wo watch adds its own (see watchExitCodes).
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// EnvServer names the environment variable that sets the default --server.
const EnvServer = "MOOSE_ADDR"

// App is the state shared by every command: the global flags and where to
// write. Commands receive it from their constructor.
type App struct {
	stdout, stderr io.Writer

	server   string
	output   string
	timeout  time.Duration
	insecure bool
	format   output.Format

	token, dataDir         string
	tlsCA, tlsCert, tlsKey string
}

var groups []func(*App) *cobra.Command

// register adds a command group to every tree NewRootCommand builds. Call it
// from an init function of the group's file.
func register(newGroup func(*App) *cobra.Command) {
	groups = append(groups, newGroup)
}

// NewRootCommand builds the moosectl command tree writing to stdout and
// stderr. Errors are returned from Execute, not printed: Run prints them.
func NewRootCommand(stdout, stderr io.Writer) *cobra.Command {
	a := &App{stdout: stdout, stderr: stderr, format: output.Table}
	defaultServer := os.Getenv(EnvServer)
	if defaultServer == "" {
		defaultServer = moose.DefaultAddr
	}
	root := groupCommand("moosectl", "Command-line client for moosed, the Moose work-order server")
	root.Long = `moosectl creates and follows Moose projects and work orders.

The server address comes from --server, else the ` + EnvServer + ` environment
variable, else ` + moose.DefaultAddr + `.

Every call carries a bearer token: --token, else the ` + moose.EnvToken + `
environment variable, else the admin token moosed wrote on its first start
(` + moose.TokenFileName + ` in --data-dir, which defaults to ` + moose.EnvDataDir + `, else
moosed's own default). "moosectl token create" mints narrower ones.

Exit status: 0 on success, 1 when a request fails (the server's message and
any invalid fields are printed to stderr), 2 for usage errors. wo watch has
further statuses, see "moosectl wo watch --help".`
	root.SilenceErrors = true
	root.SilenceUsage = true
	root.SetOut(stdout)
	root.SetErr(stderr)
	// completion.go has moosectl's own completion command.
	root.CompletionOptions.DisableDefaultCmd = true
	// --version prints the same line as moosed's (package version), nothing
	// else, so scripts can compare the two.
	root.Version = version.String("moosectl")
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	pf := root.PersistentFlags()
	pf.StringVar(&a.server, "server", defaultServer, "moosed gRPC address (env "+EnvServer+")")
	pf.StringVarP(&a.output, "output", "o", string(output.Table), "output format: table or json")
	pf.DurationVar(&a.timeout, "timeout", 30*time.Second, "deadline for the command's requests (0: none); wo watch is unlimited unless set")
	pf.BoolVar(&a.insecure, "insecure", false, "use plaintext gRPC to a non-loopback server (loopback is plaintext unless --tls-ca is given)")
	pf.StringVar(&a.token, "token", os.Getenv(moose.EnvToken), "bearer token (env "+moose.EnvToken+"; default: "+moose.TokenFileName+" in --data-dir)")
	pf.StringVar(&a.dataDir, "data-dir", "", "moosed's data directory, where its first admin token is (env "+moose.EnvDataDir+", else moosed's default)")
	pf.StringVar(&a.tlsCA, "tls-ca", "", "use TLS, trusting the CA certificates in this PEM file")
	pf.StringVar(&a.tlsCert, "tls-cert", "", "client certificate (PEM) for a moosed that requires one")
	pf.StringVar(&a.tlsKey, "tls-key", "", "client certificate's key (PEM)")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		f, err := output.ParseFormat(a.output)
		if err != nil {
			return usageError{err}
		}
		a.format = f
		return nil
	}

	for _, g := range groups {
		root.AddCommand(g(a))
	}
	return root
}

// Run executes moosectl with args and returns the process exit status.
// stdin feeds "wo create -f -".
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := NewRootCommand(stdout, stderr)
	root.SetIn(stdin)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	var ex exitError
	if errors.As(err, &ex) {
		if ex.msg != "" {
			fmt.Fprintln(stderr, ex.msg)
		}
		return ex.code
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "Error: %v\n", ue.err)
		if cmd != nil {
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
		return ExitUsage
	}
	printError(stderr, err, serverFlag(root))
	return ExitError
}

func serverFlag(root *cobra.Command) string {
	if f := root.PersistentFlags().Lookup("server"); f != nil {
		return f.Value.String()
	}
	return ""
}

// Stdout is where results go.
func (a *App) Stdout() io.Writer { return a.stdout }

// Stderr is where diagnostics go.
func (a *App) Stderr() io.Writer { return a.stderr }

// Format is the -o format, valid once the command runs.
func (a *App) Format() output.Format { return a.format }

// Dial connects to --server. The caller closes the client.
func (a *App) Dial(ctx context.Context) (*moose.Client, error) {
	var opts []moose.Option
	if a.insecure {
		opts = append(opts, moose.WithInsecure())
	}
	if a.tlsCA != "" {
		opts = append(opts, moose.WithCAFile(a.tlsCA))
	}
	if a.tlsCert != "" || a.tlsKey != "" {
		opts = append(opts, moose.WithClientCertificate(a.tlsCert, a.tlsKey))
	}
	tok := strings.TrimSpace(a.token)
	if tok == "" {
		tok = moose.FindToken(a.dataDir)
	}
	opts = append(opts, moose.WithToken(tok))
	return moose.Dial(ctx, a.server, opts...)
}

// Call dials --server, runs fn under --timeout and closes the connection.
func (a *App) Call(cmd *cobra.Command, fn func(ctx context.Context, c *moose.Client) error) error {
	ctx := cmd.Context()
	if a.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.timeout)
		defer cancel()
	}
	return a.call(ctx, fn)
}

// CallUnlimited is Call without the default deadline, for commands that wait
// for something (streams): --timeout applies only when given explicitly.
func (a *App) CallUnlimited(cmd *cobra.Command, fn func(ctx context.Context, c *moose.Client) error) error {
	if cmd.Flags().Changed("timeout") {
		return a.Call(cmd, fn)
	}
	return a.call(cmd.Context(), fn)
}

func (a *App) call(ctx context.Context, fn func(ctx context.Context, c *moose.Client) error) error {
	c, err := a.Dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(ctx, c)
}

// Render prints m as JSON with -o json, otherwise calls table with stdout.
func (a *App) Render(m proto.Message, table func(w io.Writer) error) error {
	if a.format == output.JSON {
		return output.WriteJSON(a.stdout, m)
	}
	return table(a.stdout)
}

// groupCommand is a command that only holds subcommands. Unlike a bare cobra
// command, it reports an unknown subcommand as a usage error instead of
// printing help and succeeding.
func groupCommand(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:                        use,
		Short:                      short,
		Args:                       cobra.ArbitraryArgs,
		SuggestionsMinimumDistance: 2,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf("; did you mean %q?", s[0])
			}
			return usageError{errors.New(msg)}
		},
	}
}
