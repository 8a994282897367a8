package gocheck

import (
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/moosehq/moose/plugins/internal/check"
)

// What a failing Go test left behind, turned into the evidence a model fixing
// the code needs: the failure's own lines (testify's Error Trace, Error and
// Messages block included), a panic's value and the first stack frame in the
// project, the test a -timeout expiry names, a fatal error by name.

// MessageLimit bounds one finding's message: enough for a few testify blocks
// and a stack excerpt, never a whole log.
const MessageLimit = 4 << 10

// frame is one stack frame: the function and where it was.
type frame struct {
	fn   string
	file string // worktree-relative when in the project
	line int
}

func (f frame) String() string { return f.file + ":" + strconv.Itoa(f.line) }

// frameFile matches the location line under a function in a goroutine dump:
// "\t/abs/path/file.go:12 +0x1d" (the offset and fp= details optional).
var frameFile = regexp.MustCompile(`^\t(\S+\.go):(\d+)(?:\s|$)`)

// stack is one goroutine's frames, in the order printed (innermost first).
type stack struct {
	header string
	frames []frame
}

// goroutines splits a dump into goroutine stacks.
func goroutines(out string) []stack {
	var out2 []stack
	var cur *stack
	lines := strings.Split(out, "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimRight(lines[i], "\r")
		if strings.HasPrefix(l, "goroutine ") && strings.HasSuffix(l, ":") {
			out2 = append(out2, stack{header: l})
			cur = &out2[len(out2)-1]
			continue
		}
		if cur == nil || l == "" || strings.HasPrefix(l, "\t") {
			if l == "" {
				cur = nil
			}
			continue
		}
		if i+1 >= len(lines) {
			break
		}
		m := frameFile.FindStringSubmatch(strings.TrimRight(lines[i+1], "\r"))
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		fn := l
		if k := strings.LastIndex(fn, "("); k > 0 {
			fn = fn[:k]
		}
		cur.frames = append(cur.frames, frame{fn: fn, file: m[1], line: n})
		i++
	}
	return out2
}

// project tells frames of the module's own code from the toolchain's and the
// dependencies'.
type project struct {
	dir, module string
}

// frame returns f relativised to the worktree, and whether it is the project's.
func (p project) frame(f frame) (frame, bool) {
	if strings.HasSuffix(f.file, "_testmain.go") || strings.Contains(f.fn, "/vendor/") {
		return f, false
	}
	rel := check.RelPath(p.dir, f.file)
	inTree := p.dir != "" && !path.IsAbs(rel) && !strings.HasPrefix(rel, "..")
	ours := p.module != "" && (strings.HasPrefix(f.fn, p.module+".") || strings.HasPrefix(f.fn, p.module+"/"))
	if !inTree && !ours {
		return f, false
	}
	if !inTree {
		// Built with -trimpath or elsewhere: place it by its package.
		pkg := f.fn
		if k := strings.LastIndex(pkg, "/"); k >= 0 {
			if d := strings.Index(pkg[k:], "."); d >= 0 {
				pkg = pkg[:k+d]
			}
		} else if d := strings.Index(pkg, "."); d >= 0 {
			pkg = pkg[:d]
		}
		rel = path.Join(pkgDir(pkg, p.module), path.Base(f.file))
	}
	f.file = rel
	if k := strings.LastIndex(f.fn, "/"); k >= 0 {
		f.fn = f.fn[k+1:]
	}
	return f, true
}

// projectFrames are the project's frames of s, from the first frame after
// the innermost call to panic (when skipPanic), innermost first.
func (p project) projectFrames(s stack, skipPanic bool) []frame {
	frames := s.frames
	if skipPanic {
		for i := len(frames) - 1; i >= 0; i-- {
			if frames[i].fn == "panic" || strings.HasPrefix(frames[i].fn, "runtime.gopanic") {
				frames = frames[i+1:]
				break
			}
		}
	}
	var out []frame
	for _, f := range frames {
		if pf, ok := p.frame(f); ok {
			out = append(out, pf)
		}
	}
	return out
}

// renderFrames lists up to three project frames, the first being where it happened.
func renderFrames(fs []frame) string {
	var b strings.Builder
	for i, f := range fs {
		if i == 3 {
			b.WriteString("\n  ...")
			break
		}
		if i == 0 {
			b.WriteString("\nat " + f.String() + " in " + f.fn)
		} else {
			b.WriteString("\n   " + f.String() + " in " + f.fn)
		}
	}
	return b.String()
}

// block is one failure a test reported: the "file.go:N: message" line and
// the lines indented under it (testify's Error Trace / Error / Messages).
type block struct {
	file string
	line int
	head string
	body []string
}

// failureBlocks reads the failure lines of a test's output.
func failureBlocks(out string, relativise func(string) string) []block {
	var bs []block
	indent := -1
	for _, raw := range strings.Split(out, "\n") {
		l := strings.TrimRight(raw, "\r")
		if m := failLine.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[2])
			bs = append(bs, block{file: m[1], line: n, head: strings.TrimSpace(m[3])})
			indent = len(l) - len(strings.TrimLeft(l, " \t"))
			continue
		}
		if indent < 0 || len(bs) == 0 {
			continue
		}
		lead := len(l) - len(strings.TrimLeft(l, " \t"))
		if strings.TrimSpace(l) == "" || lead <= indent {
			if strings.TrimSpace(l) != "" {
				indent = -1
			}
			continue
		}
		// testing indents a multi-line message by four more spaces; testify
		// aligns its labels with tabs.
		text := strings.TrimLeft(l[min(len(l), indent+4):], "\t")
		text = strings.ReplaceAll(text, "\t", " ")
		if relativise != nil {
			text = relativise(text)
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		b := &bs[len(bs)-1]
		b.body = append(b.body, strings.TrimRight(text, " "))
	}
	return bs
}

