package workorder

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/moosehq/moose/server/internal/acceptance"
	"github.com/moosehq/moose/server/internal/fault"
)

// Limits on work-order input. They keep prompts bounded and reject junk early.
const (
	MaxTitleLen       = 200
	MaxDescriptionLen = 64 << 10
	MaxCriteria       = 50
	MaxCriterionLen   = 2 << 10
	MaxRequestIDLen   = 200
	MaxMetadataKeys   = 64
)

// Project is a target repository and how to build and test it.
type Project struct {
	ID               uuid.UUID
	Name             string
	RepoURL          string
	DefaultBranch    string
	Language         string
	Preset           string
	BuildCommand     string
	TestCommand      string
	TypecheckCommand string
	// BuildTimeout and TestTimeout limit the build step's commands and the
	// test command; 0 takes the server's defaults.
	BuildTimeout, TestTimeout time.Duration
	// MinMutationScore is the project's test-strength threshold (0–1); nil
	// keeps moosed's default.
	MinMutationScore *float64
	// Warm is the project's warm-up (see WarmState).
	Warm      Warm
	CreatedAt time.Time
	UpdatedAt time.Time
}

// WarmState is where a project's warm-up stands: its default branch's tests
// run once at registration, so that its build cache and its base commit's
// baseline are ready before the first work order needs them.
type WarmState string

const (
	WarmNone    WarmState = "" // not asked for (warm-up off)
	WarmPending WarmState = "pending"
	WarmRunning WarmState = "running"
	WarmReady   WarmState = "ready"
	WarmFailed  WarmState = "failed"
)

// Warm is a project's warm-up: its state, what happened and when it ended.
type Warm struct {
	State   WarmState
	Message string
	At      *time.Time
}

// Bounds of a configurable build or test timeout.
const (
	MinTimeout = time.Second
	MaxTimeout = time.Hour
)

// validTimeout adds a problem with a timeout field to v, if it has one (0 is "not set").
func validTimeout(v *fault.ValidationError, field string, d time.Duration) {
	if d != 0 && (d < MinTimeout || d > MaxTimeout) {
		v.Add(field, "must be between %s and %s", MinTimeout, MaxTimeout)
	}
}

// Presets known to the validators.
var Presets = map[string]bool{"go": true, "node": true}

// PresetFor derives a command preset from a language when none is given.
func PresetFor(language string) string {
	switch language {
	case "go", "golang":
		return "go"
	case "typescript", "javascript", "ts", "js", "node":
		return "node"
	}
	return ""
}

// Validate reports every problem of a new project at once.
func (p *Project) Validate() error {
	v := &fault.ValidationError{}
	required := map[string]string{"name": p.Name, "repo_url": p.RepoURL, "default_branch": p.DefaultBranch, "language": p.Language}
	for _, f := range []string{"name", "repo_url", "default_branch", "language"} {
		if required[f] == "" {
			v.Add(f, "is required")
		}
	}
	if len(p.Name) > 100 {
		v.Add("name", "must be at most 100 characters")
	}
	if p.Preset != "" && !Presets[p.Preset] {
		v.Add("preset", "unknown preset %q (known: go, node)", p.Preset)
	}
	validTimeout(v, "build_timeout", p.BuildTimeout)
	validTimeout(v, "test_timeout", p.TestTimeout)
	if m := p.MinMutationScore; m != nil && !(*m >= 0 && *m <= 1) {
		v.Add("min_mutation_score", "must be between 0 and 1, got %g", *m)
	}
	return v.Err()
}

