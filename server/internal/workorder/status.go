package workorder

import (
	"fmt"
	"strings"

	"github.com/moosehq/moose/server/internal/fault"
)

// Status is a work order's lifecycle state.
type Status string

// The lifecycle states.
const (
	StatusPending     Status = "pending"
	StatusApproved    Status = "approved"
	StatusInProgress  Status = "in_progress"
	StatusCompleted   Status = "completed"
	StatusNeedsReview Status = "needs_review"
	StatusFailed      Status = "failed"
	StatusCancelled   Status = "cancelled"
)

// Statuses lists every state in lifecycle order.
var Statuses = []Status{StatusPending, StatusApproved, StatusInProgress, StatusCompleted, StatusNeedsReview, StatusFailed, StatusCancelled}

// ParseStatus accepts "needs_review", "NEEDS_REVIEW" and "WORK_ORDER_STATUS_NEEDS_REVIEW".
func ParseStatus(s string) (Status, error) {
	v := strings.ToLower(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "WORK_ORDER_STATUS_"))
	for _, st := range Statuses {
		if string(st) == v {
			return st, nil
		}
	}
	return "", fmt.Errorf("unknown status %q", s)
}

// Terminal reports whether no further automatic progress happens from s: a
// Watch ends here. needs_review waits for a person (who may retry or cancel).
func (s Status) Terminal() bool {
	switch s {
	case StatusCompleted, StatusNeedsReview, StatusFailed, StatusCancelled:
		return true
	}
	return false
}

// Op names a lifecycle operation.
type Op string

// Lifecycle operations.
const (
	OpApprove  Op = "approve"
	OpStart    Op = "start"
	OpComplete Op = "complete"
	OpReview   Op = "flag for review"
	OpFail     Op = "fail"
	OpCancel   Op = "cancel"
	OpRetry    Op = "retry"
)

// transitions is the whole state machine: for each operation, the states it
// may start from and the state it leads to.
var transitions = map[Op]struct {
	from []Status
	to   Status
}{
	OpApprove:  {[]Status{StatusPending}, StatusApproved},
	OpStart:    {[]Status{StatusApproved}, StatusInProgress},
	OpComplete: {[]Status{StatusInProgress}, StatusCompleted},
	OpReview:   {[]Status{StatusInProgress}, StatusNeedsReview},
	OpFail:     {[]Status{StatusInProgress, StatusApproved}, StatusFailed},
	OpCancel:   {[]Status{StatusPending, StatusApproved, StatusInProgress, StatusNeedsReview}, StatusCancelled},
	OpRetry:    {[]Status{StatusFailed, StatusNeedsReview}, StatusApproved},
}

// Next returns the state op leads to from cur, or a *fault.PreconditionError
// naming the current state when the transition is illegal.
func Next(cur Status, op Op) (Status, error) {
	t, ok := transitions[op]
	if !ok {
		return "", fmt.Errorf("unknown operation %q", op)
	}
	for _, f := range t.from {
		if f == cur {
			return t.to, nil
		}
	}
	return "", &fault.PreconditionError{Op: string(op), Current: string(cur)}
}
