package pluginhost

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Config configures a Host. Zero durations and counts take the defaults shown.
type Config struct {
	// Dir is the plugin directory. A registered command must resolve inside it,
	// symlinks included. Required.
	Dir string
	// DataDir identifies this host across restarts: plugins launched by a host
	// with the same DataDir that outlived it are killed at Start. Defaults to Dir.
	DataDir string
	// SocketDir holds the plugins' Unix sockets (one folder per host process).
	// Default: $TMPDIR/moose-plugins-<id>, short enough for the 108-byte socket path limit.
	SocketDir string
	// Store persists registrations so they survive a restart. Optional: without
	// it the catalog lives in memory only.
	Store Store
	// Logger receives host events and the plugins' re-emitted logs.
	Logger *slog.Logger
	// LookupEnv is where allowlisted variables for proposers come from. Default os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// BuiltinEnv is the env allowlist of built-in proposers and architects, by
	// plugin name (RegisterBuiltins gives a built-in nothing else). Nil means
	// DefaultBuiltinEnv(); an empty, non-nil map gives built-ins no variables.
	BuiltinEnv map[string][]string
	// BuiltinBaseURLs are the endpoints each built-in's BuiltinEnv keys may be
	// sent to, by plugin name. Nil means DefaultBuiltinBaseURLs().
	BuiltinBaseURLs map[string][]string

	// ValidatorsUnsandboxed is the operator's explicit opt-out of the sandbox:
	// validators then run generated code without bubblewrap. Off by default;
	// without it, validation refuses to run when no sandbox works.
	ValidatorsUnsandboxed bool

	// StartTimeout bounds launch plus handshake plus GetInfo. Default 30s.
	StartTimeout time.Duration
	// ProposeTimeout and ValidateTimeout are per-call deadlines. Defaults 10m and 15m.
	ProposeTimeout  time.Duration
	ValidateTimeout time.Duration
	// HealthInterval is how often an idle plugin is pinged (GetInfo); HealthTimeout
	// bounds one ping. Defaults 15s and 3s.
	HealthInterval time.Duration
	HealthTimeout  time.Duration
	// RestartBackoff is the first delay before restarting a crashed plugin; it
	// doubles per recent crash up to MaxRestartBackoff. Defaults 100ms and 10s.
	RestartBackoff    time.Duration
	MaxRestartBackoff time.Duration
	// QuarantineAfter crashes within QuarantineWindow stop restarts until a
	// reload. Defaults 5 and 5m.
	QuarantineAfter  int
	QuarantineWindow time.Duration
	// DrainTimeout bounds how long a reloaded or unregistered process may finish
	// its in-flight calls before it is killed. Default 15m.
	DrainTimeout time.Duration
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.StartTimeout, 30*time.Second)
	def(&c.ProposeTimeout, 10*time.Minute)
	def(&c.ValidateTimeout, 15*time.Minute)
	def(&c.HealthInterval, 15*time.Second)
	def(&c.HealthTimeout, 3*time.Second)
	def(&c.RestartBackoff, 100*time.Millisecond)
	def(&c.MaxRestartBackoff, 10*time.Second)
	def(&c.QuarantineWindow, 5*time.Minute)
	def(&c.DrainTimeout, 15*time.Minute)
	if c.QuarantineAfter == 0 {
		c.QuarantineAfter = 5
	}
	if c.DataDir == "" {
		c.DataDir = c.Dir
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.LookupEnv == nil {
		c.LookupEnv = os.LookupEnv
	}
	if c.BuiltinEnv == nil {
		c.BuiltinEnv = DefaultBuiltinEnv()
	}
	if c.BuiltinBaseURLs == nil {
		c.BuiltinBaseURLs = DefaultBuiltinBaseURLs()
	}
}

// Validate reports every problem of the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("plugin dir is required"))
	} else if fi, err := os.Stat(c.Dir); err != nil {
		errs = append(errs, fmt.Errorf("plugin dir: %w", err))
	} else if !fi.IsDir() {
		errs = append(errs, fmt.Errorf("plugin dir %s is not a directory", c.Dir))
	} else if err := CheckDir(c.Dir); err != nil {
		errs = append(errs, err)
	}
	for name, d := range map[string]time.Duration{
		"start timeout": c.StartTimeout, "propose timeout": c.ProposeTimeout, "validate timeout": c.ValidateTimeout,
		"health interval": c.HealthInterval, "health timeout": c.HealthTimeout, "restart backoff": c.RestartBackoff,
		"max restart backoff": c.MaxRestartBackoff, "quarantine window": c.QuarantineWindow, "drain timeout": c.DrainTimeout,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", name))
		}
	}
	if c.QuarantineAfter < 0 {
		errs = append(errs, errors.New("quarantine after must not be negative"))
	}
	return errors.Join(errs...)
}

// hostID derives a stable identity from the data directory.
func hostID(dataDir string) string {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	sum := sha256.Sum256([]byte(abs))
	return hex.EncodeToString(sum[:8])
}
