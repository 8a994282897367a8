package pipeline

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/moosehq/moose/server/internal/acceptance"
	"github.com/moosehq/moose/server/internal/promptctx"
)

// WorkOrderInfo is what plugins learn about the work order.
type WorkOrderInfo struct {
	ID                 string
	Title              string
	Description        string
	AcceptanceCriteria []string
	Complexity         int
	Metadata           map[string]string
}

// Finding is one problem found in a cycle: an edit that did not apply, a
// compiler error, a failing test, a stub left behind.
type Finding struct {
	Source   string `json:"source"` // "edit" or a validator name
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
	Category string `json:"category"`
	Severity string `json:"severity,omitempty"`
	Message  string `json:"message"`
}

// ProposeRequest is one cycle's question to a proposer.
type ProposeRequest struct {
	WorkOrder WorkOrderInfo
	Context   promptctx.Context
	Cycle     int
	// PreviousProposal and Findings are set on refinement cycles.
	PreviousProposal string
	Findings         []Finding
	// Feedback is the findings rendered as text, exact compiler and test output included.
	Feedback string
	// Examples are accepted past attempts on similar work orders (few-shot).
	Examples []Example
}

// ProposeResponse is a proposer's answer with its cost.
type ProposeResponse struct {
	Text         string
	Model        string
	InputTokens  int64
	OutputTokens int64
	// CacheReadInputTokens and CacheWriteInputTokens are the parts of
	// InputTokens read from and written to the provider's prompt cache.
	CacheReadInputTokens  int64
	CacheWriteInputTokens int64
	FinishReason          string
	CostUSD               float64
	PromptHash            string
}

// Proposer asks a variant's proposer plugin for a change.
type Proposer interface {
	Propose(ctx context.Context, variantID uuid.UUID, req ProposeRequest) (ProposeResponse, error)
}

// ProjectInfo tells validators how to build and test the project.
type ProjectInfo struct {
	Language         string
	Preset           string
	BuildCommand     string
	TestCommand      string
	TypecheckCommand string
}

// ValidateRequest asks one validator to inspect a worktree.
type ValidateRequest struct {
	// Dir is a throwaway view of the candidate tree (no .git); writes to it are discarded.
	Dir          string
	ChangedFiles []string
	WorkOrder    WorkOrderInfo
	Project      ProjectInfo
	Timeout      time.Duration
	// BuildTimeout is the time a test validator may spend compiling before
	// the tests start, on top of Timeout (0: they share Timeout).
	BuildTimeout time.Duration
	// TempDir is a sized directory for the sandbox's /tmp, or empty.
	TempDir string
	// CacheDir is the project's own build cache directory, or empty.
	CacheDir string
	// Diff is the change against the base commit (git diff -U0).
	Diff string
	// Limits bound every command the validator runs.
	Limits   Limits
	Mutation MutationBudget
	// Repeats > 1 asks for the suite that many times in one run (a
	// baseline); the report says how many it did.
	Repeats int
}

// Limits bound what the commands of one validation may use; zero fields take
// the validator's defaults.
type Limits struct {
	// WriteBytes is the write quota of the validation's tree (default 1 GiB).
	WriteBytes int64
	// TmpBytes is the size of its /tmp (default 512 MiB).
	TmpBytes int64
	// CPUTime is the CPU time per process (validator default 5m).
	CPUTime time.Duration
	// MemoryBytes bounds the memory of one command (validator default 4 GiB).
	MemoryBytes int64
	// OpenFiles bounds file descriptors per process (validator default 4096).
	OpenFiles int
	// MaxProcs bounds processes and threads of one command (validator default 1024).
	MaxProcs int
}

// MutationBudget bounds test-strength measurement per validation.
type MutationBudget struct {
	Disabled   bool
	MaxMutants int
	Time       time.Duration
}

