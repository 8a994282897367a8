package output_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/output"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func ts(s string) *timestamppb.Timestamp {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return timestamppb.New(t)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test -update")
	require.Equal(t, string(want), string(got))
}

var (
	projects = []*moosev1.Project{
		{
			Id: "0193e0c4-0000-7000-8000-000000000001", Name: "strings", RepoUrl: "https://github.com/acme/strings",
			DefaultBranch: "main", Language: "typescript", Preset: "node", TestCommand: "npm test",
			CreateTime: ts("2026-01-02T03:04:05Z"), UpdateTime: ts("2026-01-02T03:04:05Z"),
		},
		{
			Id: "0193e0c4-0000-7000-8000-000000000002", Name: "moose", RepoUrl: "/srv/git/moose",
			DefaultBranch: "trunk", Language: "go", CreateTime: ts("2026-01-03T00:00:00Z"),
		},
	}
	pending = &moosev1.WorkOrder{
		Id: "0193e0c4-1111-7000-8000-000000000001", ProjectId: projects[0].Id,
		Title: "Add a --json flag to the report command", Description: "Scripts need JSON.\nKeep the table.",
		AcceptanceCriteria: []string{"report --json prints valid JSON", "table output unchanged"},
		Complexity:         3, Status: moosev1.WorkOrderStatus_WORK_ORDER_STATUS_PENDING, RequestId: "req-1",
		Metadata:   map[string]string{"ticket": "MOO-12", "area": "cli"},
		CreateTime: ts("2026-01-02T03:05:00Z"), UpdateTime: ts("2026-01-02T03:05:00Z"),
	}
	completed = &moosev1.WorkOrder{
		Id: "0193e0c4-1111-7000-8000-000000000002", ProjectId: projects[0].Id,
		Title:       "A title long enough to be cut in the list view because it goes on and on",
		Description: "Implement padLeft.", AcceptanceCriteria: []string{"padLeft pads"}, Complexity: 5,
		Status: moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, RequestId: "req-2", VariantId: "gpt-4o-mini-v3",
		CreateTime: ts("2026-01-02T04:00:00Z"), UpdateTime: ts("2026-01-02T04:09:30Z"),
		Result: &moosev1.WorkOrderResult{
			OverallScore: 7.85, Passed: true, BuildPassed: true, TestsPassed: true, TestsTotal: 12, TestsFailed: 0,
			Cycles: 2, CostUsd: 0.01234, InputTokens: 12000, OutputTokens: 3400,
			PullRequestUrl: "https://github.com/acme/strings/pull/7", PullRequestNumber: 7, Branch: "moose/wo-2",
			Dimensions: []*moosev1.DimensionScore{
				{Name: "architecture", Score: 8, Weight: 0.2, Reasons: []string{"one function per concern", "no new globals"}},
				{Name: "completeness", Score: 9.5, Weight: 0.25, Reasons: []string{"all criteria met"}},
				{Name: "test_coverage", Score: 6, Weight: 0.2},
			},
		},
	}
	failed = &moosev1.WorkOrder{
		Id: "0193e0c4-1111-7000-8000-000000000003", ProjectId: projects[1].Id, Title: "Fix the flaky test",
		Complexity: 8, Status: moosev1.WorkOrderStatus_WORK_ORDER_STATUS_FAILED,
		CreateTime: ts("2026-01-04T00:00:00Z"),
		Result: &moosev1.WorkOrderResult{
			OverallScore: 2.5, FailureReason: "build failed after 2 refinement cycles", Cycles: 3, TestsTotal: 4, TestsFailed: 4,
		},
	}
	events = []*moosev1.Event{
		{Id: 1, WorkOrderId: pending.Id, Type: "created", ToStatus: moosev1.WorkOrderStatus_WORK_ORDER_STATUS_PENDING, CreateTime: ts("2026-01-02T03:05:00Z")},
		{Id: 2, WorkOrderId: pending.Id, Type: "transition", FromStatus: moosev1.WorkOrderStatus_WORK_ORDER_STATUS_PENDING, ToStatus: moosev1.WorkOrderStatus_WORK_ORDER_STATUS_APPROVED, CreateTime: ts("2026-01-02T03:06:00Z")},
		{Id: 3, WorkOrderId: pending.Id, Type: "phase", Phase: "proposing", Message: "asking\tthe model", Data: map[string]string{"variant": "v3", "cycle": "1"}, CreateTime: ts("2026-01-02T03:06:01Z")},
		{Id: 14, WorkOrderId: pending.Id, Type: "transition", FromStatus: moosev1.WorkOrderStatus_WORK_ORDER_STATUS_APPROVED, ToStatus: moosev1.WorkOrderStatus_WORK_ORDER_STATUS_CANCELLED, Message: "no longer needed", CreateTime: ts("2026-01-02T03:07:00Z")},
	}
)

