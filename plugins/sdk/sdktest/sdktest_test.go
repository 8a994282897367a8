package sdktest_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/moosehq/moose/plugins/sdk"
	"github.com/moosehq/moose/plugins/sdk/sdktest"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sdktest")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "testplugin")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/moosehq/moose/plugins/internal/testplugin").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestProposerConformance(t *testing.T) {
	t.Parallel()
	sdktest.TestProposer(t, bin, sdktest.WithProposeRequest(&sdk.ProposeRequest{WorkOrder: &sdk.WorkOrder{Title: "hi"}}))
}

func TestValidatorConformance(t *testing.T) {
	t.Parallel()
	sdktest.TestValidator(t, bin, sdktest.WithArgs("-kind", "validator"))
}
