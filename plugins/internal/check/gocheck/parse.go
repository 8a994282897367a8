package gocheck

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/moosehq/moose/plugins/internal/check"
)

// diagLine matches "path/file.go:12:5: message" (column optional), with vet's "vet: " prefix
// for type errors it found while loading packages.
var diagLine = regexp.MustCompile(`^(vet: )?((?:[A-Za-z]:)?[^\s:][^:]*\.go):(\d+)(?::(\d+))?: (.*)$`)

// ParseCompilerOutput turns `go build`, `go vet` and `go test` build output into findings.
// dir is the worktree, used to relativise absolute paths. fallback is the category of a
// positioned line whose message matches no known compiler error: check.CategoryVet for vet
// output, check.CategoryTypeError otherwise. Continuation lines (indented "have/want"
// detail) are appended to the previous finding. Duplicates are dropped.
func ParseCompilerOutput(dir, out, fallback string) []check.Finding {
	var findings []check.Finding
	seen := map[string]bool{}
	last := -1
	for _, raw := range strings.Split(out, "\n") {
		line := strings.TrimRight(raw, "\r")
		if strings.HasPrefix(line, "\t") && last >= 0 {
			findings[last].Message += "\n" + strings.TrimSpace(line)
			continue
		}
		m := diagLine.FindStringSubmatch(line)
		if m == nil {
			last = -1
			if f, ok := positionless(line); ok && !seen[f.Message] {
				seen[f.Message] = true
				findings = append(findings, f)
			}
			continue
		}
		lineNo, _ := strconv.Atoi(m[3])
		col, _ := strconv.Atoi(m[4])
		msg := m[5]
		category := classify(msg, fallback, m[1] != "")
		key := m[2] + ":" + m[3] + ":" + m[4] + ":" + msg
		if seen[key] {
			last = -1
			continue
		}
		seen[key] = true
		findings = append(findings, check.Finding{
			File:     check.RelPath(dir, m[2]),
			Line:     lineNo,
			Column:   col,
			Category: category,
			Severity: check.SeverityError,
			Message:  msg,
		})
		last = len(findings) - 1
	}
	return findings
}

// positionless recognises errors that name no file, such as a missing module.
func positionless(line string) (check.Finding, bool) {
	l := strings.TrimSpace(line)
	for _, p := range []string{
		"no required module provides package", "cannot find module providing package",
		"missing go.sum entry", "is not in std", "cannot find package",
	} {
		if strings.Contains(l, p) {
			return check.Finding{Category: check.CategoryMissingDependency, Severity: check.SeverityError, Message: l}, true
		}
	}
	if strings.HasPrefix(l, "go: ") && strings.Contains(l, "go.mod") {
		return check.Finding{File: "go.mod", Category: check.CategoryBuildError, Severity: check.SeverityError, Message: l}, true
	}
	return check.Finding{}, false
}

var (
	undefinedRe = regexp.MustCompile(`^undefined: ([A-Za-z_][A-Za-z0-9_]*)$`)
	vetMsgRe    = regexp.MustCompile(`\b[A-Za-z]*(Printf|Sprintf|Errorf|Fprintf|Logf|Fatalf|Panicf|Println|Print)\b.*(format|directive|arg|call)|possible misuse|unreachable code|self-assignment|lock by value|should not|result of|Test[A-Za-z]* has malformed|comparison of function`)
)

// classify maps a compiler or vet message to a finding category. fromVetLoader marks vet's
// "vet: " lines, which are type errors rather than analyzer reports.
func classify(msg, fallback string, fromVetLoader bool) string {
	switch {
	case strings.HasPrefix(msg, "syntax error"), strings.HasPrefix(msg, "expected "),
		strings.Contains(msg, "illegal character"), strings.Contains(msg, "not terminated"),
		strings.HasPrefix(msg, "missing ',' "), strings.Contains(msg, "unexpected newline"):
		return check.CategorySyntaxError
	case strings.Contains(msg, "imported and not used"), strings.Contains(msg, "imported as ") && strings.Contains(msg, "not used"):
		return check.CategoryUnusedImport
	case strings.HasPrefix(msg, "declared and not used"), strings.HasSuffix(msg, "declared and not used"):
		return check.CategoryUnusedVariable
	case strings.Contains(msg, "could not import"), strings.Contains(msg, "no required module provides package"),
		strings.Contains(msg, "cannot find package"), strings.Contains(msg, "is not in std"),
		strings.Contains(msg, "missing go.sum entry"):
		return check.CategoryMissingDependency
	}
	if m := undefinedRe.FindStringSubmatch(msg); m != nil {
		if stdlibNames[m[1]] {
			return check.CategoryMissingImport
		}
		return check.CategoryUndefinedSymbol
	}
	if strings.HasPrefix(msg, "undefined: ") || strings.Contains(msg, " undefined (") ||
		strings.Contains(msg, "has no field or method") || strings.Contains(msg, "not declared by package") {
		return check.CategoryUndefinedSymbol
	}
	if fallback == check.CategoryVet && !fromVetLoader {
		return check.CategoryVet
	}
	if vetMsgRe.MatchString(msg) && !fromVetLoader {
		return check.CategoryVet
	}
	if fallback == check.CategoryVet {
		return check.CategoryTypeError
	}
	return fallback
}

// stdlibNames are the names standard-library packages are used by, so that "undefined: x"
// can be told apart as a missing import.
var stdlibNames = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(`
		adler32 aes ascii85 asn1 ast atomic base32 base64 big binary bisect bits bufio build
		bytes bzip2 cgi cgo cipher cmp cmplx color constant constraint context cookiejar crc32
		crc64 crypto csv debug des dsa dwarf ecdh ecdsa ed25519 elf elliptic embed encoding
		errors exec expvar fcgi filepath flag flate fmt fnv format fs gif gob gosym gzip hash
		heap hex hmac html http httptest httptrace httputil image importer io iotest ioutil
		iter jpeg json jsonrpc list log lzw macho mail maps math md5 mime multipart net netip
		os palette parse parser path pe pem pkix plan9obj png pprof printer quick quotedprintable
		rand rc4 reflect regexp ring rpc rsa runtime scanner sha1 sha256 sha3 sha512 signal slices
		slog smtp sort strconv strings structs subtle suffixarray sync syntax syscall syslog
		tabwriter tar template testing textproto time token tls trace types unicode unique unsafe
		url user utf16 utf8 weak x509 xml zip zlib`) {
		m[n] = true
	}
	return m
}()
