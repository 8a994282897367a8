package sandbox

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// errNoCgroup means no writable cgroup with a memory controller was found.
var errNoCgroup = errors.New("no usable memory cgroup")

// cgroup is one per-run control group (v2), or one group in each of the memory and pids
// hierarchies (v1).
type cgroup struct {
	version int
	memDir  string
	dirs    []string // every directory created, memory first
	cpuFile string   // cpu.stat (v2) or cpuacct.usage (v1); empty when not accounted
}

// cpuUsage is the CPU time the group's processes used, 0 when unknown.
func (c *cgroup) cpuUsage() time.Duration {
	if c.cpuFile == "" {
		return 0
	}
	b, err := os.ReadFile(c.cpuFile)
	if err != nil {
		return 0
	}
	if c.version == 1 {
		ns, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		return time.Duration(ns)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "usage_usec" {
			us, _ := strconv.ParseInt(f[1], 10, 64)
			return time.Duration(us) * time.Microsecond
		}
	}
	return 0
}

// Name of the limit mechanism, reported in Result.MemoryLimit.
const (
	LimitCgroupV2   = "cgroup-v2"
	LimitCgroupV1   = "cgroup-v1"
	LimitRlimitData = "rlimit-data"
	LimitNone       = "none"
)

// mountInfo is one cgroup mount of /proc/self/mountinfo.
type mountInfo struct {
	root, point, fstype string
	opts                []string
}

func cgroupMounts() ([]mountInfo, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	var out []mountInfo
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		// id parent major:minor root mountpoint opts [optional...] - fstype source superopts
		left, right, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		lf, rf := strings.Fields(left), strings.Fields(right)
		if len(lf) < 5 || len(rf) < 3 {
			continue
		}
		if rf[0] != "cgroup" && rf[0] != "cgroup2" {
			continue
		}
		out = append(out, mountInfo{root: lf[3], point: lf[4], fstype: rf[0], opts: strings.Split(rf[2], ",")})
	}
	return out, nil
}

