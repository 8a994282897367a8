package prompt

import (
	"github.com/moosehq/moose/plugins/sdk/editformat"

	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strings"
	"text/template"

	"github.com/moosehq/moose/plugins/sdk"
	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
)

// ErrTemplate: a variant's template does not parse or fails to execute.
var ErrTemplate = errors.New("invalid prompt template")

// Prompt is a rendered prompt: what is sent to the model, and its hash.
type Prompt struct {
	System string
	User   string
	// UserParts is User cut at the template's cache breakpoints
	// ({{cachebreak}}): joined, they are User. Every part but the last ends a
	// prefix that stays the same across calls, which a provider that caches
	// on explicit breakpoints (Anthropic's cache_control) marks; the system
	// message is such a prefix too. A template without breakpoints has one part.
	UserParts []string
	// Hash is the hex sha256 of the system and user messages (length-prefixed,
	// so moving text between them changes the hash).
	Hash string
}

// MaxCacheBreaks is how many breakpoints a user message keeps: Anthropic
// takes four cache_control marks per request, and the system message uses
// one. Later {{cachebreak}}s are ignored.
const MaxCacheBreaks = 3

// Data is what templates see. Its fields are the template interface: renaming
// one breaks variants' templates.
type Data struct {
	WorkOrder        WorkOrder
	Project          Project
	Examples         []Example
	Cycle            int
	Refinement       bool
	PreviousProposal string
	Findings         []Finding
	Feedback         string
	EditFormat       string
	EditInstructions string
	Model            string
	Variant          string
}

// WorkOrder is the work order as templates see it.
type WorkOrder struct {
	Title              string
	Description        string
	AcceptanceCriteria []string
	Complexity         int
	Metadata           map[string]string
}

// Project is the project context as templates see it.
type Project struct {
	Name      string
	Language  string
	FileTree  []string
	Files     []File
	Manifests []File
}

// File is a path and its contents.
type File struct {
	Path    string
	Content string
}

// Example is an accepted past answer to a similar work order.
type Example struct {
	Title              string
	Description        string
	AcceptanceCriteria []string
	Proposal           string
}

// Finding is one problem that failed the previous attempt.
type Finding struct {
	File     string
	Line     int
	Column   int
	Category string
	Severity string
	Message  string
	Source   string
}

// Location is "file:line:column" with the parts that are known.
func (f Finding) Location() string {
	switch {
	case f.File == "":
		return ""
	case f.Line <= 0:
		return f.File
	case f.Column <= 0:
		return fmt.Sprintf("%s:%d", f.File, f.Line)
	default:
		return fmt.Sprintf("%s:%d:%d", f.File, f.Line, f.Column)
	}
}

// NewData converts a propose request to template data. The variant's
// few_shot_count, when positive, caps the examples; the edit format is the
// variant's, else the request's, else whole files.
func NewData(req *sdk.ProposeRequest) Data {
	wo := req.GetWorkOrder()
	v := req.GetVariant()
	format := CanonicalFormat(firstNonEmpty(v.GetEditFormat(), req.GetEditFormat()))
	d := Data{
		WorkOrder: WorkOrder{
			Title:              wo.GetTitle(),
			Description:        wo.GetDescription(),
			AcceptanceCriteria: wo.GetAcceptanceCriteria(),
			Complexity:         int(wo.GetComplexity()),
			Metadata:           wo.GetMetadata(),
		},
		Project:          projectOf(req.GetProject()),
		Cycle:            max(int(req.GetCycle()), 1),
		PreviousProposal: req.GetPreviousProposal(),
		Feedback:         req.GetFeedback(),
		EditFormat:       format,
		EditInstructions: Instructions(format),
		Model:            v.GetModel(),
		Variant:          v.GetName(),
	}
	d.Refinement = d.Cycle > 1 || d.PreviousProposal != "" || len(req.GetFindings()) > 0 || d.Feedback != ""
	examples := req.GetExamples()
	if n := int(v.GetFewShotCount()); n > 0 && len(examples) > n {
		examples = examples[:n]
	}
	for _, e := range examples {
		d.Examples = append(d.Examples, Example{
			Title:              e.GetWorkOrder().GetTitle(),
			Description:        e.GetWorkOrder().GetDescription(),
			AcceptanceCriteria: e.GetWorkOrder().GetAcceptanceCriteria(),
			Proposal:           e.GetProposal(),
		})
	}
	for _, f := range req.GetFindings() {
		d.Findings = append(d.Findings, Finding{
			File: f.GetFile(), Line: int(f.GetLine()), Column: int(f.GetColumn()),
			Category: f.GetCategory(), Severity: severity(f.GetSeverity()),
			Message: f.GetMessage(), Source: f.GetSource(),
		})
	}
	return d
}

func projectOf(p *sdk.ProjectContext) Project {
	out := Project{Name: p.GetName(), Language: p.GetLanguage(), FileTree: p.GetFileTree()}
	for _, f := range p.GetFiles() {
		out.Files = append(out.Files, File{Path: f.GetPath(), Content: f.GetContent()})
	}
	for _, f := range p.GetManifests() {
		out.Manifests = append(out.Manifests, File{Path: f.GetPath(), Content: f.GetContent()})
	}
	return out
}

