// Package pipeline turns an approved work order into a proven, scored change.
//
// Approval enqueues an "execute work order" job in the approving transaction
// (River, on the same PostgreSQL). A worker runs one execution:
//
//	route → workspace → context → [propose → apply → validate]×cycles → score → publish → finish
//
// Each phase is an event on the work order. Nothing trusts the proposer: its
// text is parsed into edits (package edit), applied to a pooled git worktree
// (package workspace), and proven by validator plugins that run the project's
// own build and tests in a sandbox. When the build or tests fail, or the edits
// did not apply, the exact findings go back to the proposer for another cycle,
// up to MaxRefinements. Every cycle is stored as an attempt row.
//
// Refinement. Each refinement cycle's answer is applied to the tree the
// previous cycle left, not to the base commit: the model sees that tree's
// changed files and fixes them, so an answer that repeats an earlier
// cycle's addition is detected and reported "already applied" instead of
// being added twice. Refining stops at the first cycle whose result passes
// every gate, even when one of its edits did not apply: the score counts the
// edit that failed, and refining a passing tree only risks breaking it.
//
// Best cycle wins. The work order's result is its best cycle, not its last:
// passing beats failing, then the higher score, and ties go to the earlier
// cycle. Its failure reason leads with that cycle's decisive failure (the
// first compiler error, else the first failing test, at its file:line), then
// every gate that failed. Because cycles build on each other in one
// worktree, a best cycle that is not the last is rebuilt in a fresh worktree
// at the same base commit by replaying the stored cycles up to it (the same
// replay that resumes an interrupted execution), and its tree hash is
// checked against the one that was validated before anything is published.
//
// Durability. Delivery is at least once: a worker may run again after a crash,
// so every step is safe to repeat. The routing decision is recorded once and
// reused; attempts of an interrupted run are kept and numbered on; publishing
// finds an existing pull request by branch. Jobs of a crashed moosed are
// re-queued when it restarts (its River client id is stable per data
// directory), and River's rescuer picks up those of a node that never comes
// back. Cancelling a work order cancels its job; River delivers the cancel to
// whichever node runs it, whose context ends, which stops the plugin call and
// kills the sandboxed build.
package pipeline
