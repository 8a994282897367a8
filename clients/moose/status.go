package moose

import (
	"errors"
	"fmt"
	"strings"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

// ErrUnknownStatus is returned by ParseStatus for a name that is no status.
var ErrUnknownStatus = errors.New("unknown work order status")

const statusPrefix = "WORK_ORDER_STATUS_"

// StatusName is the short lower-case name of a status ("pending",
// "needs_review"), the form the CLI prints and the server accepts as a filter.
func StatusName(s moosev1.WorkOrderStatus) string {
	name, ok := moosev1.WorkOrderStatus_name[int32(s)]
	if !ok {
		return fmt.Sprintf("status(%d)", int32(s))
	}
	return strings.ToLower(strings.TrimPrefix(name, statusPrefix))
}

// StatusNames lists the short names of every real status, in lifecycle order.
func StatusNames() []string {
	names := make([]string, 0, len(moosev1.WorkOrderStatus_name)-1)
	for i := int32(1); ; i++ {
		if _, ok := moosev1.WorkOrderStatus_name[i]; !ok {
			return names
		}
		names = append(names, StatusName(moosev1.WorkOrderStatus(i)))
	}
}

// ParseStatus accepts a short name ("needs_review", also "needs-review"), or
// the enum name, in any case.
func ParseStatus(s string) (moosev1.WorkOrderStatus, error) {
	norm := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", "_"))
	if norm != "" && !strings.HasPrefix(norm, statusPrefix) {
		norm = statusPrefix + norm
	}
	v, ok := moosev1.WorkOrderStatus_value[norm]
	if !ok || v == int32(moosev1.WorkOrderStatus_WORK_ORDER_STATUS_UNSPECIFIED) {
		return 0, fmt.Errorf("%w %q (want one of %s)", ErrUnknownStatus, s, strings.Join(StatusNames(), ", "))
	}
	return moosev1.WorkOrderStatus(v), nil
}

// IsTerminal reports whether a work order in status s can change no more
// (except by retry from failed or needs_review).
func IsTerminal(s moosev1.WorkOrderStatus) bool {
	switch s {
	case moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED,
		moosev1.WorkOrderStatus_WORK_ORDER_STATUS_NEEDS_REVIEW,
		moosev1.WorkOrderStatus_WORK_ORDER_STATUS_FAILED,
		moosev1.WorkOrderStatus_WORK_ORDER_STATUS_CANCELLED:
		return true
	}
	return false
}
