// Package pgembed runs a private PostgreSQL cluster for moosed and for tests.
//
// With no database configured, moosed still needs PostgreSQL: it is the system
// of record and the job queue. Rather than downloading binaries at run time
// (impossible offline) pgembed drives the PostgreSQL server binaries the machine
// already has (Debian's `postgresql` package), found through BinDir,
// `pg_config --bindir`, or the newest /usr/lib/postgresql/*/bin.
//
// Start creates the cluster with initdb on first use (UTF8, C locale, superuser
// "moose") and reuses it on later starts, so data survives restarts. It runs
// `postgres` directly rather than pg_ctl, because pg_ctl daemonizes and the
// server would outlive a crashed moosed. The child runs in its own process
// group so terminal signals do not reach it and Stop can kill the whole group,
// and it gets Pdeathsig=SIGKILL so a SIGKILLed parent cannot leave it orphaned.
// Pdeathsig fires when the creating OS thread exits, not the process, so the
// child is started from a goroutine that locks its thread and keeps it until
// the child exits.
//
// The cluster is private. The server listens on no TCP address
// (listen_addresses is empty, on the command line, where neither
// postgresql.conf nor ALTER SYSTEM can override it), only on a Unix socket in
// the data directory, which PostgreSQL keeps at mode 0700 and owned by its
// user: only that user and root (moosed, when it runs as root) can enter it.
// pg_hba.conf, rewritten at every start, has a single line: socket
// connections with scram-sha-256. The superuser's password is generated at
// initdb (--auth=scram-sha-256 --pwfile) and kept in PasswordFile in the data
// directory (mode 0600); DSN carries it. A cluster made by an earlier version
// (trust authentication, loopback TCP, no password file) keeps its data: at
// its next start pg_hba.conf is rewritten, listening settings are removed from
// postgresql.auto.conf and the superuser gets a new password, set in
// single-user mode before the server runs. A data directory whose path is too
// long for a socket address gets a fresh 0700 socket directory under the
// system temporary directory instead (Options.SocketDir pins one).
//
// PostgreSQL refuses to run as root. When the caller is root, initdb and
// postgres run as the `postgres` system user (or `nobody`), the data directory
// is chowned to that user, and Start checks that the user can traverse every
// parent of the data directory, failing with ErrDirNotReachable otherwise (a
// directory under /root is the usual culprit).
//
// A Shared cluster is meant to outlive the process that started it (the test
// harness in package dbtest keeps one server for all test binaries of a run): it
// gets no Pdeathsig, runs in its own session, and a later Start on the same data
// directory attaches to the running server instead of starting another one.
// Callers that may start a shared cluster concurrently must serialize Start
// themselves (dbtest uses a file lock).
//
// A postmaster.pid left behind by a killed server is handled: if its process is
// gone, PostgreSQL ignores the file; if the pid now belongs to an unrelated
// process, Start removes the file; if an orphaned server of ours is still
// running on the directory, Start kills it; if a live process still owns it,
// Start returns ErrInUse.
package pgembed