// testifyError is the value of testify's "Error:" label.
func (b block) testifyError() string {
	for _, l := range b.body {
		if v, ok := strings.CutPrefix(l, "Error:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// summary is the block's one-line gist.
func (b block) summary() string {
	if b.head != "" {
		return b.head
	}
	if e := b.testifyError(); e != "" {
		return strings.TrimSuffix(e, ":")
	}
	if len(b.body) > 0 {
		return strings.TrimSpace(b.body[0])
	}
	return ""
}

func (b block) render() string {
	s := b.file + ":" + strconv.Itoa(b.line) + ": " + b.head
	for _, l := range b.body {
		s += "\n    " + l
	}
	return s
}

// panicRe matches a panic line; the value runs to the end of the line.
var panicRe = regexp.MustCompile(`(?m)^panic: (.*?)(?: \[recovered(?:, repanicked)?\])?$`)

// fatalRe matches the runtime's fatal errors (stack overflow, concurrent map
// writes, deadlock, unlock of an unlocked mutex, out of memory).
var fatalRe = regexp.MustCompile(`(?m)^fatal error: (.*)$`)

// timeoutRe matches the -timeout alarm; runningRe the tests it lists.
var (
	timeoutRe = regexp.MustCompile(`(?m)^panic: test timed out after (\S+)`)
	runningRe = regexp.MustCompile(`^\t\t(\S+) \(([^)]*)\)$`)
)

// crash is why a test binary died, if it did: a -timeout expiry, a fatal
// runtime error, or a panic that was not recovered.
type crash struct {
	kind    string // "timeout", "fatal", "panic"
	value   string // the duration, the fatal error, the panic value
	running []string
	frames  []frame
}

// analyse reads a test's (or a test binary's) output for a crash. test, when
// known, is the test the output belongs to: its goroutine is the one to
// locate a timeout in.
func (p project) analyse(out, test string) (crash, bool) {
	if m := timeoutRe.FindStringSubmatchIndex(out); m != nil {
		c := crash{kind: "timeout", value: out[m[2]:m[3]]}
		rest := out[m[1]:]
		for _, l := range strings.Split(rest, "\n") {
			l = strings.TrimRight(l, "\r")
			if strings.TrimSpace(l) == "running tests:" {
				continue
			}
			r := runningRe.FindStringSubmatch(l)
			if r == nil {
				if len(c.running) > 0 || strings.HasPrefix(l, "goroutine ") {
					break
				}
				continue
			}
			c.running = append(c.running, r[1])
		}
		if test == "" && len(c.running) > 0 {
			test = c.running[0]
		}
		c.frames = p.hung(rest, test)
		return c, true
	}
	if m := fatalRe.FindStringSubmatchIndex(out); m != nil {
		c := crash{kind: "fatal", value: strings.TrimSpace(out[m[2]:m[3]])}
		for _, s := range goroutines(out[m[1]:]) {
			if fs := p.projectFrames(s, false); len(fs) > 0 {
				c.frames = compress(fs)
				break
			}
		}
		return c, true
	}
	if m := panicRe.FindStringSubmatchIndex(out); m != nil {
		c := crash{kind: "panic", value: strings.TrimSpace(out[m[2]:m[3]])}
		for _, s := range goroutines(out[m[1]:]) {
			if fs := p.projectFrames(s, true); len(fs) > 0 {
				c.frames = fs
				break
			}
		}
		return c, true
	}
	return crash{}, false
}

// hung locates a test that the alarm stopped: the first project frame of
// the goroutine running it.
func (p project) hung(dump, test string) []frame {
	name, _, _ := strings.Cut(test, "/")
	for _, s := range goroutines(dump) {
		for _, f := range s.frames {
			if name != "" && (strings.HasSuffix(f.fn, "."+name) || strings.Contains(f.fn, "."+name+".func")) {
				return p.projectFrames(s, false)
			}
		}
	}
	return nil
}

// compress drops repeats of the same frame (a stack overflow is one function
// many thousand times).
func compress(fs []frame) []frame {
	var out []frame
	for _, f := range fs {
		if len(out) > 0 && out[len(out)-1] == f {
			continue
		}
		out = append(out, f)
	}
	return out
}

// message renders a crash for test (empty: the package as a whole).
func (c crash) message(test, pkg string) string {
	who := test
	if who == "" {
		who = "package " + pkg
	}
	switch c.kind {
	case "timeout":
		return who + " timed out after " + c.value + renderFrames(c.frames)
	case "fatal":
		return who + ": fatal error: " + c.value + renderFrames(c.frames)
	default:
		return who + " panicked: " + c.value + renderFrames(c.frames)
	}
}

func (c crash) category() string {
	if c.kind == "timeout" {
		return check.CategoryTimeout
	}
	return check.CategoryTestFailure
}

// locate sets f's place from the crash's first project frame.
func (c crash) locate(f *check.Finding) {
	if len(c.frames) > 0 {
		f.File, f.Line = c.frames[0].file, c.frames[0].line
	}
}

// relativiser rewrites absolute paths inside the worktree to relative ones.
func relativiser(dir string) func(string) string {
	if dir == "" {
		return nil
	}
	prefix := strings.TrimSuffix(dir, "/") + "/"
	return func(s string) string { return strings.ReplaceAll(s, prefix, "") }
}

// boundMessage keeps a message's head and tail within MessageLimit.
func boundMessage(s string) string { return check.TrimLog(s, MessageLimit) }
