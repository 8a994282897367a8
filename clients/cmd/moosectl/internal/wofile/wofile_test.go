package wofile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/wofile"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

const full = `project_id: 0193e0c4-0000-7000-8000-000000000001
title: Add a --json flag
description: |
  The report command prints a table.
  Scripts need JSON.
acceptance_criteria:
  - report --json prints valid JSON
  - "commas, colons: fine"
complexity: 3
request_id: report-json-1
metadata:
  ticket: MOO-12
  priority: 2
`

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		yaml    string
		want    *moosev1.CreateWorkOrderRequest
		wantErr []string // substrings of the error
	}{
		{
			name: "every field",
			yaml: full,
			want: &moosev1.CreateWorkOrderRequest{
				ProjectId:          "0193e0c4-0000-7000-8000-000000000001",
				Title:              "Add a --json flag",
				Description:        "The report command prints a table.\nScripts need JSON.\n",
				AcceptanceCriteria: []string{"report --json prints valid JSON", "commas, colons: fine"},
				Complexity:         3,
				RequestId:          "report-json-1",
				Metadata:           map[string]string{"ticket": "MOO-12", "priority": "2"},
			},
		},
		{
			name: "partial file, flags fill the rest",
			yaml: "title: only a title\n",
			want: &moosev1.CreateWorkOrderRequest{Title: "only a title"},
		},
		{
			name: "tests_required false waives the tests gate; absent stays nil (required)",
			yaml: "title: t\ntests_required: false\n",
			want: &moosev1.CreateWorkOrderRequest{Title: "t", TestsRequired: proto.Bool(false)},
		},
		{
			name:    "unknown fields are all named with their lines",
			yaml:    "title: x\ntitel: y\ncriteria: [a]\n",
			wantErr: []string{`line 2: unknown field "titel"`, `line 3: unknown field "criteria"`, "known fields: project_id, title, description, acceptance_criteria, complexity, request_id, metadata, tests_required"},
		},
		{
			name:    "wrong type",
			yaml:    "complexity: high\n",
			wantErr: []string{"line 1", "high"},
		},
		{
			name:    "criteria must be a list",
			yaml:    "acceptance_criteria: just one\n",
			wantErr: []string{"line 1", "just one"},
		},
		{
			name:    "not a mapping",
			yaml:    "- a\n- b\n",
			wantErr: []string{"want a mapping of work order fields"},
		},
		{
			name:    "empty",
			yaml:    "",
			wantErr: []string{"the file is empty"},
		},
		{
			name:    "two documents",
			yaml:    "title: a\n---\ntitle: b\n",
			wantErr: []string{"more than one YAML document"},
		},
		{
			name:    "syntax error",
			yaml:    "title: [unclosed\n",
			wantErr: []string{"wo.yaml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := wofile.Parse("wo.yaml", []byte(tt.yaml))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, wofile.ErrInvalid)
				require.True(t, strings.HasPrefix(err.Error(), "wo.yaml: "), err.Error())
				for _, s := range tt.wantErr {
					require.Contains(t, err.Error(), s)
				}
				require.NotContains(t, err.Error(), "wofile.File", "no Go type names in user-facing errors")
				return
			}
			require.NoError(t, err)
			require.True(t, proto.Equal(tt.want, got), "got %v", got)
		})
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "wo.yaml")
	require.NoError(t, os.WriteFile(path, []byte(full), 0o600))

	fromFile, err := wofile.Load(path, nil)
	require.NoError(t, err)
	require.Equal(t, "Add a --json flag", fromFile.GetTitle())

	fromStdin, err := wofile.Load("-", strings.NewReader(full))
	require.NoError(t, err)
	require.True(t, proto.Equal(fromFile, fromStdin))

	_, err = wofile.Load(filepath.Join(t.TempDir(), "missing.yaml"), nil)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.NotErrorIs(t, err, wofile.ErrInvalid, "a missing file is not a content problem")
}
