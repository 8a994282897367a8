package moose_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/clients/moose"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

func TestParseStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want moosev1.WorkOrderStatus
	}{
		{"pending", moosev1.WorkOrderStatus_WORK_ORDER_STATUS_PENDING},
		{"NEEDS_REVIEW", moosev1.WorkOrderStatus_WORK_ORDER_STATUS_NEEDS_REVIEW},
		{"needs-review", moosev1.WorkOrderStatus_WORK_ORDER_STATUS_NEEDS_REVIEW},
		{" in_progress ", moosev1.WorkOrderStatus_WORK_ORDER_STATUS_IN_PROGRESS},
		{"WORK_ORDER_STATUS_CANCELLED", moosev1.WorkOrderStatus_WORK_ORDER_STATUS_CANCELLED},
	}
	for _, tt := range tests {
		got, err := moose.ParseStatus(tt.in)
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, got, tt.in)
	}
	for _, bad := range []string{"", "unspecified", "WORK_ORDER_STATUS_UNSPECIFIED", "done", "status_pending"} {
		_, err := moose.ParseStatus(bad)
		require.ErrorIs(t, err, moose.ErrUnknownStatus, bad)
		require.Contains(t, err.Error(), "needs_review", "the error lists valid names")
	}
}

func TestStatusNames(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"pending", "approved", "in_progress", "completed", "needs_review", "failed", "cancelled"}, moose.StatusNames())
	for _, name := range moose.StatusNames() {
		s, err := moose.ParseStatus(name)
		require.NoError(t, err)
		require.Equal(t, name, moose.StatusName(s), "StatusName and ParseStatus round-trip")
	}
	require.Equal(t, "status(99)", moose.StatusName(99))
}

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	terminal := map[string]bool{"completed": true, "needs_review": true, "failed": true, "cancelled": true}
	for _, name := range moose.StatusNames() {
		s, err := moose.ParseStatus(name)
		require.NoError(t, err)
		require.Equal(t, terminal[name], moose.IsTerminal(s), name)
	}
	require.False(t, moose.IsTerminal(moosev1.WorkOrderStatus_WORK_ORDER_STATUS_UNSPECIFIED))
}

func TestIsLocal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:7400", true},
		{"localhost:7400", true},
		{"[::1]:7400", true},
		{"dns:///localhost:7400", true},
		{"unix:///run/moose.sock", true},
		{"moose.localhost:7400", true},
		{"10.0.0.5:7400", false},
		{"moose.example.com:443", false},
		{"dns:///moose.example.com:443", false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, moose.IsLocal(tt.addr), tt.addr)
	}
}
