package criteria

import (
	"fmt"

	"github.com/moosehq/moose/plugins/internal/check"
)

// Failed is the finding for an example that does not hold, in file (where
// its function is declared); detail says what the call did ("" when the
// run said nothing more).
func Failed(e Example, file, detail string) check.Finding {
	msg := e.Describe() + " does not hold"
	if detail != "" {
		msg += ": " + detail
	}
	return check.Finding{File: file, Category: check.CategoryCriterion, Severity: check.SeverityError, Message: msg}
}

// Checked is the note of a run: held of checked examples hold; unchecked,
// when set, says which were not checked and why.
func Checked(held, checked int, unchecked string) check.Finding {
	msg := fmt.Sprintf("acceptance criteria checked as examples: %d of %d hold", held, checked)
	if unchecked != "" {
		msg += " (" + unchecked + ")"
	}
	return check.Finding{Category: check.CategoryCriterion, Severity: check.SeverityInfo, Message: msg}
}

// NotChecked is the note when no example could be run; why says what failed.
func NotChecked(why string) check.Finding {
	return check.Finding{Category: check.CategoryCriterion, Severity: check.SeverityInfo,
		Message: "the acceptance criteria that read as examples " + why + ", so they were not checked"}
}
