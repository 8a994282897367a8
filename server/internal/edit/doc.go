// Package edit turns a proposer's free-text answer into file edits and applies
// them to a worktree.
//
// Models write changes in three shapes, and a single answer may mix them:
//
//   - whole files in fenced code blocks, the path on the line before the fence
//     or in the fence's info string (FormatWholeFile);
//   - unified diffs, fenced or bare, with git or plain headers (FormatUnifiedDiff);
//   - Aider-style SEARCH/REPLACE blocks (FormatSearchReplace).
//
// Parse recognises all three without being told which to expect, because
// models drift from the format they were asked for, especially small ones.
// Apply then edits a directory tree. Both are built for untrusted input: a
// malformed block, SEARCH text that is not in the file, or a path that would
// leave the worktree becomes a Finding (never a panic, never a write outside
// the root), and every other edit still applies.
//
// Findings are written to be fed back to the model verbatim on the next
// refinement cycle, so they name the block number, the file, and for text that
// did not match, the closest lines of the real file with their line numbers:
// Aider's published numbers show unmatched SEARCH text is the most common
// failure loop, and precise feedback is what breaks it.
//
// Matching is deliberately forgiving in ways that cannot change meaning:
// diff hunks are located by their context and removed lines nearest to the
// stated line number (LLM hunk headers are often wrong), then the same
// ignoring trailing whitespace, then ignoring indentation (re-indenting the
// new lines to fit). Line endings of an existing file are preserved.
//
// Render gives the prompt text that asks a model for a given format; the tests
// feed Render's own examples through Parse and Apply so the two cannot drift.
package edit
