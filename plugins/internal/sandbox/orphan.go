package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Markers that let a sandbox be found after whoever started it died.
//
// The plugin host (moosed) gives every plugin process MOOSE_PLUGIN_HOST (its
// id) and MOOSE_PLUGIN_HOST_OWNER (its pid and start time); a restarted host
// SIGKILLs every process carrying its id whose owner is gone. bwrap itself,
// and the sh and prlimit wrappers in front of it, get both variables plus
// MOOSE_SANDBOX (the creating process's pid and start time), so they are
// found by the same scan. The sandboxed command never sees them (--clearenv);
// it runs in bwrap's PID namespace and dies when that namespace's init, a
// marked bwrap process, is killed.
const (
	envHostID    = "MOOSE_PLUGIN_HOST"
	envHostOwner = "MOOSE_PLUGIN_HOST_OWNER"
	// EnvMarker is set in bwrap's own environment (never the command's) to
	// "<pid>-<start time>" of the process that started the sandbox.
	EnvMarker = "MOOSE_SANDBOX"
)

// cgroupPrefix starts the name of every per-run cgroup; the creator's pid and
// start time follow, then a random suffix.
const cgroupPrefix = "moose-sandbox-"

// markerEnv is the environment given to bwrap itself (not to the command).
func markerEnv() []string {
	env := []string{"PATH=" + DefaultPath}
	for _, k := range []string{envHostID, envHostOwner} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	if self, err := selfIdentity(); err == nil {
		env = append(env, EnvMarker+"="+self)
	}
	return env
}

// selfIdentity is this process's "<pid>-<start time>": with the start time, a
// reused pid is not mistaken for it.
func selfIdentity() (string, error) {
	st, _, err := procStat(os.Getpid())
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d-%d", os.Getpid(), st), nil
}

// identityAlive reports whether the process named by "<pid>-<start>" still
// runs (a zombie does not).
func identityAlive(id string) (alive, ok bool) {
	p, s, found := strings.Cut(id, "-")
	pid, err1 := strconv.Atoi(p)
	start, err2 := strconv.ParseUint(s, 10, 64)
	if !found || err1 != nil || err2 != nil || pid <= 0 {
		return false, false
	}
	st, state, err := procStat(pid)
	return err == nil && st == start && state != 'Z' && state != 'X', true
}

// procStat returns a process's start time (clock ticks since boot) and state.
func procStat(pid int) (uint64, byte, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name may contain spaces and parentheses: fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, errors.New("malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, 0, errors.New("malformed stat")
	}
	st, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, 0, err
	}
	return st, f[0][0], nil
}

// cgroupCreator extracts "<pid>-<start>" from a per-run cgroup's name.
func cgroupCreator(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, cgroupPrefix)
	if !ok {
		return "", false
	}
	i := strings.LastIndexByte(rest, '-')
	if i <= 0 {
		return "", false
	}
	return rest[:i], true
}

// reapStaleCgroups kills whatever still runs in the per-run cgroups under
// parent whose creator is gone (a validator killed before it could clean up)
// and removes them. Groups of live creators are left alone.
func reapStaleCgroups(parent string, version int) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		creator, ok := cgroupCreator(e.Name())
		if !ok {
			continue
		}
		if alive, ok := identityAlive(creator); !ok || alive {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		c := &cgroup{version: version, memDir: dir, dirs: []string{dir}}
		c.killAll()
		c.remove()
	}
}