// selfCgroups maps a v1 controller (or "" for v2) to this process's cgroup path.
func selfCgroups() (map[string]string, error) {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("read /proc/self/cgroup: %w", err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			out[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out, nil
}

// hostPath turns a cgroup path into a directory under the mount, honouring the mount's root
// (inside containers the mount often shows only a subtree).
func hostPath(m mountInfo, cg string) string {
	rel := cg
	if m.root != "/" {
		rel = strings.TrimPrefix(cg, m.root)
	}
	p := filepath.Join(m.point, rel)
	if _, err := os.Stat(p); err != nil {
		return m.point
	}
	return p
}

func hasOpt(m mountInfo, opt string) bool {
	for _, o := range m.opts {
		if o == opt {
			return true
		}
	}
	return false
}

// randomName names a per-run group after its creator ("<pid>-<start>"), so a
// later run can tell the groups of a dead validator from those of a live one.
func randomName() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	self, err := selfIdentity()
	if err != nil {
		self = "0-0"
	}
	return cgroupPrefix + self + "-" + hex.EncodeToString(b[:])
}

func writeFile(path, value string) error {
	return os.WriteFile(path, []byte(value), 0o644)
}

// newCgroup creates a group limited to memBytes of memory (no swap) and maxProcs tasks.
func newCgroup(memBytes int64, maxProcs int) (*cgroup, error) {
	mounts, err := cgroupMounts()
	if err != nil {
		return nil, err
	}
	self, err := selfCgroups()
	if err != nil {
		return nil, err
	}
	if cg, err := newCgroupV2(mounts, self, memBytes, maxProcs); err == nil {
		return cg, nil
	}
	return newCgroupV1(mounts, self, memBytes, maxProcs)
}

func newCgroupV2(mounts []mountInfo, self map[string]string, memBytes int64, maxProcs int) (*cgroup, error) {
	cgPath, ok := self[""]
	if !ok {
		return nil, errNoCgroup
	}
	for _, m := range mounts {
		if m.fstype != "cgroup2" {
			continue
		}
		parent := hostPath(m, cgPath)
		ctrl, err := os.ReadFile(filepath.Join(parent, "cgroup.controllers"))
		if err != nil || !containsWord(string(ctrl), "memory") {
			continue
		}
		reapStaleCgroups(parent, 2)
		dir := filepath.Join(parent, randomName())
		if err := os.Mkdir(dir, 0o755); err != nil {
			continue
		}
		cg := &cgroup{version: 2, memDir: dir, dirs: []string{dir}, cpuFile: filepath.Join(dir, "cpu.stat")}
		got, _ := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
		if !containsWord(string(got), "memory") {
			// Delegation may have left the controller off for children; enabling it fails
			// when the parent itself holds processes, in which case we give up on v2.
			_ = writeFile(filepath.Join(parent, "cgroup.subtree_control"), "+memory +pids")
			got, _ = os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
		}
		if !containsWord(string(got), "memory") {
			cg.remove()
			continue
		}
		if err := writeFile(filepath.Join(dir, "memory.max"), strconv.FormatInt(memBytes, 10)); err != nil {
			cg.remove()
			continue
		}
		_ = writeFile(filepath.Join(dir, "memory.swap.max"), "0")
		if maxProcs > 0 && containsWord(string(got), "pids") {
			_ = writeFile(filepath.Join(dir, "pids.max"), strconv.Itoa(maxProcs))
		}
		return cg, nil
	}
	return nil, errNoCgroup
}

func newCgroupV1(mounts []mountInfo, self map[string]string, memBytes int64, maxProcs int) (*cgroup, error) {
	var memMount, pidsMount, cpuMount *mountInfo
	for i := range mounts {
		m := &mounts[i]
		if m.fstype != "cgroup" {
			continue
		}
		if hasOpt(*m, "memory") && memMount == nil {
			memMount = m
		}
		if hasOpt(*m, "pids") && pidsMount == nil {
			pidsMount = m
		}
		if hasOpt(*m, "cpuacct") && cpuMount == nil {
			cpuMount = m
		}
	}
	if memMount == nil {
		return nil, errNoCgroup
	}
	name := randomName()
	reapStaleCgroups(hostPath(*memMount, self["memory"]), 1)
	if pidsMount != nil {
		reapStaleCgroups(hostPath(*pidsMount, self["pids"]), 1)
	}
	memDir := filepath.Join(hostPath(*memMount, self["memory"]), name)
	if err := os.Mkdir(memDir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", errNoCgroup, err)
	}
	cg := &cgroup{version: 1, memDir: memDir, dirs: []string{memDir}}
	if err := writeFile(filepath.Join(memDir, "memory.limit_in_bytes"), strconv.FormatInt(memBytes, 10)); err != nil {
		cg.remove()
		return nil, fmt.Errorf("%w: %w", errNoCgroup, err)
	}
	// Without swap accounting this file is absent and swap is simply not limited.
	_ = writeFile(filepath.Join(memDir, "memory.memsw.limit_in_bytes"), strconv.FormatInt(memBytes, 10))
	if pidsMount != nil && maxProcs > 0 {
		pidsDir := filepath.Join(hostPath(*pidsMount, self["pids"]), name)
		if err := os.Mkdir(pidsDir, 0o755); err == nil {
			cg.dirs = append(cg.dirs, pidsDir)
			_ = writeFile(filepath.Join(pidsDir, "pids.max"), strconv.Itoa(maxProcs))
		}
	}
	if cpuMount != nil {
		cpuDir := filepath.Join(hostPath(*cpuMount, self["cpuacct"]), name)
		if err := os.Mkdir(cpuDir, 0o755); err == nil {
			cg.dirs = append(cg.dirs, cpuDir)
			cg.cpuFile = filepath.Join(cpuDir, "cpuacct.usage")
		}
	}
	return cg, nil
}

func containsWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// procsFiles are the files a process writes its pid into to join the group.
func (c *cgroup) procsFiles() []string {
	out := make([]string, len(c.dirs))
	for i, d := range c.dirs {
		out[i] = filepath.Join(d, "cgroup.procs")
	}
	return out
}

func (c *cgroup) name() string {
	if c.version == 2 {
		return LimitCgroupV2
	}
	return LimitCgroupV1
}

// oomKilled reports whether the kernel OOM-killed a process of the group.
func (c *cgroup) oomKilled() bool {
	file, key := "memory.oom_control", "oom_kill"
	if c.version == 2 {
		file = "memory.events"
	}
	data, err := os.ReadFile(filepath.Join(c.memDir, file))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == key {
			n, _ := strconv.Atoi(f[1])
			return n > 0
		}
	}
	return false
}

func (c *cgroup) pids() []int {
	var out []int
	for _, d := range c.dirs {
		data, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil {
				out = append(out, pid)
			}
		}
	}
	return out
}

// killAll SIGKILLs every process in the group, including any that escaped the process group.
func (c *cgroup) killAll() {
	if c.version == 2 && writeFile(filepath.Join(c.memDir, "cgroup.kill"), "1") == nil {
		return
	}
	for i := 0; i < 50; i++ {
		pids := c.pids()
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// remove deletes the group's directories, waiting briefly for exiting members to go.
func (c *cgroup) remove() {
	for _, d := range c.dirs {
		for i := 0; i < 100; i++ {
			err := os.Remove(d)
			if err == nil || errors.Is(err, os.ErrNotExist) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
