package score

import (
	"path"
	"strings"
)

// codeExts are the extensions of source code in the languages Moose
// validates or whose stubs it recognises. Anything else (Markdown, JSON,
// YAML, TOML, lock files, go.mod, images) is documentation or configuration.
var codeExts = map[string]bool{
	".go": true, ".ts": true, ".tsx": true, ".js": true, ".jsx": true, ".mjs": true, ".cjs": true,
	".mts": true, ".cts": true, ".py": true, ".rs": true, ".java": true, ".kt": true, ".c": true,
	".h": true, ".cc": true, ".cpp": true, ".hpp": true, ".rb": true, ".swift": true, ".cs": true,
	".php": true, ".scala": true, ".vue": true, ".svelte": true, ".sh": true,
}

// isCode reports whether p (relative, forward or back slashes) is source code.
func isCode(p string) bool {
	return codeExts[strings.ToLower(path.Ext(strings.ReplaceAll(p, "\\", "/")))]
}

// isTestPath reports whether p is a test file: Go's _test.go, JavaScript's
// .test./.spec. files, code under __tests__/, test/ or tests/, and Python's
// test_*.py. It follows the validators' own rule (plugins/internal/check).
func isTestPath(p string) bool {
	p = strings.ReplaceAll(p, "\\", "/")
	base := path.Base(p)
	if strings.HasSuffix(base, "_test.go") || strings.Contains(base, ".test.") || strings.Contains(base, ".spec.") {
		return true
	}
	if stem := strings.TrimSuffix(base, path.Ext(base)); isCode(base) && (stem == "test" || stem == "tests" ||
		strings.HasPrefix(stem, "test_") || strings.HasSuffix(stem, "_test") || strings.HasSuffix(stem, "_spec")) {
		return true // test.sh, test_parse.py, parse_test.rb
	}
	for _, seg := range strings.Split(path.Dir(p), "/") {
		if seg == "__tests__" || seg == "test" || seg == "tests" {
			return isCode(base)
		}
	}
	return false
}

// sourceChanges splits the changed paths into non-test source files and
// reports whether any test file changed.
func sourceChanges(changed []string) (source []string, tests bool) {
	for _, p := range changed {
		switch {
		case isTestPath(p):
			tests = true
		case isCode(p):
			source = append(source, p)
		}
	}
	return source, tests
}