// Mutation is a test validator's test-strength measurement (surviving mutants
// are among its findings, category surviving_mutant).
type Mutation struct {
	Measured  bool              `json:"measured"`
	Reason    string            `json:"reason,omitempty"`
	Run       int               `json:"run"`
	Killed    int               `json:"killed"`
	NotViable int               `json:"not_viable,omitempty"`
	Exhausted bool              `json:"exhausted,omitempty"`
	Functions []MutatedFunction `json:"functions,omitempty"`
}

// MutatedFunction is one changed function under mutation.
type MutatedFunction struct {
	File         string `json:"file"`
	Name         string `json:"name"`
	Line         int    `json:"line,omitempty"`
	Reached      bool   `json:"reached"`
	GateMeasured bool   `json:"gate_measured"`
	GateKilled   bool   `json:"gate_killed"`
}

// Contribution is a validator's score for one dimension.
type Contribution struct {
	Dimension string   `json:"dimension"`
	Score     float64  `json:"score"`
	Weight    float64  `json:"weight"`
	Reasons   []string `json:"reasons,omitempty"`
}

// Report is one validator's verdict.
type Report struct {
	Validator     string         `json:"validator"`
	Passed        bool           `json:"passed"`
	Skipped       bool           `json:"skipped,omitempty"`
	Error         string         `json:"error,omitempty"`
	Findings      []Finding      `json:"findings,omitempty"`
	TestsTotal    int            `json:"tests_total,omitempty"`
	TestsPassed   int            `json:"tests_passed,omitempty"`
	TestsFailed   int            `json:"tests_failed,omitempty"`
	TestsSkipped  int            `json:"tests_skipped,omitempty"`
	Coverage      float64        `json:"coverage"` // percent of touched code; -1 unknown
	TestsAdded    bool           `json:"tests_added,omitempty"`
	Contributions []Contribution `json:"contributions,omitempty"`
	// Mutation is test strength, from the test validator (nil: not reported).
	Mutation   *Mutation `json:"mutation,omitempty"`
	Log        string    `json:"log,omitempty"`
	DurationMS int64     `json:"duration_ms"`
	// Results are the test validator's per-test outcomes (failure output
	// bounded), which the acceptance step reads.
	Results []acceptance.Result `json:"results,omitempty"`
	// Repeats is how many repetitions of the suite Results hold (0: one).
	Repeats int `json:"-"`
}

// Validator runs the named validator plugin.
type Validator interface {
	Validate(ctx context.Context, name string, req ValidateRequest) (Report, error)
}

// PublishRequest carries what a pull request shows.
type PublishRequest struct {
	WorkOrderID uuid.UUID
	Dir         string
	BaseCommit  string
	Branch      string
	Title       string
	Body        string
	Outcome     string // "completed" or "needs_review"
}

// Published is where a change landed.
type Published struct {
	URL    string
	Number int
	Branch string
}

// Publisher pushes a finished change and opens or updates its pull request.
// It must be idempotent: called again for the same work order it updates the
// existing pull request.
type Publisher interface {
	Publish(ctx context.Context, projectRepo string, req PublishRequest) (Published, error)
}

// Assignment is a routing decision made by an experiment.
type Assignment struct {
	VariantID    uuid.UUID
	ExperimentID uuid.UUID
	Arm          string
	Shadow       bool
}

// Experiments lets a running A/B experiment override routing and learn from
// outcomes. Optional.
type Experiments interface {
	Assign(ctx context.Context, workOrderID uuid.UUID, tier string, tierVariant uuid.UUID) (Assignment, bool, error)
	Observe(ctx context.Context, workOrderID uuid.UUID, outcome Outcome) error
}

// Outcome is what an execution produced, for learning.
type Outcome struct {
	VariantID uuid.UUID
	Score     float64
	Passed    bool
	CostUSD   float64
	Crashed   bool
	// Shadow outcomes come from a candidate run on a copy of the work order;
	// they were validated and scored but never published.
	Shadow bool
}
