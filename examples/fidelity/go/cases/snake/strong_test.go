package snake

import "testing"

func TestToSnake(t *testing.T) {
	for in, want := range map[string]string{
		"name": "name", "Name": "name", "userName": "user_name", "UserName": "user_name",
		"userID": "user_i_d", "a": "a", "A": "a", "": "", "x1Y": "x1_y", "héLo": "hé_lo",
	} {
		if got := ToSnake(in); got != want {
			t.Errorf("ToSnake(%q) = %q, want %q", in, got, want)
		}
	}
}
