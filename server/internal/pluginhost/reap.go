package pluginhost

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Every plugin process carries two marker variables in its environment, and
// its children inherit them. They let a new host find the processes of a
// previous host that died without cleaning up (SIGKILL, OOM), and prove that a
// process is ours before killing it: a pid file alone would risk killing an
// unrelated process that reused the pid.
const (
	envHostID    = "MOOSE_PLUGIN_HOST"
	envHostOwner = "MOOSE_PLUGIN_HOST_OWNER"
)

// owner identifies one host process: pid plus its start time, so a reused pid
// is not mistaken for the old host.
type owner struct {
	pid   int
	start uint64
}

func (o owner) String() string { return fmt.Sprintf("%d-%d", o.pid, o.start) }

func parseOwner(s string) (owner, bool) {
	pid, start, ok := strings.Cut(s, "-")
	if !ok {
		return owner{}, false
	}
	p, err1 := strconv.Atoi(pid)
	st, err2 := strconv.ParseUint(start, 10, 64)
	return owner{p, st}, err1 == nil && err2 == nil
}

func selfOwner() (owner, error) {
	st, _, err := procStat(os.Getpid())
	if err != nil {
		return owner{}, err
	}
	return owner{os.Getpid(), st}, nil
}

// alive reports whether the owner process still runs (and is not a zombie).
func (o owner) alive() bool {
	st, state, err := procStat(o.pid)
	return err == nil && st == o.start && state != 'Z' && state != 'X'
}

// procStat returns a process's start time (clock ticks since boot) and state.
func procStat(pid int) (uint64, byte, error) {
	st, state, _, err := procStatGroup(pid)
	return st, state, err
}

// procStatGroup is procStat plus the process group id.
func procStatGroup(pid int) (uint64, byte, int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	// The command name may contain spaces and parentheses: fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, 0, errors.New("malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), f[2] field 5 (pgrp); starttime is field 22.
	if len(f) < 20 {
		return 0, 0, 0, errors.New("malformed stat")
	}
	st, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, 0, 0, err
	}
	pgid, err := strconv.Atoi(f[2])
	if err != nil {
		return 0, 0, 0, err
	}
	return st, f[0][0], pgid, nil
}

// reapOrphans kills every process that carries hostID but whose owner host is
// gone, and returns their pids. Processes of a live host (another Host in this
// process, or another moosed sharing the data directory) are left alone.
//
// Besides plugin processes, that is every sandbox a validator started: bwrap
// (both its outer process and the init of its PID namespace) and the sh and
// prlimit wrappers in front of it carry the markers too (plugins/internal/
// sandbox sets them), and killing the namespace's init kills everything the
// sandboxed command started, whatever session it is in. A marked process that
// leads a process group takes its group with it (an unsandboxed command's
// children).
func reapOrphans(hostID string) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var killed []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue // gone, or not ours to read
		}
		var id, own string
		for _, kv := range bytes.Split(env, []byte{0}) {
			if v, ok := bytes.CutPrefix(kv, []byte(envHostID+"=")); ok {
				id = string(v)
			} else if v, ok := bytes.CutPrefix(kv, []byte(envHostOwner+"=")); ok {
				own = string(v)
			}
		}
		if id != hostID {
			continue
		}
		if o, ok := parseOwner(own); ok && o.alive() {
			continue
		}
		_, state, pgid, err := procStatGroup(pid)
		if err != nil || state == 'Z' {
			continue
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
			killed = append(killed, pid)
		}
		if pgid == pid {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
	}
	return killed, nil
}

// reapSockets removes socket directories of hosts that are gone.
func reapSockets(root string) error {
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list plugin sockets: %w", err)
	}
	for _, e := range entries {
		if o, ok := parseOwner(e.Name()); ok && o.alive() {
			continue
		}
		if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
			return fmt.Errorf("remove stale plugin sockets: %w", err)
		}
	}
	return nil
}
