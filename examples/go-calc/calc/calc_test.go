package calc_test

import (
	"errors"
	"testing"

	"example.com/gocalc/calc"
)

func TestEval(t *testing.T) {
	tests := []struct {
		expr string
		want float64
	}{
		{"1", 1},
		{"1 + 2 * 3", 7},
		{"(1 + 2) * 3", 9},
		{"10 / 4", 2.5},
		{"-3 + 5", 2},
		{"2 * (3 + 4) - 1", 13},
	}
	for _, tt := range tests {
		got, err := calc.Eval(tt.expr)
		if err != nil {
			t.Fatalf("Eval(%q): %v", tt.expr, err)
		}
		if got != tt.want {
			t.Errorf("Eval(%q) = %v, want %v", tt.expr, got, tt.want)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	for _, expr := range []string{"", "1 +", "(1", "1 $ 2", "1 2"} {
		if _, err := calc.Eval(expr); err == nil {
			t.Errorf("Eval(%q) succeeded, want an error", expr)
		}
	}
}

func TestDivisionByZero(t *testing.T) {
	if _, err := calc.Eval("1 / 0"); !errors.Is(err, calc.ErrDivisionByZero) {
		t.Fatalf("Eval(1 / 0) error = %v, want ErrDivisionByZero", err)
	}
}
