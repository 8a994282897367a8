package jscheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/moosehq/moose/plugins/internal/check"
)

// CategoryFailedAssertion is a console.assert that failed during a test run.
const CategoryFailedAssertion = "failed_assertion"

// assertPreload makes console.assert throw, so that a test asserting with it
// fails like any other failed assertion (under node, console.assert only
// prints "Assertion failed" and the run still exits 0). It is loaded with
// NODE_OPTIONS=--require, which reaches every node process of the run (test
// runners' forks and worker threads included) without touching the project's
// files or configuration. Patching Console.prototype as well as the global
// console covers the consoles runners such as vitest create for each test
// file (node binds prototype methods when a Console is constructed).
// Runners whose console overrides assert itself (jest's) are caught by
// scanning the output instead (assertionFindings).
const assertPreload = `'use strict';
(function () {
  const show = (v) => { if (typeof v === 'string') return v; try { return JSON.stringify(v); } catch (e) { return String(v); } };
  function assert(cond, ...args) {
    if (cond) return;
    const err = new Error('Assertion failed' + (args.length ? ': ' + args.map(show).join(' ') : ''));
    err.name = 'AssertionError';
    throw err;
  }
  try { require('node:console').Console.prototype.assert = assert; } catch (e) {}
  try { globalThis.console.assert = assert; } catch (e) {}
})();
`

// writeAssertPreload writes the preload into dir (outside the worktree) and
// returns the NODE_OPTIONS value that loads it, keeping any options the
// environment already had.
func writeAssertPreload(dir, existing string) (string, error) {
	p := filepath.Join(dir, "moose-assert.cjs")
	if err := os.WriteFile(p, []byte(assertPreload), 0o644); err != nil {
		return "", fmt.Errorf("write assert preload: %w", err)
	}
	opt := "--require=" + p
	if existing != "" {
		opt = existing + " " + opt
	}
	return opt, nil
}

// failedAssertRe matches what node, vitest and jest print for a failed
// console.assert: "Assertion failed[: message]" (node's Console) and jest's
// "console.assert" block followed by an AssertionError.
var failedAssertRe = regexp.MustCompile(`(?m)Assertion failed[^\n]*|console\.assert\s*\n\s*AssertionError[^\n]*`)

// assertionFindings reports each failed console.assert in a run's output.
func assertionFindings(log string) []check.Finding {
	var out []check.Finding
	seen := map[string]bool{}
	for _, m := range failedAssertRe.FindAllString(log, 20) {
		msg := strings.Join(strings.Fields(m), " ")
		if seen[msg] {
			continue
		}
		seen[msg] = true
		out = append(out, check.Finding{Category: CategoryFailedAssertion, Severity: check.SeverityError,
			Message: "a console.assert failed during the tests (" + check.TrimLog(msg, 300) + "): the run only printed it, so it counts as a failing test"})
	}
	return out
}