// WorkOrder is a small, well-specified change to a project.
type WorkOrder struct {
	ID                 uuid.UUID
	ProjectID          uuid.UUID
	RequestID          string
	Title              string
	Description        string
	AcceptanceCriteria []string
	Complexity         int
	Status             Status
	Metadata           map[string]string
	VariantID          string
	// TestsOptional waives the tests gate: a change to source code may pass
	// without adding or changing a test. The zero value requires tests.
	TestsOptional bool
	// BuildTimeout and TestTimeout override the project's limits; 0: not set.
	BuildTimeout, TestTimeout time.Duration
	// Acceptance holds the hidden acceptance tests and the FAIL_TO_PASS and
	// PASS_TO_PASS lists; never shown to a proposer.
	Acceptance acceptance.Spec
	Result     *Result
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Result is the scored outcome of a work order's latest execution. The pipeline
// writes it; the API shows it.
type Result struct {
	OverallScore float64     `json:"overall_score"`
	Passed       bool        `json:"passed"`
	Dimensions   []Dimension `json:"dimensions,omitempty"`
	BuildPassed  bool        `json:"build_passed"`
	TestsPassed  bool        `json:"tests_passed"`
	TestsTotal   int         `json:"tests_total"`
	TestsFailed  int         `json:"tests_failed"`
	Cycles       int         `json:"cycles"`
	CostUSD      float64     `json:"cost_usd"`
	InputTokens  int64       `json:"input_tokens"`
	OutputTokens int64       `json:"output_tokens"`
	// The parts of InputTokens read from and written to the prompt cache.
	CacheReadInputTokens  int64  `json:"cache_read_input_tokens,omitempty"`
	CacheWriteInputTokens int64  `json:"cache_write_input_tokens,omitempty"`
	FailureReason         string `json:"failure_reason,omitempty"`
	PullRequestURL        string `json:"pull_request_url,omitempty"`
	PullRequestNumber     int    `json:"pull_request_number,omitempty"`
	Branch                string `json:"branch,omitempty"`
	// Acceptance is the best cycle's acceptance verdict (hidden tests,
	// FAIL_TO_PASS, PASS_TO_PASS, baseline), when it had one.
	Acceptance *acceptance.Report `json:"acceptance,omitempty"`
}

// Dimension is one scored acceptance dimension.
type Dimension struct {
	Name    string   `json:"name"`
	Score   float64  `json:"score"`
	Weight  float64  `json:"weight"`
	Reasons []string `json:"reasons,omitempty"`
}

// NewWorkOrder is the input of Create.
type NewWorkOrder struct {
	ProjectID          string
	RequestID          string
	Title              string
	Description        string
	AcceptanceCriteria []string
	Complexity         int
	Metadata           map[string]string
	// PinnedVariant, when set, bypasses routing (suite runs compare variants).
	PinnedVariant uuid.UUID
	// TestsOptional waives the tests gate (the API's tests_required: false).
	TestsOptional bool
	// BuildTimeout and TestTimeout override the project's limits (0: not set).
	BuildTimeout, TestTimeout time.Duration
	// Acceptance: hidden acceptance tests, FAIL_TO_PASS and PASS_TO_PASS.
	Acceptance acceptance.Spec
}

// Validate reports every problem at once; field names are the API's.
func (n *NewWorkOrder) Validate() error {
	v := &fault.ValidationError{}
	if n.ProjectID == "" {
		v.Add("project_id", "is required")
	} else if _, err := uuid.Parse(n.ProjectID); err != nil {
		v.Add("project_id", "is not a valid id")
	}
	switch {
	case n.Title == "":
		v.Add("title", "is required")
	case utf8.RuneCountInString(n.Title) > MaxTitleLen:
		v.Add("title", "must be at most %d characters, got %d", MaxTitleLen, utf8.RuneCountInString(n.Title))
	}
	if len(n.Description) > MaxDescriptionLen {
		v.Add("description", "must be at most %d bytes, got %d", MaxDescriptionLen, len(n.Description))
	}
	if n.Complexity < 1 || n.Complexity > 10 {
		v.Add("complexity", "must be between 1 and 10, got %d", n.Complexity)
	}
	if len(n.AcceptanceCriteria) > MaxCriteria {
		v.Add("acceptance_criteria", "must have at most %d entries, got %d", MaxCriteria, len(n.AcceptanceCriteria))
	}
	for i, c := range n.AcceptanceCriteria {
		if len(c) > MaxCriterionLen {
			v.Add("acceptance_criteria["+strconv.Itoa(i)+"]", "must be at most %d bytes, got %d", MaxCriterionLen, len(c))
		}
	}
	if len(n.RequestID) > MaxRequestIDLen {
		v.Add("request_id", "must be at most %d characters", MaxRequestIDLen)
	}
	if len(n.Metadata) > MaxMetadataKeys {
		v.Add("metadata", "must have at most %d keys", MaxMetadataKeys)
	}
	validTimeout(v, "build_timeout", n.BuildTimeout)
	validTimeout(v, "test_timeout", n.TestTimeout)
	n.Acceptance.Validate(v)
	return v.Err()
}

// Event is one row of a work order's audit trail.
type Event struct {
	ID          int64
	WorkOrderID uuid.UUID
	Type        string
	FromStatus  Status
	ToStatus    Status
	Phase       string
	Message     string
	Data        map[string]string
	CreatedAt   time.Time
}

// Event types.
const (
	EventCreated    = "created"
	EventTransition = "transition"
	EventPhase      = "phase"
	EventInfo       = "info"
)

// ParseID parses a resource id, reporting a malformed one as a validation
// error on field.
func ParseID(field, s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil || s == "" {
		return uuid.Nil, fault.Invalid(field, "is not a valid id: %q", truncate(s, 64))
	}
	return id, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
