package prompt

import "github.com/moosehq/moose/plugins/sdk/editformat"

// DefaultSystem is the system prompt of a variant that sets none.
const DefaultSystem = `You are a senior software engineer making one change to an existing {{with .Project.Language}}{{.}} {{end}}repository.
You receive a work order and answer with the complete change that implements it.

Rules:
- Implement the work order completely. Never leave TODO or FIXME comments, stubs, placeholders, "not implemented" errors or panics, or code elided with "...".
- Add or update tests that prove every acceptance criterion, next to the code they test and in the project's existing test style. The project's build and test commands must pass with your change applied.
- Keep existing behaviour and public APIs unless the work order asks to change them, and follow the surrounding code's conventions.
- Use only the language's standard library and the dependencies already listed in the project's manifests.
- Write every change in the edit format described in the work order message; changes written any other way are lost. Keep any explanation to a sentence or two.
`

// DefaultUser is the user-message template of a variant that sets none.
//
// What changes least comes first, so that providers can cache the prefix:
// the project (name, language, file tree, manifests: the same for every work
// order on one base commit), then the examples and the work order itself (the
// same for every cycle of one work order), and only then what each cycle
// changes (the relevant files as they are now, the previous attempt and its
// failures). Each {{cachebreak}} ends one of those stable parts. The task and
// the format instructions close the message, where models follow them best.
const DefaultUser = `{{- if or .Project.Name .Project.Language .Project.FileTree .Project.Manifests}}
# Project
{{with .Project.Name}}
Name: {{.}}{{end}}{{with .Project.Language}}
Language: {{.}}{{end}}
{{end}}
{{- with .Project.FileTree}}
## Files in the repository

{{range .}}{{.}}
{{end}}{{end}}
{{- with .Project.Manifests}}
## Dependency manifests
{{range .}}
{{.Path}}
{{fence .Content (lang .Path)}}
{{end}}{{end}}
{{- cachebreak}}
{{- with .Examples}}
# Accepted answers to similar work orders
{{range $i, $e := .}}
## Example {{inc $i}}: {{$e.Title}}
{{with $e.AcceptanceCriteria}}
Acceptance criteria:
{{range .}}- {{.}}
{{end}}{{end}}
{{fence $e.Proposal ""}}
{{end}}{{end}}
# Work order: {{.WorkOrder.Title}}
{{with .WorkOrder.Description}}
{{.}}
{{end}}
{{- with .WorkOrder.AcceptanceCriteria}}
## Acceptance criteria

{{range .}}- {{.}}
{{end}}{{end}}
{{- cachebreak}}
{{- with .Project.Files}}
## Relevant files{{if $.Refinement}} (as they are now, with your previous attempt applied){{end}}
{{range .}}
{{.Path}}
{{fence .Content (lang .Path)}}
{{end}}{{end}}
{{- if .Refinement}}
## Your previous attempt failed (this is attempt {{.Cycle}})
{{with .PreviousProposal}}
Your previous answer:

{{fence . ""}}
{{end}}
{{- with .Findings}}
Problems found in it:

{{range .}}- {{with .Location}}{{.}}: {{end}}{{with .Category}}[{{.}}] {{end}}{{.Message}}{{with .Source}} ({{.}}){{end}}
{{end}}{{end}}
{{- with .Feedback}}
The exact build and test output:

{{fence . "text"}}
{{end}}
Fix every problem above. Write your corrections against the files as they are now; keep the parts of your previous attempt that worked.
{{end}}
## How to write your answer

{{.EditInstructions}}
`

// Instructions returns how to write edits in format ("whole", "diff",
// "search_replace", or the extractor's names "whole_file", "unified_diff"):
// the shared text of plugins/sdk/editformat, which the host's extractor parses.
func Instructions(format string) string { return editformat.Instructions(format) }
