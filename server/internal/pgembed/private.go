package pgembed

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// defaultPort names the socket when Options.Port is 0. No TCP port is opened,
// and the socket directory is private, so two clusters never collide on it.
const defaultPort = 5432

// PasswordFile is the file in the data directory holding the superuser's
// password (mode 0600). DSN embeds it; nothing else needs to read it.
const PasswordFile = "moose-password"

// hbaConf admits only connections over the socket, and only with the
// password (scram-sha-256). There are no host lines: the server listens on
// no TCP address, and a line for one would be dead weight or a hole.
const hbaConf = `# Written by moose (pgembed) at every start; changes are overwritten.
# Only the private socket, only with the superuser's password (see moose-password).
local all all scram-sha-256
`

// autoConfKeys are settings that decide who can reach the server. They are
// fixed on the command line; a leftover ALTER SYSTEM value for one of them is
// removed from postgresql.auto.conf so the file does not mislead.
var autoConfKeys = []string{"listen_addresses", "port", "unix_socket_directories", "unix_socket_group", "unix_socket_permissions", "password_encryption"}

// maxSocketPath is the longest socket path the kernel accepts (sun_path
// holds 108 bytes including the terminating NUL).
const maxSocketPath = 107

// newPassword returns 32 random bytes, hex encoded: nothing to quote in SQL,
// in a URL or in a file.
func newPassword() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// writePassword stores the password in the data directory, readable only by
// its owner (moosed's user; as root, PostgreSQL's user does not need it).
func writePassword(dataDir, password string) error {
	path := filepath.Join(dataDir, PasswordFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(password+"\n"), 0o600); err != nil {
		return fmt.Errorf("write password file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write password file: %w", err)
	}
	return nil
}

// readPassword reads the password file; os.ErrNotExist means a cluster made
// before clusters had passwords.
func readPassword(dataDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, PasswordFile))
	if err != nil {
		return "", err
	}
	pw := strings.TrimSpace(string(b))
	if pw == "" {
		return "", fmt.Errorf("%s is empty: %w", filepath.Join(dataDir, PasswordFile), os.ErrNotExist)
	}
	return pw, nil
}

// makePrivate makes sure a cluster about to be launched admits only password
// connections over its socket, and returns the password. Clusters made by
// earlier versions of moose (trust authentication, TCP on 127.0.0.1) keep their
// data: pg_hba.conf is rewritten, stray ALTER SYSTEM settings about listening
// are removed, and the superuser gets a new password, set in single-user mode
// so the server never runs with the old rules. The server must not be running.
func makePrivate(ctx context.Context, binDir, dataDir string, as *serverUser, logger *slog.Logger) (string, error) {
	if err := os.Chmod(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("chmod data directory: %w", err)
	}
	if err := writeOwned(filepath.Join(dataDir, "pg_hba.conf"), hbaConf, as); err != nil {
		return "", err
	}
	if err := scrubAutoConf(filepath.Join(dataDir, "postgresql.auto.conf"), as); err != nil {
		return "", err
	}
	password, err := readPassword(dataDir)
	if err == nil {
		return password, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read password file: %w", err)
	}
	logger.Warn("securing postgres cluster made by an earlier version: new superuser password, socket only", "data_dir", dataDir)
	password, err = newPassword()
	if err != nil {
		return "", err
	}
	if err := singleUser(ctx, binDir, dataDir, as, "ALTER ROLE "+Superuser+" WITH PASSWORD '"+password+"'"); err != nil {
		return "", fmt.Errorf("set superuser password: %w", err)
	}
	if err := writePassword(dataDir, password); err != nil {
		return "", err
	}
	return password, nil
}

// writeOwned writes content to path unless it already holds it, owned by the
// server user (PostgreSQL reads it as that user).
func writeOwned(path, content string, as *serverUser) error {
	if b, err := os.ReadFile(path); err == nil && string(b) == content {
		return nil
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if as != nil {
		if err := os.Chown(path, int(as.uid), int(as.gid)); err != nil {
			return fmt.Errorf("chown %s: %w", filepath.Base(path), err)
		}
	}
	return nil
}

// scrubAutoConf removes the settings in autoConfKeys from postgresql.auto.conf.
func scrubAutoConf(path string, as *serverUser) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read postgresql.auto.conf: %w", err)
	}
	var kept []string
	changed := false
	for _, line := range strings.SplitAfter(string(b), "\n") {
		key, _, _ := strings.Cut(strings.TrimSpace(line), "=")
		key = strings.ToLower(strings.TrimSpace(key))
		drop := false
		for _, k := range autoConfKeys {
			drop = drop || key == k
		}
		if drop {
			changed = true
			continue
		}
		kept = append(kept, line)
	}
	if !changed {
		return nil
	}
	return writeOwned(path, strings.Join(kept, ""), as)
}

// singleUser runs one SQL statement in single-user mode: no postmaster, no
// socket, no authentication, so it works on a cluster whose password nobody
// knows. The statement must fit on one line.
func singleUser(ctx context.Context, binDir, dataDir string, as *serverUser, stmt string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "postgres"), "--single", "-D", dataDir,
		"-c", "listen_addresses=", "-c", "password_encryption=scram-sha-256", "-c", "logging_collector=off", "postgres")
	cmd.Dir = "/"
	cmd.Env = serverEnv()
	cmd.Stdin = strings.NewReader(stmt + "\n")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: as.credential(), Setpgid: true, Pdeathsig: syscall.SIGKILL}
	exited, err := startProcess(cmd, true)
	if err != nil {
		return fmt.Errorf("run postgres --single: %w", err)
	}
	<-exited
	// Single-user mode exits 0 even when the statement failed; the message
	// says so. The password is never echoed into an error.
	text := strings.ReplaceAll(out.String(), stmt, "<statement>")
	if !cmd.ProcessState.Success() || strings.Contains(text, "ERROR:") || strings.Contains(text, "FATAL:") {
		return fmt.Errorf("postgres --single: %s: %s", cmd.ProcessState, lastLines(text, 10))
	}
	return nil
}

// prepareSocketDir returns the directory for the server's socket: the given
// one, else the data directory (0700, the server user's), else, when that
// path is too long for a socket address, a fresh private directory in the
// system temporary directory. A given or fresh directory is made mode 0700
// and handed to the server user; root, moosed's other possible user, can
// enter it anyway.
func prepareSocketDir(dataDir, socketDir string, as *serverUser) (string, error) {
	socketName := fmt.Sprintf("/.s.PGSQL.%d.lock", 65535)
	if socketDir == "" {
		if len(dataDir)+len(socketName) <= maxSocketPath {
			return dataDir, nil
		}
		dir, err := os.MkdirTemp("", "moose-pg-")
		if err != nil {
			return "", fmt.Errorf("create socket directory: %w", err)
		}
		socketDir = dir
	}
	if len(socketDir)+len(socketName) > maxSocketPath {
		return "", fmt.Errorf("socket directory %s: path too long for a socket (at most %d bytes)", socketDir, maxSocketPath-len(socketName))
	}
	if err := os.MkdirAll(socketDir, 0o700); err != nil {
		return "", fmt.Errorf("create socket directory: %w", err)
	}
	if err := os.Chmod(socketDir, 0o700); err != nil {
		return "", fmt.Errorf("chmod socket directory: %w", err)
	}
	if as != nil {
		if err := os.Chown(socketDir, int(as.uid), int(as.gid)); err != nil {
			return "", fmt.Errorf("chown socket directory to %s: %w", as.name, err)
		}
	}
	return socketDir, nil
}
