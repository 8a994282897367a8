package pluginhost

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/moosehq/moose/server/internal/fault"
)

// Kind is a plugin's role.
type Kind string

// Plugin kinds.
const (
	KindProposer  Kind = "proposer"
	KindValidator Kind = "validator"
	KindArchitect Kind = "architect"
)

// ParseKind accepts "proposer", "validator" and "architect" (any case).
func ParseKind(s string) (Kind, error) {
	switch k := Kind(strings.ToLower(strings.TrimSpace(s))); k {
	case KindProposer, KindValidator, KindArchitect:
		return k, nil
	}
	return "", fault.Invalid("kind", "must be proposer, validator or architect, got %q", s)
}

// Registration is a catalog entry as registered: immutable once recorded.
type Registration struct {
	Kind    Kind
	Name    string
	Version string
	// Command is the binary, relative to the plugin directory or an absolute path inside it.
	Command string
	Args    []string
	// SHA256 is the hex sha256 of the binary. Register pins the binary's
	// current sha256 when it is empty, and refuses the binary when it differs.
	SHA256 string
	// Env names the server environment variables a proposer or architect
	// receives (its API key, typically), per call in the request's
	// credentials and only for base URLs in AllowedBaseURLs. Validators
	// receive none.
	Env []string
	// AllowedBaseURLs are the endpoints Env's values may be sent to.
	AllowedBaseURLs []string
}

// State is the state of a plugin's process.
type State string

// Process states.
const (
	StateStarting    State = "starting"
	StateReady       State = "ready"
	StateRestarting  State = "restarting"
	StateQuarantined State = "quarantined"
	StateStopped     State = "stopped"
)

// Info is what a running plugin reported about itself.
type Info struct {
	Description  string
	EditFormats  []string
	Capabilities []string
	// Params are the variant params a proposer reads; empty: not declared.
	Params []string
}

// Plugin is a snapshot of a catalog entry and its process.
type Plugin struct {
	Registration
	// Builtin entries come from the server's own build (RegisterBuiltins) and
	// are not persisted.
	Builtin bool
	// Path is the resolved binary.
	Path      string
	State     State
	PID       int
	Restarts  int
	LastError string
	Info      Info
	CreatedAt time.Time
}

// ID is "kind/name/version", used in logs and errors.
func (r Registration) ID() string { return string(r.Kind) + "/" + r.Name + "/" + r.Version }

var (
	namePattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	versionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$`)
	envPattern     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	hexSHA256      = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// reservedEnv are variables the host sets itself; an allowlist may not override them.
var reservedEnv = []string{"PATH", "HOME", "TMPDIR", envHostID, envHostOwner, "MOOSE_PLUGIN_COOKIE", "MOOSE_PLUGIN_LOG_LEVEL"}

func (r *Registration) validate() error {
	v := &fault.ValidationError{}
	if r.Kind != KindProposer && r.Kind != KindValidator && r.Kind != KindArchitect {
		v.Add("kind", "must be proposer, validator or architect, got %q", r.Kind)
	}
	if !namePattern.MatchString(r.Name) {
		v.Add("name", "must be 1-63 lowercase letters, digits, '.', '_' or '-'")
	}
	if !versionPattern.MatchString(r.Version) {
		v.Add("version", "must be 1-64 letters, digits, '.', '+', '_' or '-'")
	}
	if r.Command == "" {
		v.Add("command", "is required")
	}
	r.SHA256 = strings.ToLower(strings.TrimSpace(r.SHA256))
	if r.SHA256 != "" && !hexSHA256.MatchString(r.SHA256) {
		v.Add("sha256", "must be 64 hex digits")
	}
	if r.Kind == KindValidator && len(r.Env) > 0 {
		v.Add("env_allowlist", "validators receive no server environment")
	}
	for _, u := range r.AllowedBaseURLs {
		if !validBaseURL(u) {
			v.Add("allowed_base_urls", "%q is not an http(s) base URL without credentials, query or fragment", u)
		}
	}
	if len(r.AllowedBaseURLs) > 0 && len(r.Env) == 0 {
		v.Add("allowed_base_urls", "only meaningful with env_allowlist")
	}
	for _, e := range r.Env {
		if !envPattern.MatchString(e) {
			v.Add("env_allowlist", "%q is not a variable name", e)
		} else if slices.Contains(reservedEnv, e) || strings.HasPrefix(e, "PLUGIN_") {
			v.Add("env_allowlist", "%q is set by the host", e)
		}
	}
	return v.Err()
}

// ErrOutsideDir: a command resolves outside the plugin directory.
var ErrOutsideDir = errors.New("command is outside the plugin directory")

// resolveCommand returns the real path of command, which must lie inside dir
// after every symlink is followed, so a registration cannot point moosed at an
// arbitrary binary on the machine. A command that could never be inside dir is
// invalid input; one that names no executable file there (yet, or any more)
// is a failed precondition.
func resolveCommand(dir, command string) (string, error) {
	if slices.Contains(strings.Split(filepath.ToSlash(command), "/"), "..") {
		return "", fault.Invalid("command", "%q must not contain '..': %v", command, ErrOutsideDir)
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("resolve plugin dir: %w", err)
	}
	realDir, err = filepath.Abs(realDir)
	if err != nil {
		return "", fmt.Errorf("resolve plugin dir: %w", err)
	}
	p := command
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", preconditionf("command %q: %v (plugin directory %s)", command, err, realDir)
	}
	real, err = filepath.Abs(real)
	if err != nil {
		return "", fault.Invalid("command", "%q: %v", command, err)
	}
	rel, err := filepath.Rel(realDir, real)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fault.Invalid("command", "%q resolves to %s: %v %s", command, real, ErrOutsideDir, realDir)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", preconditionf("command %q: %v", command, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return "", preconditionf("command %q (%s) is not an executable file", command, real)
	}
	return real, nil
}

// FileSHA256 returns the hex sha256 of a file.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash plugin binary: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash plugin binary: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func verifySHA256(path, want string) error {
	got, err := FileSHA256(path)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%s has sha256 %s, registered %s: %w", path, got, want, ErrChecksum)
	}
	return nil
}
