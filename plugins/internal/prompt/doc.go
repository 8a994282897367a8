// Package prompt renders the messages a model-backed proposer or architect
// sends: a system prompt and one user message, both Go text/templates, and
// the sha256 hash of the result that is stored with every attempt.
//
// A variant may replace either template (VariantConfig.system_prompt and
// prompt_template); empty means the defaults below. Both templates are
// executed with a [Data] value, whose fields are the documented template
// interface:
//
//	.WorkOrder.Title, .WorkOrder.Description, .WorkOrder.AcceptanceCriteria,
//	.WorkOrder.Complexity, .WorkOrder.Metadata
//	.Project.Name, .Project.Language, .Project.FileTree ([]string),
//	.Project.Files and .Project.Manifests ([]File with .Path and .Content)
//	.Examples ([]Example with .Title, .Description, .AcceptanceCriteria, .Proposal)
//	.Cycle (1 first proposal, 2.. refinements), .Refinement (bool)
//	.PreviousProposal, .Findings ([]Finding with .File, .Line, .Column,
//	.Category, .Severity, .Message, .Source), .Feedback (build and test output)
//	.EditFormat ("whole", "diff" or "search_replace") and .EditInstructions
//	(how to write edits in that format, consistent with the host's extractor)
//	.Model, .Variant
//
// Template functions: join LIST SEP, fence TEXT LANG (a Markdown fence longer
// than any backtick run inside TEXT), lang PATH (fence language for a file
// name), inc N, trim, and cachebreak.
//
// # Prompt caching
//
// {{cachebreak}} writes nothing the model sees: it cuts the user message into
// parts ([Prompt.UserParts]) and says that everything before it is a prefix
// later calls repeat. The Anthropic proposer marks the system message and the
// end of each part but the last with cache_control, so a repeated prefix is
// read from the cache (at a tenth of the input price) instead of processed
// again; OpenAI caches the longest repeated prefix by itself, so all that
// matters there is that stable text comes first. The default user template
// therefore starts with the project (file tree and manifests: the same for
// every work order on a base commit), breaks, continues with the examples and
// the work order (the same for every cycle of it), breaks, and ends with what
// each cycle changes: the relevant files as they are now, the previous
// attempt, its findings and output, and the format instructions. A variant's
// own template caches best the same way: stable sections first, each ended
// by {{cachebreak}} (at most three count).
//
// The defaults ask for complete implementations with tests and no TODOs or
// stubs; on a refinement cycle they carry the previous answer, every finding
// and the exact failing build and test output.
package prompt