func severity(s pluginv1.Severity) string {
	switch s {
	case pluginv1.Severity_SEVERITY_ERROR:
		return "error"
	case pluginv1.Severity_SEVERITY_WARNING:
		return "warning"
	case pluginv1.Severity_SEVERITY_INFO:
		return "info"
	}
	return ""
}

// Render renders the proposer prompt for req with the variant's templates, or
// the defaults where the variant has none.
func Render(req *sdk.ProposeRequest) (Prompt, error) {
	v := req.GetVariant()
	return RenderWith(firstNonEmpty(v.GetSystemPrompt(), DefaultSystem), firstNonEmpty(v.GetPromptTemplate(), DefaultUser), NewData(req))
}

// RenderWith executes the two templates with data.
func RenderWith(systemTmpl, userTmpl string, data any) (Prompt, error) {
	mark, err := breakMarker()
	if err != nil {
		return Prompt{}, err
	}
	sys, err := execute("system_prompt", systemTmpl, data, mark)
	if err != nil {
		return Prompt{}, err
	}
	// The system message is one block, cached whole: breakpoints in it mean nothing.
	sys = strings.ReplaceAll(sys, mark, "")
	user, err := execute("prompt_template", userTmpl, data, mark)
	if err != nil {
		return Prompt{}, err
	}
	parts := splitParts(user, mark)
	user = strings.Join(parts, "")
	return Prompt{System: sys, User: user, UserParts: parts, Hash: Hash(sys, user)}, nil
}

// breakMarker is what {{cachebreak}} writes for one render: random, so no
// file content or work order text can fake a breakpoint.
func breakMarker() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("prompt cache marker: %w", err)
	}
	return "\x00cachebreak-" + hex.EncodeToString(b[:]) + "\x00", nil
}

// splitParts cuts text at the markers. A part with nothing but white space
// (an empty section between two breakpoints) joins the next, since a model
// API refuses blank blocks; past MaxCacheBreaks the rest is one part.
func splitParts(text, mark string) []string {
	var parts []string
	pending := ""
	for _, p := range strings.Split(text, mark) {
		if strings.TrimSpace(p) == "" {
			pending += p
			continue
		}
		parts = append(parts, pending+p)
		pending = ""
	}
	if len(parts) == 0 {
		return []string{strings.TrimSpace(pending) + "\n"}
	}
	parts[len(parts)-1] += pending
	if len(parts) > MaxCacheBreaks+1 {
		parts = append(parts[:MaxCacheBreaks], strings.Join(parts[MaxCacheBreaks:], ""))
	}
	// Like a message without breakpoints: no leading space, one final newline.
	parts[0] = strings.TrimLeft(parts[0], " \t\r\n")
	last := len(parts) - 1
	parts[last] = strings.TrimRight(parts[last], " \t\r\n") + "\n"
	return parts
}

// Hash is the hex sha256 of a system and a user message.
func Hash(system, user string) string {
	h := sha256.New()
	fmt.Fprintf(h, "system %d\n%s\nuser %d\n%s", len(system), system, len(user), user)
	return hex.EncodeToString(h.Sum(nil))
}

func execute(name, text string, data any, mark string) (string, error) {
	t, err := template.New(name).Funcs(funcs).Funcs(template.FuncMap{"cachebreak": func() string { return mark }}).
		Option("missingkey=zero").Parse(text)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrTemplate, name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrTemplate, name, err)
	}
	return strings.TrimSpace(b.String()) + "\n", nil
}

var funcs = template.FuncMap{
	"join":  func(list []string, sep string) string { return strings.Join(list, sep) },
	"fence": Fence,
	"lang":  Lang,
	"inc":   func(i int) int { return i + 1 },
	"trim":  strings.TrimSpace,
}

// Fence wraps text in a Markdown code fence longer than any run of backticks
// inside it, so file contents that contain fences cannot end the block early.
func Fence(text, lang string) string {
	longest, run := 0, 0
	for _, r := range text {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	f := strings.Repeat("`", max(3, longest+1))
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	return f + lang + "\n" + text + f
}

// Lang is the fence language for a file path ("" when unknown).
func Lang(p string) string {
	switch path.Base(p) {
	case "go.mod", "go.sum":
		return ""
	case "Makefile":
		return "make"
	case "Dockerfile":
		return "dockerfile"
	}
	switch strings.ToLower(path.Ext(p)) {
	case ".go":
		return "go"
	case ".ts", ".tsx":
		return "ts"
	case ".js", ".mjs", ".cjs", ".jsx":
		return "js"
	case ".py":
		return "python"
	case ".rs":
		return "rust"
	case ".java":
		return "java"
	case ".json":
		return "json"
	case ".yaml", ".yml":
		return "yaml"
	case ".md":
		return "markdown"
	case ".sh":
		return "sh"
	case ".sql":
		return "sql"
	case ".toml":
		return "toml"
	}
	return ""
}

// CanonicalFormat maps the edit format names used by variants ("whole",
// "diff", "search_replace") and by the host's extractor ("whole_file",
// "unified_diff") to the variant names; unknown or empty is "whole".
func CanonicalFormat(f string) string { return editformat.Canonical(f) }

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
