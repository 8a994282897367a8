package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/cli"
	"github.com/moosehq/moose/clients/moose"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/servertest"
)

// session is moosectl pointed at a real moosed on a fresh database.
type session struct {
	t    *testing.T
	addr string
	// token is the server's admin token, passed with --token.
	token string
}

func newSession(t *testing.T) *session {
	t.Helper()
	return sessionFor(t, servertest.Start(t, servertest.APIOnly()))
}

// sessionFor is a session against srv with its admin token.
func sessionFor(t *testing.T, srv *servertest.Server) *session {
	return &session{t: t, addr: srv.GRPCAddr(), token: srv.AdminToken()}
}

func (s *session) run(args ...string) result {
	s.t.Helper()
	return moosectl(s.t, nil, append([]string{"--server", s.addr, "--token", s.token}, args...)...)
}

// ok runs a command that must succeed and returns its stdout.
func (s *session) ok(args ...string) string {
	s.t.Helper()
	r := s.run(args...)
	require.Equal(s.t, cli.ExitOK, r.code, "moosectl %s: %s", strings.Join(args, " "), r.stderr)
	return r.stdout
}

// json runs a command with -o json and decodes its single document into m.
func (s *session) json(m proto.Message, args ...string) {
	s.t.Helper()
	out := s.ok(append([]string{"-o", "json"}, args...)...)
	require.NoError(s.t, protojson.Unmarshal([]byte(out), m), out)
}

func (s *session) project(name string) *moosev1.Project {
	s.t.Helper()
	var p moosev1.Project
	s.json(&p, "project", "create", "--name", name, "--repo", "https://git.example.com/repos/"+name, "--language", "go")
	return &p
}

func (s *session) workOrder(projectID, title string) *moosev1.WorkOrder {
	s.t.Helper()
	var wo moosev1.WorkOrder
	s.json(&wo, "wo", "create", "--project", projectID, "--title", title, "--description", "d",
		"--criteria", "it works", "--complexity", "3")
	return &wo
}

func (s *session) client() *moose.Client {
	s.t.Helper()
	c, err := moose.Dial(s.t.Context(), s.addr, moose.WithToken(s.token))
	require.NoError(s.t, err)
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestProjectCommands(t *testing.T) {
	t.Parallel()
	s := newSession(t)

	out := s.ok("project", "create", "--name", "strings", "--repo", "https://github.com/acme/strings",
		"--language", "typescript", "--branch", "trunk", "--test", "npm test")
	require.Regexp(t, `(?m)^Name:\s+strings$`, out)
	require.Regexp(t, `(?m)^Default branch:\s+trunk$`, out)
	require.Regexp(t, `(?m)^Test command:\s+npm test$`, out)

	p := s.project("calc")
	require.Equal(t, "calc", p.GetName())
	require.Equal(t, "main", p.GetDefaultBranch(), "--branch defaults to main")
	require.NotEmpty(t, p.GetId())

	out = s.ok("project", "get", p.GetId())
	require.Regexp(t, `(?m)^ID:\s+`+p.GetId()+`$`, out)

	out = s.ok("project", "list", "--page-size", "1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, "header and both projects, across pages:\n%s", out)
	require.True(t, strings.HasPrefix(lines[0], "ID "))
	require.Contains(t, lines[1], "strings")
	require.Contains(t, lines[2], "calc")

	var list moosev1.ListProjectsResponse
	s.json(&list, "project", "list")
	require.Len(t, list.GetProjects(), 2)
	require.Empty(t, list.GetNextPageToken())

	r := s.run("project", "create", "--name", "calc", "--repo", "https://git.example.com/x", "--language", "go")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "(AlreadyExists)")
}

func TestWorkOrderCreateFromFlags(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	p := s.project("calc")

	var wo moosev1.WorkOrder
	s.json(&wo, "wo", "create", "--project", p.GetId(), "--title", "Add Mod", "--description", "Mod(a, b)",
		"--criteria", "Mod(7,3) == 1", "--criteria", "a, b, and c stay one criterion",
		"--complexity", "4", "--request-id", "mod-1", "--metadata", "ticket=MOO-1", "--metadata", "area=math")
	require.Equal(t, p.GetId(), wo.GetProjectId())
	require.Equal(t, "Add Mod", wo.GetTitle())
	require.Equal(t, "Mod(a, b)", wo.GetDescription())
	require.Equal(t, []string{"Mod(7,3) == 1", "a, b, and c stay one criterion"}, wo.GetAcceptanceCriteria())
	require.EqualValues(t, 4, wo.GetComplexity())
	require.Equal(t, "mod-1", wo.GetRequestId())
	require.Equal(t, map[string]string{"ticket": "MOO-1", "area": "math"}, wo.GetMetadata())
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_PENDING, wo.GetStatus())

	out := s.ok("wo", "get", wo.GetId())
	require.Regexp(t, `(?m)^Status:\s+pending$`, out)
	require.Contains(t, out, "  1. Mod(7,3) == 1\n  2. a, b, and c stay one criterion\n")
	require.Contains(t, out, "  area=math\n  ticket=MOO-1\n")
	require.NotContains(t, out, "Result:", "no result before the work order ran")
}