func TestTables(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		render func(*bytes.Buffer) error
	}{
		{"projects", func(b *bytes.Buffer) error { return output.Projects(b, projects) }},
		{"projects_empty", func(b *bytes.Buffer) error { return output.Projects(b, nil) }},
		{"project", func(b *bytes.Buffer) error { return output.Project(b, projects[0]) }},
		{"workorders", func(b *bytes.Buffer) error {
			return output.WorkOrders(b, []*moosev1.WorkOrder{pending, completed, failed})
		}},
		{"workorder_pending", func(b *bytes.Buffer) error { return output.WorkOrder(b, pending) }},
		{"workorder_completed", func(b *bytes.Buffer) error { return output.WorkOrder(b, completed) }},
		{"workorder_failed", func(b *bytes.Buffer) error { return output.WorkOrder(b, failed) }},
		{"events", func(b *bytes.Buffer) error { return output.Events(b, events) }},
		{"event_lines", func(b *bytes.Buffer) error {
			for _, e := range events {
				b.WriteString(output.EventLine(e) + "\n")
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			require.NoError(t, tt.render(&b))
			golden(t, tt.name, b.Bytes())
		})
	}
}

func TestWriteJSONRoundTripsWithProtoNames(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	require.NoError(t, output.WriteJSON(&b, completed))

	var generic map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &generic), "one JSON document")
	require.Contains(t, generic, "project_id")
	require.Contains(t, generic, "acceptance_criteria")
	require.Equal(t, "WORK_ORDER_STATUS_COMPLETED", generic["status"])
	require.Contains(t, generic, "metadata", "unpopulated fields are present for scripts")

	var back moosev1.WorkOrder
	require.NoError(t, protojson.Unmarshal(b.Bytes(), &back))
	require.True(t, proto.Equal(completed, &back), "JSON output decodes to the same message")

	var again bytes.Buffer
	require.NoError(t, output.WriteJSON(&again, completed))
	require.Equal(t, b.String(), again.String(), "output is byte-stable")
}

func TestWriteJSONLineIsOneLine(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	for _, e := range events {
		require.NoError(t, output.WriteJSONLine(&b, e))
	}
	lines := bytes.Split(bytes.TrimSuffix(b.Bytes(), []byte("\n")), []byte("\n"))
	require.Len(t, lines, len(events))
	for i, l := range lines {
		var e moosev1.Event
		require.NoError(t, protojson.Unmarshal(l, &e))
		require.Equal(t, events[i].GetId(), e.GetId())
	}
}

func TestParseFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    output.Format
		wantErr bool
	}{
		{"table", output.Table, false},
		{"json", output.JSON, false},
		{"JSON", output.JSON, false},
		{"yaml", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		got, err := output.ParseFormat(tt.in)
		if tt.wantErr {
			require.ErrorIs(t, err, output.ErrUnknownFormat, tt.in)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tt.want, got)
	}
}

func TestCellAndTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, cell string }{
		{"", "-"},
		{"  ", "-"},
		{"a\tb\nc", "a b c"},
		{"plain", "plain"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.cell, output.Cell(tt.in), tt.in)
	}
	require.Equal(t, "abc", output.Truncate("abc", 3))
	require.Equal(t, "ab…", output.Truncate("abcd", 3))
	require.Equal(t, "héll…", output.Truncate("héllo wörld", 5), "counts runes, not bytes")
	require.Equal(t, "-", output.Time(nil))
}
