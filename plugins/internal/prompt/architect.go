package prompt

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/moosehq/moose/plugins/sdk"
)

// ErrPlan: an architect's answer holds no usable work orders.
var ErrPlan = errors.New("architect answer is not a valid plan")

// DefaultMaxWorkOrders bounds a plan when the request sets no limit.
const DefaultMaxWorkOrders = 20

// ArchitectData is what architect templates see: .Spec, .SpecName,
// .Project (as for proposers), .MaxWorkOrders and .Model.
type ArchitectData struct {
	Spec          string
	SpecName      string
	Project       Project
	MaxWorkOrders int
	Model         string
}

// DefaultArchitectSystem is the architect's system prompt when the config sets none.
const DefaultArchitectSystem = `You are a software architect. You split a technical spec into small, independent work orders that a programmer (or a code model) can each implement and test in one change.

Rules:
- Each work order is one coherent change of at most a few hundred lines, including its tests.
- Order them so that each builds only on the ones before it.
- Every work order has a short imperative title, a description of what to change and where, and acceptance criteria that a test can check.
- complexity is 1 (trivial) to 10 (hard): how much reasoning the change needs, not its length.
- Cover the whole spec and nothing beyond it. Do not plan work that the repository already does.
- Answer with one JSON object and nothing else:
  {"work_orders": [{"title": "...", "description": "...", "acceptance_criteria": ["..."], "complexity": 3}]}
`

// DefaultArchitectUser is the architect's user-message template when the config sets none.
const DefaultArchitectUser = `# Spec{{with .SpecName}}: {{.}}{{end}}

{{.Spec}}
{{- if or .Project.Name .Project.Language}}

# Project
{{with .Project.Name}}
Name: {{.}}{{end}}{{with .Project.Language}}
Language: {{.}}{{end}}
{{end}}
{{- with .Project.FileTree}}

# Files in the repository

{{range .}}{{.}}
{{end}}{{end}}
{{- with .Project.Manifests}}
{{range .}}
{{.Path}}
{{fence .Content (lang .Path)}}
{{end}}{{end}}

Split the spec into at most {{.MaxWorkOrders}} work orders and answer with the JSON object only.
`

// NewArchitectData converts a decompose request to template data.
func NewArchitectData(req *sdk.DecomposeRequest) ArchitectData {
	n := int(req.GetMaxWorkOrders())
	if n <= 0 {
		n = DefaultMaxWorkOrders
	}
	return ArchitectData{
		Spec:          req.GetSpec(),
		SpecName:      req.GetSpecName(),
		Project:       projectOf(req.GetProject()),
		MaxWorkOrders: n,
		Model:         req.GetConfig().GetModel(),
	}
}

// RenderArchitect renders the architect prompt for req with the config's
// templates, or the defaults where it has none.
func RenderArchitect(req *sdk.DecomposeRequest) (Prompt, error) {
	c := req.GetConfig()
	return RenderWith(firstNonEmpty(c.GetSystemPrompt(), DefaultArchitectSystem),
		firstNonEmpty(c.GetPromptTemplate(), DefaultArchitectUser), NewArchitectData(req))
}

// PlannedWorkOrder is one work order of an architect's JSON answer.
type PlannedWorkOrder struct {
	Title              string   `json:"title" yaml:"title"`
	Description        string   `json:"description" yaml:"description"`
	AcceptanceCriteria []string `json:"acceptance_criteria" yaml:"acceptance_criteria"`
	Complexity         int      `json:"complexity" yaml:"complexity"`
}

// Proto converts w to the wire type; complexity is clamped to 1..10
// (missing: 5), whitespace trimmed, empty criteria dropped.
func (w PlannedWorkOrder) Proto() *sdk.WorkOrder {
	c := w.Complexity
	switch {
	case c == 0:
		c = 5
	case c < 1:
		c = 1
	case c > 10:
		c = 10
	}
	var crit []string
	for _, a := range w.AcceptanceCriteria {
		if a = strings.TrimSpace(a); a != "" {
			crit = append(crit, a)
		}
	}
	return &sdk.WorkOrder{
		Title:              strings.TrimSpace(w.Title),
		Description:        strings.TrimSpace(w.Description),
		AcceptanceCriteria: crit,
		Complexity:         int32(c),
	}
}

// ParsePlan reads an architect's answer: a JSON object with a work_orders
// array (or a bare array), optionally inside a ```json fence or surrounded by
// prose. At most limit work orders are returned (limit <= 0: no limit).
func ParsePlan(text string, limit int) ([]*sdk.WorkOrder, error) {
	body := extractJSON(text)
	if body == "" {
		return nil, fmt.Errorf("%w: no JSON object found", ErrPlan)
	}
	var plan struct {
		WorkOrders []PlannedWorkOrder `json:"work_orders"`
	}
	if strings.HasPrefix(body, "[") {
		if err := json.Unmarshal([]byte(body), &plan.WorkOrders); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPlan, err)
		}
	} else if err := json.Unmarshal([]byte(body), &plan); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPlan, err)
	}
	var out []*sdk.WorkOrder
	for i, w := range plan.WorkOrders {
		p := w.Proto()
		if p.GetTitle() == "" {
			return nil, fmt.Errorf("%w: work order %d has no title", ErrPlan, i+1)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: it lists no work orders", ErrPlan)
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// extractJSON returns the outermost JSON object or array in text, preferring
// the contents of a ```json fence.
func extractJSON(text string) string {
	if i := strings.Index(text, "```json"); i >= 0 {
		rest := text[i+len("```json"):]
		if j := strings.Index(rest, "```"); j >= 0 {
			text = rest[:j]
		}
	}
	text = strings.TrimSpace(text)
	start := strings.IndexAny(text, "{[")
	if start < 0 {
		return ""
	}
	closer := "}"
	if text[start] == '[' {
		closer = "]"
	}
	end := strings.LastIndex(text, closer)
	if end < start {
		return ""
	}
	return text[start : end+1]
}