func TestWorkOrderCreateFromFile(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	p := s.project("calc")
	path := filepath.Join(t.TempDir(), "wo.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`project_id: `+p.GetId()+`
title: From the file
description: |
  Two lines
  of description.
acceptance_criteria:
  - first
  - second
complexity: 2
request_id: file-1
metadata:
  source: yaml
`), 0o600))

	var fromFile moosev1.WorkOrder
	s.json(&fromFile, "wo", "create", "-f", path)
	require.Equal(t, "From the file", fromFile.GetTitle())
	require.Equal(t, "Two lines\nof description.\n", fromFile.GetDescription())
	require.Equal(t, []string{"first", "second"}, fromFile.GetAcceptanceCriteria())
	require.EqualValues(t, 2, fromFile.GetComplexity())
	require.Equal(t, map[string]string{"source": "yaml"}, fromFile.GetMetadata())

	// The same request id returns the same work order, never a duplicate.
	var again moosev1.WorkOrder
	s.json(&again, "wo", "create", "-f", path)
	require.Equal(t, fromFile.GetId(), again.GetId())

	// Flags override the file's fields; the rest comes from the file.
	var overridden moosev1.WorkOrder
	s.json(&overridden, "wo", "create", "-f", path, "--request-id", "file-2", "--title", "From a flag",
		"--complexity", "7", "--criteria", "only this", "--metadata", "extra=1")
	require.NotEqual(t, fromFile.GetId(), overridden.GetId())
	require.Equal(t, "From a flag", overridden.GetTitle())
	require.EqualValues(t, 7, overridden.GetComplexity())
	require.Equal(t, []string{"only this"}, overridden.GetAcceptanceCriteria())
	require.Equal(t, "Two lines\nof description.\n", overridden.GetDescription())
	require.Equal(t, map[string]string{"source": "yaml", "extra": "1"}, overridden.GetMetadata())

	// From stdin.
	var out, errOut strings.Builder
	code := cli.Run(t.Context(), []string{"--server", s.addr, "--token", s.token, "-o", "json", "wo", "create", "-f", "-"},
		strings.NewReader("project_id: "+p.GetId()+"\ntitle: piped\ncomplexity: 1\n"), &out, &errOut)
	require.Equal(t, cli.ExitOK, code, errOut.String())
	var piped moosev1.WorkOrder
	require.NoError(t, protojson.Unmarshal([]byte(out.String()), &piped))
	require.Equal(t, "piped", piped.GetTitle())
}

func TestWorkOrderCreatePinnedToVariant(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.APIOnly())
	s := sessionFor(t, srv)
	p := s.project("calc")
	mini, other := uuid.New(), uuid.New()
	_, err := srv.Server().Pool().Exec(t.Context(),
		`INSERT INTO variants (id, name, plugin_name) VALUES ($1, 'mini', 'replay'), ($2, 'other', 'replay')`, mini, other)
	require.NoError(t, err)
	create := []string{"wo", "create", "--project", p.GetId(), "--description", "d", "--criteria", "it works", "--complexity", "3"}

	// By name: the server resolves it and records the pin as the variant.
	var byName moosev1.WorkOrder
	s.json(&byName, append(create, "--title", "Add Mod", "--variant", "mini")...)
	require.Equal(t, mini.String(), byName.GetVariantId())
	var got moosev1.WorkOrder
	s.json(&got, "wo", "get", byName.GetId())
	require.Equal(t, mini.String(), got.GetVariantId(), "stored, not only echoed")

	// By id, over a work-order file.
	path := writeFile(t, t.TempDir(), "wo.yaml", "project_id: "+p.GetId()+"\ntitle: Add Abs\ncomplexity: 2\n")
	var byID moosev1.WorkOrder
	s.json(&byID, "wo", "create", "-f", path, "--variant", other.String())
	require.Equal(t, other.String(), byID.GetVariantId())

	// Without the flag nothing is pinned: routing picks later.
	require.Empty(t, s.workOrder(p.GetId(), "Add Max").GetVariantId())

	r := s.run(append(create, "--title", "Add Min", "--variant", "nope")...)
	require.Equal(t, cli.ExitError, r.code, r.stderr)
	require.Contains(t, r.stderr, "(InvalidArgument)")
	require.Contains(t, r.stderr, `  variant_id: no variant "nope"`)
}

func TestWorkOrderTransitions(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	wo := s.workOrder(s.project("calc").GetId(), "Add Mod")
	id := wo.GetId()

	require.Equal(t, "Work order "+id+" is approved.\n", s.ok("wo", "approve", id))

	r := s.run("wo", "retry", id)
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "retry work order "+id+": ")
	require.Equal(t, 1, strings.Count(r.stderr, "retry work order "+id), "context said once: %s", r.stderr)
	require.Contains(t, r.stderr, "approved", "the refusal names the current state")
	require.Contains(t, r.stderr, "(FailedPrecondition)")
	require.NotContains(t, r.stderr, "rpc error")
	require.Empty(t, r.stdout)

	r = s.run("wo", "approve", id)
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "(FailedPrecondition)")

	var cancelled moosev1.WorkOrder
	s.json(&cancelled, "wo", "cancel", id, "--reason", "not needed")
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_CANCELLED, cancelled.GetStatus())

	r = s.run("wo", "cancel", id)
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "cancelled")

	out := s.ok("wo", "events", id)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4, out)
	require.Regexp(t, `^ID\s+TIME\s+TYPE\s+STATUS\s+PHASE\s+MESSAGE$`, lines[0])
	require.Contains(t, lines[2], "pending -> approved")
	require.Contains(t, lines[3], "approved -> cancelled")

	var events moosev1.ListWorkOrderEventsResponse
	s.json(&events, "wo", "events", id)
	require.Len(t, events.GetEvents(), 3)

	// Watching a finished work order replays it and exits with its status.
	r = s.run("wo", "watch", id)
	require.Equal(t, cli.ExitCancelled, r.code, r.stderr)
	require.Contains(t, r.stdout, "pending -> approved")
	require.True(t, strings.HasSuffix(r.stdout, "Work order "+id+" is cancelled.\n"), r.stdout)
	require.Empty(t, r.stderr)

	r = s.run("-o", "json", "wo", "watch", id)
	require.Equal(t, cli.ExitCancelled, r.code, r.stderr)
	jsonLines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, jsonLines, 3, "one JSON event per line and nothing else")
	for _, l := range jsonLines {
		var e moosev1.Event
		require.NoError(t, protojson.Unmarshal([]byte(l), &e), l)
		require.Equal(t, id, e.GetWorkOrderId())
	}
}

func TestWatchFollowsLiveEvents(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	wo := s.workOrder(s.project("calc").GetId(), "Add Mod")
	c := s.client()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan result, 1)
	go func() {
		done <- moosectlCtx(ctx, nil, "--server", s.addr, "--token", s.token, "wo", "watch", wo.GetId())
	}()

	// Change the work order while the watch runs; it must see both changes
	// and end on its own at the terminal state.
	_, err := c.ApproveWorkOrder(t.Context(), wo.GetId())
	require.NoError(t, err)
	_, err = c.CancelWorkOrder(t.Context(), wo.GetId(), "done watching")
	require.NoError(t, err)
	r := <-done
	require.Equal(t, cli.ExitCancelled, r.code, r.stderr)
	require.Contains(t, r.stdout, "pending -> approved")
	require.Contains(t, r.stdout, "approved -> cancelled")
}

func TestWatchStopsWhenContextEnds(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	wo := s.workOrder(s.project("calc").GetId(), "Add Mod")

	// A pending work order never ends by itself: only the context (Ctrl-C in
	// main) can end this watch. Cancel it once the history has arrived.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &firstWrite{seen: make(chan struct{})}
	done := make(chan int, 1)
	var errOut strings.Builder
	go func() {
		done <- cli.Run(ctx, []string{"--server", s.addr, "--token", s.token, "wo", "watch", wo.GetId()}, strings.NewReader(""), out, &errOut)
	}()
	<-out.seen
	cancel()
	require.Equal(t, cli.ExitError, <-done)
	require.Contains(t, errOut.String(), "(Canceled)")
	require.Contains(t, out.String(), "created")

	// An explicit --timeout bounds the watch too (it does not by default).
	r := s.run("--timeout", "200ms", "wo", "watch", wo.GetId())
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "(DeadlineExceeded)")
}

// firstWrite is a writer that signals its first write.
type firstWrite struct {
	mu   sync.Mutex
	buf  strings.Builder
	seen chan struct{}
	once sync.Once
}

func (w *firstWrite) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.once.Do(func() { close(w.seen) })
	return w.buf.Write(p)
}

func (w *firstWrite) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestValidationErrorsNameFields(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	p := s.project("calc")

	r := s.run("wo", "create", "--project", p.GetId(), "--title", "", "--complexity", "11")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "(InvalidArgument)")
	require.Contains(t, r.stderr, "Invalid fields:\n")
	require.Regexp(t, `(?m)^  title: \S`, r.stderr)
	require.Regexp(t, `(?m)^  complexity: \S`, r.stderr)
	require.Empty(t, r.stdout)

	r = s.run("project", "create")
	require.Equal(t, cli.ExitError, r.code)
	require.Regexp(t, `(?m)^  name: \S`, r.stderr)
	require.Regexp(t, `(?m)^  repo_url: \S`, r.stderr)

	r = s.run("wo", "get", "0193e0c4-0000-7000-8000-00000000dead")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "(NotFound)")
}

func TestWorkOrderListPagingAndFilters(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	p1, p2 := s.project("one"), s.project("two")
	var ids []string
	for _, title := range []string{"first", "second", "third"} {
		ids = append(ids, s.workOrder(p1.GetId(), title).GetId())
	}
	other := s.workOrder(p2.GetId(), "elsewhere")
	s.ok("wo", "approve", ids[1])

	r := s.run("wo", "list", "--page-size", "2")
	require.Equal(t, cli.ExitOK, r.code, r.stderr)
	rows := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, rows, 3, "header and one page of two")
	require.Regexp(t, `^ID\s+PROJECT\s+STATUS\s+CPLX\s+SCORE\s+TITLE\s+CREATED$`, rows[0])
	require.True(t, strings.HasPrefix(rows[1], ids[0]))
	require.Contains(t, r.stderr, "--page-token=")

	m := regexp.MustCompile(`--page-token=(\S+) `).FindStringSubmatch(r.stderr)
	require.NotNil(t, m, r.stderr)
	token := m[1]
	r = s.run("wo", "list", "--page-size", "2", "--page-token", token)
	require.Equal(t, cli.ExitOK, r.code, r.stderr)
	rows = strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, rows, 3)
	require.True(t, strings.HasPrefix(rows[1], ids[2]))
	require.True(t, strings.HasPrefix(rows[2], other.GetId()))
	require.Empty(t, r.stderr, "last page: no token")

	var all moosev1.ListWorkOrdersResponse
	s.json(&all, "wo", "list", "--all", "--page-size", "1", "--project", p1.GetId())
	require.Len(t, all.GetWorkOrders(), 3)
	require.Empty(t, all.GetNextPageToken())

	var approved moosev1.ListWorkOrdersResponse
	s.json(&approved, "wo", "list", "--status", "approved")
	require.Len(t, approved.GetWorkOrders(), 1)
	require.Equal(t, ids[1], approved.GetWorkOrders()[0].GetId())

	// -o json is one document that plain JSON tools can read, with proto names.
	out := s.ok("-o", "json", "wo", "list", "--page-size", "2")
	var generic map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &generic))
	require.Contains(t, generic, "work_orders")
	require.NotEmpty(t, generic["next_page_token"])
}
