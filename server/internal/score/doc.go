// Package score turns the validation results of one attempt into Moose's
// acceptance score: five dimensions, each 0–10 with reasons, a weighted
// overall score, and a pass/fail decision.
//
// Compute is a pure function of a Config and an Input. It does no I/O and
// knows nothing of plugins or protobuf: the pipeline converts validator
// responses into an Input, and stores the Result.
//
// # Why these rules
//
// The failure Moose exists to end is cheap models writing skeletal code:
// files that do not build, functions that panic("not implemented"), TODOs
// where the logic should be, and no tests. Every rule below reads a signal a
// validator proves mechanically (the project's own build and tests, static
// markers in the changed code), so a skeletal proposal and a complete one are
// told apart without any model judging them. A judge plugin can add its
// opinion through Contributions; it cannot remove the hard gates.
//
// # Overall score and passing
//
//	weighted = Σ weightᵢ · scoreᵢ / Σ weightᵢ    over the five reported (rounded) scores
//	overall  = weighted                          when every hard gate holds
//	         = min(weighted, 5.9)                when any hard gate failed (GateCap)
//	passed   = every hard gate holds  AND  overall ≥ PassThreshold (default 7)
//
// The cap is what makes the overall score honest: experiments, rollbacks,
// dataset filters, PR bodies and suite tables all read Overall, and the A/B
// floor is 6.0, so an attempt that failed a gate always reads as a failure
// (below 6) and a passing attempt always reads at least PassThreshold (7 by
// default). Between them lies a gap no attempt can land in: 5.9 < x < 7 only
// for an attempt that held every gate but whose weighted mean fell short.
// Result.Weighted keeps the uncapped mean for the reviewer.
//
// Default weights: build_success 0.25, test_coverage 0.20, completeness 0.25,
// architecture 0.15, readability 0.15. Building and being complete are what
// cheap models fail at and what can be proven, so they weigh most; the two
// heuristic dimensions weigh least. Weights need not sum to 1, and each
// Dimension reports its normalised share.
//
// # Hard gates
//
// No choice of weights can pass an attempt that fails one of these, because
// each one alone means the work order is not done:
//
//	gate                          why
//	----------------------------  ----------------------------------------------------------
//	an edit applied               a proposal that changed nothing cannot complete a work order
//	the build ran and passed      code that does not build is never accepted
//	the typecheck passed, if run  a TypeScript type error is a broken build in all but name
//	the tests ran and passed      no failed test, the test command succeeded, at least one test ran
//	tests added (the tests gate)  a change to non-test source code must add or change a test file,
//	                              unless the work order says tests_required: false
//	                              (Input.TestsOptional); a change touching only documentation or
//	                              configuration (no source code) is exempt and its reason says so
//	test strength, if measured    every changed function the tests reach must have its zero-value
//	                              and panic mutants killed, and the mutation score (killed/run)
//	                              must reach MinMutationScore (default 0.6; 0 disables the score
//	                              part): tests that pass on a broken version do not prove the change
//	completeness ≥ MinCompleteness (default 5; 0 disables)
//	                              one not-implemented stub, an emptied file, three TODOs or
//	                              two empty bodies is skeletal code, however cleanly it builds
//
// Result.Gate lists every gate that failed, so the reviewer sees all of them.
//
// # Dimensions
//
// Each dimension starts at 10 and rules deduct points (each reason shows the
// points it took, "(-5)"), or set or cap the score where noted. Rule scores
// are clamped to 0–10, blended with contributions, and rounded to one decimal.
//
// build_success: did the project's own build accept the change?
//
//	rule                                   score            why
//	-------------------------------------  ---------------  -----------------------------------------
//	build did not run                      0                nothing proves the change builds
//	build failed                           0                reasons name the first three errors,
//	                                                        which are usually the cause of the rest
//	build passed, typecheck failed         3                better than no build, still not accepted
//	build (and typecheck) passed           10               the project's own tools accept it
//	each build warning (severity warning)  -1, at most -3   vet-style warnings are likely bugs
//
// test_coverage: is the change proven by tests it added, and do they pass?
//
//	rule                                   score            why
//	-------------------------------------  ---------------  -----------------------------------------
//	tests did not run / no test ran        0                nothing is proven
//	coverage of changed code measured      coverage/8       80% (a common target) earns 10
//	coverage not measured                  6                tests exist and pass, extent unknown
//	mutation score ms measured             (above + 10·ms)/2  coverage says the tests run the code;
//	                                                        mutants say they would notice it broken
//	no tests added or changed              cap 3            existing tests rarely cover new code;
//	                                                        "no tests written" is the failure to end
//	only docs/config changed               no cap           nothing testable changed (reason says so)
//	a test failed / test command failed    cap 2            a failing suite proves nothing
//
// completeness: is the work done, or stubbed out?
//
//	rule                                   score            why
//	-------------------------------------  ---------------  -----------------------------------------
//	no edits applied                       0                nothing was done
//	each not-implemented stub              -8, at most -10  the feature is missing by definition
//	each emptied file                      -8, at most -10  work was deleted, not done
//	each TODO/FIXME/XXX marker             -2.5, at most -7.5  an admitted gap
//	each empty function body               -3, at most -9   a signature without behaviour
//	each edit that did not apply           -3, at most -9   part of the proposal never landed
//	                                                        (filesystem errors excluded: not the
//	                                                        proposal's fault)
//
// architecture: modest structural hygiene a diff can show (a judge plugin is
// the place for deeper review).
//
//	rule                                   score            why
//	-------------------------------------  ---------------  -----------------------------------------
//	no change                              0                nothing to assess
//	each debug print left                  -1, at most -3   console.log and friends are leftovers
//	each file under node_modules/, vendor/,
//	dist/ or .next/                        -2, at most -4   the project's tools own those files
//	one changed file with > 300 added lines  -2             everything dumped in one place
//	diff > 1000 lines (added + removed)    -2               far more than one work order needs
//
// readability: what can be measured without taste.
//
//	rule                                   score            why
//	-------------------------------------  ---------------  -----------------------------------------
//	no change                              0                nothing to assess
//	each added line > 120 characters       -0.25, at most -3
//	longest changed function > 60 lines    -1               hard to review in one screen
//	  > 100 lines / > 150 lines            -2 / -3
//	each lint finding                      -0.5, at most -4
//
// With the default weights, a skeletal proposal that builds and whose old tests
// pass (two TODOs, one stub, no new tests) fails twice over: completeness 0
// is under the gate, and overall is 6.1 (10·0.25 + 3·0.20 + 0·0.25 + 10·0.15 +
// 10·0.15) even with perfect architecture and readability. A complete, tested
// change scores 9 to 10. With a single stub and tests added the weighted mean
// alone could reach 7; the completeness gate is what stops it.
//
// # Test strength (mutation testing)
//
// After a passing run the test validator mutates the functions the change
// added or modified (never the rest of the module) and reruns only the tests
// that reach them (Go: the package and the module's packages importing it;
// TypeScript/JavaScript: vitest related / jest --findRelatedTests). Mutants:
// the body replaced by a zero-value return and by a panic/throw (the gate
// mutants), flipped comparisons, boundaries (< ↔ <=), && ↔ ||, dropped !,
// +1 on integer constants, removed statements (Go) and swapped arithmetic.
// A mutant is killed when a test fails, the run crashes or times out; one
// that does not compile is not viable and counts nowhere. The budget
// (default 20 mutants and 30 s per attempt; gate mutants first, then the
// others spread across functions) bounds the cost. A project validated by
// its own test command reports "not measured" and none of this applies.
//
// Equivalent mutants are the known limit: a mutant that behaves exactly like
// the original (n <= lo → lo where n == lo returns lo either way) cannot be
// killed by any test, and nothing mechanical tells it from a weak test. The
// threshold accounts for them by sitting well below 1: 0.6 lets up to four
// mutants in ten be equivalent or untested corners, while tests that only
// check "does not panic" or "is not nil" kill the panic mutant and little
// else (typically under 0.3). The per-function gate uses only the zero-value
// and panic mutants, which are never equivalent for a function that does
// anything: a zero-value mutant identical to the body is not generated, and
// such a body is a stub the static checks report.
//
// # Contributions
//
// A validator plugin may report its own score for a dimension (a future LLM
// judge for architecture and completeness, say). The dimension's score is the
// weighted mean of the rule score, which weighs 1, and every contribution to
// it with its reported weight (0 meaning 1). With a judge at weight 1, rules
// and judge count equally; at weight 3 the judge dominates. Contributions
// never touch the hard gates, except that the completeness gate reads the
// blended completeness score.
//
// # Configuration
//
// DefaultConfig gives the weights and thresholds above; Config.Validate
// reports every problem at once. Compute accepts any Config without failing:
// unusable weights count as 0, all-zero weights fall back to the defaults, and
// thresholds are clamped to 0–10.
package score
