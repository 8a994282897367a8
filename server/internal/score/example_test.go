package score_test

import (
	"fmt"
	"strings"

	"github.com/moosehq/moose/server/internal/score"
)

// A proposal that compiles but left a stub and a TODO behind and wrote no
// tests: the pipeline fills an Input from its validators and stores the Result.
func ExampleCompute() {
	in := score.Input{
		EditsApplied: 2,
		ChangedFiles: []string{"src/cart.ts", "src/index.ts"},
		LinesAdded:   48,
		LinesRemoved: 3,
		BuildRan:     true, BuildPassed: true,
		TypecheckRan: true, TypecheckPassed: true,
		TestsRan: true, TestsSucceeded: true, TestsTotal: 9, TestsPassed: 9,
		StaticFindings: []score.Finding{
			{File: "src/cart.ts", Line: 17, Category: score.CategoryNotImplemented, Message: "throw new Error('Not implemented')"},
			{File: "src/cart.ts", Line: 31, Category: score.CategoryTODO, Message: "TODO: apply discounts"},
			{File: "src/index.ts", Line: 4, Category: score.CategoryDebugPrint, Message: "console.log"},
		},
	}
	r := score.Compute(score.DefaultConfig(), in)
	for _, d := range r.Dimensions {
		fmt.Printf("%-13s %4.1f  %s\n", d.Name, d.Score, strings.Join(d.Reasons, "; "))
	}
	fmt.Printf("overall %.1f (weighted %.1f), passed %v\n", r.Overall, r.Weighted, r.Passed)
	fmt.Println("gate:", r.Gate)
	// Output:
	// build_success 10.0  build and typecheck passed
	// test_coverage  3.0  coverage not measured (scored 6); 9 of 9 tests passed; no tests added or changed: capped at 3
	// completeness   0.0  1 not-implemented stub: src/cart.ts:17 (-8); 1 TODO marker: src/cart.ts:31 (-2.5)
	// architecture   9.0  1 debug print left: src/index.ts:4 (-1)
	// readability   10.0  no long lines, long functions or lint findings
	// overall 5.9 (weighted 6.0), passed false
	// gate: the change modifies source code (src/cart.ts, src/index.ts) but adds or changes no test; completeness 0.0 is below the minimum 5
}
