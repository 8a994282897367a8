// Package output renders moosectl results: aligned tables for people and
// protojson for scripts. Command groups call these helpers rather than
// printing themselves, so every command formats ids, times, statuses and
// JSON the same way.
package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Format is an output format chosen with -o.
type Format string

const (
	// Table is aligned columns for people (the default).
	Table Format = "table"
	// JSON is protojson with proto (snake_case) field names: one indented
	// document per command, one compact line per event for streams.
	JSON Format = "json"
)

// ErrUnknownFormat is returned by ParseFormat.
var ErrUnknownFormat = errors.New("unknown output format")

// ParseFormat checks a -o value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case Table, JSON:
		return f, nil
	}
	return "", fmt.Errorf("%w %q (want table or json)", ErrUnknownFormat, s)
}

// marshalOptions match the REST gateway: proto field names, every field
// present so scripts can rely on keys existing.
var marshalOptions = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}

// WriteJSON writes m as one indented JSON document followed by a newline.
func WriteJSON(w io.Writer, m proto.Message) error {
	raw, err := marshalOptions.Marshal(m)
	if err != nil {
		return fmt.Errorf("marshal %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	// protojson deliberately varies its whitespace between builds; re-indent
	// so the output is stable.
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return fmt.Errorf("indent json: %w", err)
	}
	buf.WriteByte('\n')
	_, err = w.Write(buf.Bytes())
	return err
}

// WriteJSONLine writes m as one compact JSON line (newline-delimited JSON),
// for streams such as wo watch.
func WriteJSONLine(w io.Writer, m proto.Message) error {
	raw, err := marshalOptions.Marshal(m)
	if err != nil {
		return fmt.Errorf("marshal %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return fmt.Errorf("compact json: %w", err)
	}
	buf.WriteByte('\n')
	_, err = w.Write(buf.Bytes())
	return err
}

// TableWriter aligns tab-separated cells. Call Row per line and Flush once.
type TableWriter struct {
	tw *tabwriter.Writer
}

// NewTable starts a table on w; header may be empty for key/value blocks.
func NewTable(w io.Writer, header ...string) *TableWriter {
	t := &TableWriter{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	if len(header) > 0 {
		t.Row(header...)
	}
	return t
}

// Row writes one line of cells. Tabs and newlines inside a cell are replaced
// by spaces so one value cannot break the layout; empty cells show as "-".
func (t *TableWriter) Row(cells ...string) {
	t.write(cells, Cell)
}

// Continuation writes a line that continues the previous row (a further
// reason, say): empty cells stay blank instead of showing "-".
func (t *TableWriter) Continuation(cells ...string) {
	t.write(cells, oneLine)
}

func (t *TableWriter) write(cells []string, format func(string) string) {
	for i, c := range cells {
		if i > 0 {
			fmt.Fprint(t.tw, "\t")
		}
		fmt.Fprint(t.tw, format(c))
	}
	fmt.Fprint(t.tw, "\n")
}

// Flush writes the aligned table.
func (t *TableWriter) Flush() error { return t.tw.Flush() }

// Cell makes s safe for one table cell: control whitespace becomes a space,
// and an empty value is shown as "-" so columns never look shifted.
func Cell(s string) string {
	s = oneLine(s)
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

// oneLine replaces tabs and line breaks with spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// Truncate shortens s to at most n runes, marking the cut with "…".
func Truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 1 {
		return string(r[:n])
	}
	return string(r[:n-1]) + "…"
}

// Time formats a timestamp in UTC to the second; "-" when unset.
func Time(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return "-"
	}
	return ts.AsTime().UTC().Format(time.RFC3339)
}
