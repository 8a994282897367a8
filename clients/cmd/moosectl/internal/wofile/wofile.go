// Package wofile reads work-order files: YAML documents that describe one
// work order for `moosectl wo create -f`. Unknown keys are errors, with the
// line and the list of known keys, because a misspelt key (titel:) would
// otherwise silently create a work order without it.
//
//	project_id: 0193...
//	title: Add a --json flag to the report command
//	description: |
//	  The report command prints a table. Add --json ...
//	acceptance_criteria:
//	  - report --json prints valid JSON
//	  - existing output is unchanged
//	complexity: 3
//	request_id: report-json-1
//	metadata:
//	  ticket: MOO-12
//	tests_required: false   # optional; absent means a source change must add or change a test
//	build_timeout: 2m       # optional time limits, Go durations
//	test_timeout: 90s
//	acceptance_tests:       # optional hidden tests, never shown to a proposer
//	  - path: report/json_test.go
//	    content: |
//	      package report ...
//	acceptance_test_patch: | # or as a unified diff
//	  --- a/report/json_test.go ...
//	fail_to_pass: [report.TestJSON]   # must fail at base and pass after
//	pass_to_pass: [report.TestTable]  # must keep passing (default: every test passing at base)
package wofile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/moosehq/moose/clients/moose"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

// ErrInvalid marks every problem with the content of a work-order file.
var ErrInvalid = errors.New("invalid work order file")

// File is the YAML shape of a work order.
type File struct {
	ProjectID          string            `yaml:"project_id"`
	Title              string            `yaml:"title"`
	Description        string            `yaml:"description"`
	AcceptanceCriteria []string          `yaml:"acceptance_criteria"`
	Complexity         int32             `yaml:"complexity"`
	RequestID          string            `yaml:"request_id"`
	Metadata           map[string]string `yaml:"metadata"`
	// TestsRequired is nil when absent: tests are then required.
	TestsRequired *bool `yaml:"tests_required"`
	// BuildTimeout and TestTimeout are Go durations ("90s"); empty: not set.
	BuildTimeout moose.Duration `yaml:"build_timeout"`
	TestTimeout  moose.Duration `yaml:"test_timeout"`
	// Hidden acceptance tests and the tests that must go from failing to
	// passing or keep passing (see the API).
	AcceptanceTests     []moose.AcceptanceTest `yaml:"acceptance_tests"`
	AcceptanceTestPatch string                 `yaml:"acceptance_test_patch"`
	FailToPass          []string               `yaml:"fail_to_pass"`
	PassToPass          []string               `yaml:"pass_to_pass"`
}

// Fields are the keys a work-order file may contain, in documentation order.
var Fields = []string{"project_id", "title", "description", "acceptance_criteria", "complexity", "request_id", "metadata", "tests_required", "build_timeout", "test_timeout",
	"acceptance_tests", "acceptance_test_patch", "fail_to_pass", "pass_to_pass"}

// Load reads the file at path; "-" reads standard input from stdin.
func Load(path string, stdin io.Reader) (*moosev1.CreateWorkOrderRequest, error) {
	var data []byte
	var err error
	name := path
	if path == "-" {
		name = "<stdin>"
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read work order file: %w", err)
	}
	return Parse(name, data)
}

// Parse decodes one work order from YAML. name is used in error messages.
// Every unknown key is reported, not only the first.
func Parse(name string, data []byte) (*moosev1.CreateWorkOrderRequest, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: %w: the file is empty", name, ErrInvalid)
		}
		return nil, fmt.Errorf("%s: %w: %s", name, ErrInvalid, yamlMessage(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("%s: %w: line %d: more than one YAML document; a file holds one work order", name, ErrInvalid, extra.Line)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: %w: line %d: want a mapping of work order fields (%s)", name, ErrInvalid, root.Line, strings.Join(Fields, ", "))
	}
	var unknown []string
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i]
		if !slices.Contains(Fields, k.Value) {
			unknown = append(unknown, fmt.Sprintf("line %d: unknown field %q", k.Line, k.Value))
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%s: %w: %s (known fields: %s)", name, ErrInvalid, strings.Join(unknown, "; "), strings.Join(Fields, ", "))
	}
	var f File
	if err := root.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", name, ErrInvalid, yamlMessage(err))
	}
	return f.Request(), nil
}

// Request converts the file to the API's create request.
func (f *File) Request() *moosev1.CreateWorkOrderRequest {
	return &moosev1.CreateWorkOrderRequest{
		ProjectId:           f.ProjectID,
		Title:               f.Title,
		Description:         f.Description,
		AcceptanceCriteria:  f.AcceptanceCriteria,
		Complexity:          f.Complexity,
		RequestId:           f.RequestID,
		Metadata:            f.Metadata,
		TestsRequired:       f.TestsRequired,
		BuildTimeout:        f.BuildTimeout.Proto(),
		TestTimeout:         f.TestTimeout.Proto(),
		AcceptanceTests:     moose.AcceptanceTestsProto(f.AcceptanceTests),
		AcceptanceTestPatch: f.AcceptanceTestPatch,
		FailToPass:          f.FailToPass,
		PassToPass:          f.PassToPass,
	}
}

// yamlMessage strips yaml.v3's "yaml: unmarshal errors:" framing and Go type
// names, which mean nothing to someone writing a work order.
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			msgs[i] = strings.TrimSpace(m)
		}
		return strings.Join(msgs, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}
