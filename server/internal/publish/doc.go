// Package publish turns a finished work order into something a person can
// review: a branch on a git remote and, for projects on GitHub, a pull request
// carrying the evidence.
//
// # Commits
//
// The work order's worktree is left exactly as it is. The change is recorded
// with plumbing (a private copy of the index, `git add -A`, `write-tree`,
// `commit-tree` with BaseCommit as the only parent), so HEAD, the real index
// and the files are untouched and the workspace pool's reset (checkout -f
// --detach, clean, delete branches) works as for any other workspace. The
// commit is pushed by id to refs/heads/<branch> of an explicit URL with
// --force: the worktree's own remotes are never consulted, and publishing the
// same work order again moves the branch to the new commit.
//
// # Publishers
//
//   - Git pushes to any URL git can push to (a local bare repository for the
//     demo) and reports "<remote>#<branch>".
//   - GitHub pushes over https with the token in an http.extraHeader passed
//     through git's environment (never in a URL, never on a command line), then
//     finds the work order's pull request by head branch and edits it, reopens
//     it, or creates one; labels say the outcome (moose:completed or
//     moose:needs-review).
//   - Router picks one of them per project repository URL.
//
// # Idempotence and the crash window
//
// Nothing is remembered between calls: the branch name is the key. A retry
// after a crash between pushing and recording lists pull requests by head
// branch and finds the one the first attempt opened, so a work order has at
// most one open pull request. If GitHub's list lags and the create answers 422
// "A pull request already exists", the publisher lists again and updates that
// one. A closed pull request is reopened before the branch is force-pushed,
// because GitHub refuses to reopen one whose branch was force-pushed while it
// was closed; if it still refuses, a new pull request is opened.
//
// # Errors
//
// Every error wraps fault.ErrUnavailable (retrying later can help: rate
// limits beyond MaxWait, 5xx, dropped connections) or
// fault.ErrFailedPrecondition (it cannot: bad token, missing repository, no
// change to publish). Rate limits shorter than MaxWait are waited out inside
// Publish, honouring the context. The token is redacted from every error and
// log line.
package publish
