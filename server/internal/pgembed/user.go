package pgembed

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// serverUser is the unprivileged account the server runs as when we are root.
type serverUser struct {
	name   string
	uid    uint32
	gid    uint32
	groups []uint32 // primary and supplementary
}

// runAsUser returns nil when the current user may run postgres itself, else
// the account to switch to: PostgreSQL refuses to run as root.
func runAsUser() (*serverUser, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var lookupErr error
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			lookupErr = errors.Join(lookupErr, err)
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("parse ids of user %s: %w", name, err)
		}
		su := &serverUser{name: name, uid: uint32(uid), gid: uint32(gid), groups: []uint32{uint32(gid)}}
		if ids, err := u.GroupIds(); err == nil {
			for _, id := range ids {
				if g, err := strconv.ParseUint(id, 10, 32); err == nil {
					su.groups = append(su.groups, uint32(g))
				}
			}
		}
		return su, nil
	}
	return nil, fmt.Errorf("running as root and no postgres or nobody user to run the server as: %w", lookupErr)
}

// credential is the SysProcAttr.Credential for running as u (nil: no switch).
// Supplementary groups are dropped so the server keeps none of root's.
func (u *serverUser) credential() *syscall.Credential {
	if u == nil {
		return nil
	}
	return &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: []uint32{}}
}

// canSearch reports whether u may traverse a directory with this stat,
// following Unix permission rules (owner bits, else group bits, else other).
func (u *serverUser) canSearch(st *syscall.Stat_t) bool {
	mode := st.Mode & 0o777
	if st.Uid == u.uid {
		return mode&0o100 != 0
	}
	for _, g := range u.groups {
		if g == st.Gid {
			return mode&0o010 != 0
		}
	}
	return mode&0o001 != 0
}

// prepareDataDir creates dataDir if needed and, when the server runs as
// another user, hands an empty data directory to that user and checks it can
// reach it.
func prepareDataDir(dataDir string, as *serverUser) error {
	if err := os.MkdirAll(filepath.Dir(dataDir), 0o755); err != nil {
		return fmt.Errorf("create parent of data directory: %w", err)
	}
	if err := os.Mkdir(dataDir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create data directory: %w", err)
	}
	if fi, err := os.Stat(dataDir); err != nil {
		return fmt.Errorf("data directory: %w", err)
	} else if !fi.IsDir() {
		return fmt.Errorf("data directory %s is not a directory; remove it or choose another data dir", dataDir)
	}
	if as == nil {
		return nil
	}
	for p := filepath.Dir(dataDir); ; p = filepath.Dir(p) {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			return fmt.Errorf("stat %s: %w", p, err)
		}
		if !as.canSearch(&st) {
			return fmt.Errorf("%w: user %s cannot enter %s (mode %#o, owner uid %d), a parent of %s; choose a data dir under /var/lib or run chmod o+x %s",
				ErrDirNotReachable, as.name, p, st.Mode&0o7777, st.Uid, dataDir, p)
		}
		if p == filepath.Dir(p) {
			break
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err == nil {
		return nil // an existing cluster keeps its owner
	}
	if err := os.Chown(dataDir, int(as.uid), int(as.gid)); err != nil {
		return fmt.Errorf("chown data directory to %s: %w", as.name, err)
	}
	return nil
}
