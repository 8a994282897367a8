// Package sandbox runs commands on behalf of untrusted, generated code.
//
// A validator builds and tests code that a language model wrote. That code runs with the
// validator's privileges unless something stops it, so every command goes through Run,
// which wraps it in bubblewrap (bwrap):
//
//   - new network, PID, IPC and UTS namespaces: no network at all (not even the host's
//     loopback), no view of host processes;
//   - the environment is cleared and rebuilt from a small allowlist plus Spec.Env, so API
//     keys in the validator's environment never reach the code;
//   - the root is a fresh tmpfs with /usr (and the /bin, /lib... links), a few files of /etc,
//     /proc and /dev; only the worktree (Spec.Dir) and Spec.ReadWrite are writable, and /tmp
//     is private to the run;
//   - all capabilities are dropped and the command runs in its own session, so it cannot
//     push keystrokes into a terminal (TIOCSTI);
//   - bwrap dies with the validator (--die-with-parent, and PR_SET_PDEATHSIG on bwrap itself),
//     and because bwrap's init is PID 1 of the namespace, killing it takes every descendant.
//     bwrap arms --die-with-parent in that init only after building the new root, so a
//     validator killed in that moment could leave it running; three things cover it: bwrap
//     and its sh/prlimit wrappers carry the plugin host's markers (MOOSE_PLUGIN_HOST,
//     MOOSE_PLUGIN_HOST_OWNER, plus MOOSE_SANDBOX) in their own environment, never the
//     command's, so a restarted moosed finds and SIGKILLs them; the command runs under
//     timeout(1) inside the sandbox, so it cannot outlive its wall-time limit by more than a
//     few seconds; and per-run cgroups are named after their creator, so the next run kills
//     and removes those of a dead validator.
//
// Resource limits:
//
//   - Wall time: at Spec.Timeout or when ctx ends, the whole tree is SIGKILLed (process
//     group, and the cgroup when there is one). Result.TimedOut or Result.Canceled says which.
//   - Memory: RLIMIT_AS is unusable, because the Go runtime and V8 reserve far more address
//     space than they touch, so a limit low enough to matter breaks ordinary builds. Run
//     prefers a memory cgroup: cgroup v2 memory.max when the unified hierarchy has a usable
//     memory controller, else cgroup v1 memory.limit_in_bytes (the layout of this project's
//     machines). The kernel OOM-kills inside the group and Result.OOM is read from the
//     group's oom_kill counter. Without a writable cgroup it falls back to RLIMIT_DATA through
//     prlimit(1): that counts writable private mappings, which is what heaps actually use and
//     what Go's PROT_NONE reservations are not; allocation then fails inside the program
//     rather than the kernel killing it, and Result.OOM is a best-effort guess from the
//     output. Result.MemoryLimit names the mechanism used.
//   - Processes: pids.max in the cgroup. RLIMIT_NPROC is not used: it is per user, and root
//     (which the validator is on our machines) is exempt from it.
//   - CPU time: RLIMIT_CPU per process (Spec.CPUTime), through prlimit(1).
//   - Output: each stream keeps at most Spec.OutputLimit bytes, half from the head and half
//     from the tail, with a marker line saying how much was dropped in between; a build that
//     prints a gigabyte costs the caller a megabyte.
//
// RunUnsandboxed (or Spec.Unsandboxed) exists for operators who explicitly opt out, for
// example on a host where unprivileged namespaces are disabled. It still clears the
// environment, applies the same limits and output caps, and gives the command a private HOME
// and TMPDIR, but offers no isolation. Callers must refuse to validate when Available reports
// an error and the operator has not opted out.
package sandbox
