// Package pluginhost is moosed's plugin catalog and supervisor.
//
// Proposers and validators are separate processes speaking the
// proto/moose/plugin/v1 contract through hashicorp/go-plugin (gRPC only,
// protocol version 1, handshake and client settings from plugins/sdk). A
// misbehaving plugin costs at most the calls it was serving, never the server.
//
// # Registration
//
// Register takes (kind, name, version, command, args, sha256, env allowlist),
// modelled on Vault's plugin catalog. The command must resolve inside
// Config.Dir after every symlink is followed (on the server: a client's working
// directory plays no part); the file's sha256 is pinned, and must equal the
// registration's when one is given; the binary is launched and its GetInfo
// must report the registered kind, name and version. A version names one
// binary: the same version with another sha256 is refused (fault.ErrConflict),
// an identical registration is a no-op. Reload starts the pinned binary only,
// so a rebuilt one is refused (a failed precondition wrapping ErrChecksum)
// while the old process keeps serving; Rehash re-pins a rebuilt binary on
// purpose, storing the new sha256 once the new process is healthy. A binary
// that cannot be started as registered (missing, not executable, another
// sha256, a failed handshake) is fault.ErrFailedPrecondition with the reason
// in its message; malformed input is a fault.ValidationError. With a Store
// the catalog survives restarts (table plugins); Start relaunches it.
// RegisterBuiltins registers the server's own moose-plugin-* binaries that the
// plugin directory's manifest (ManifestFile, written by `make build` through
// WriteManifest) lists, each pinned to the manifest's sha256: a binary whose
// hash differs is refused and logged. They are taken at their reported
// identity and kept in memory only. Any other moose-plugin-* file is ignored
// with a log line until registered explicitly; no manifest means no
// built-ins. A built-in proposer or architect gets the env allowlist
// Config.BuiltinEnv names for it (default: OPENAI_API_KEY for openai and
// openai-architect, ANTHROPIC_API_KEY for anthropic and anthropic-architect).
// CheckDir (run by Config.Validate) refuses a plugin directory or manifest
// writable by group or others, or owned by another user than root or the host's.
//
// Architects (kind "architect", proto ArchitectService) split a spec into
// work orders; Decompose calls one, bounded by Config.ProposeTimeout. They are
// launched, supervised and given env allowlists exactly like proposers.
//
// # Launch
//
// Every launch checks the sha256 immediately before exec. (go-plugin's
// SecureConfig cannot be combined with the custom runner below, so the runner
// does the same check itself.) The environment is built from nothing: PATH,
// HOME, TMPDIR, two marker variables, go-plugin's own, and for a proposer the
// allowlisted variables; a validator gets no allowlist. Transport is mutual TLS
// over a Unix socket in a per-host-process folder under Config.SocketDir. Each
// plugin runs in its own process group (stopping kills the group, children
// included) with Pdeathsig SIGKILL, forked from an OS thread that stays locked
// for the plugin's lifetime, because Pdeathsig follows the forking thread.
//
// # Supervision
//
// A process exit is seen at once (the runner's Wait) and fails the calls in
// flight on that process with a CallError that unwraps to fault.ErrUnavailable;
// a fresh process is started with exponential backoff, and callers arriving
// meanwhile wait for it within their deadline. QuarantineAfter crashes within
// QuarantineWindow quarantine the plugin until Reload. Idle plugins are pinged
// (GetInfo) every HealthInterval; a call that overruns its per-call deadline
// triggers a ping too, and a plugin that does not answer is killed and
// restarted, so a wedged process costs one call. A panic inside a handler is
// recovered by the SDK and fails only that call.
//
// Reload starts and health-checks the new process, switches new calls to it,
// then drains the old process's calls before killing it: no call fails.
// Unregister removes the entry at once (new calls get fault.ErrNotFound) and
// drains the old process the same way.
//
// # Orphans
//
// Every plugin process and its children carry MOOSE_PLUGIN_HOST (derived from
// Config.DataDir) and MOOSE_PLUGIN_HOST_OWNER (host pid and start time) in
// their environment; the validators' sandboxes pass both on to bwrap itself
// (not to the sandboxed command). Start scans /proc and SIGKILLs every process
// with this host's id whose owner is no longer alive, and the process group of
// each that leads one, then removes socket folders of dead owners. Processes of a live host (another moosed, or another Host in this
// process) are never touched, and a reused pid is not mistaken for the owner.
//
// go-plugin keeps a global list of managed clients that only grows; Host never
// sets Managed and keeps its own registry instead. go-plugin's stderr parser is
// bypassed (it panics on malformed JSON); plugin stderr lines are re-emitted as
// slog records with the plugin's id attached.
package pluginhost
