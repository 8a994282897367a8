package main

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/moosehq/moose/plugins/sdk/sdktest"
)

// TestConformance is what a plugin author runs: build the plugin, then let the
// SDK's conformance suite launch it the way moosed does and exercise it.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin")
	}
	bin := filepath.Join(t.TempDir(), "shouter")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	sdktest.TestProposer(t, bin)
}
