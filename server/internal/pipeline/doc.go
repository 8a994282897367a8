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
