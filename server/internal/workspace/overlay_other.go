//go:build !linux

package workspace

import (
	"errors"
	"os"
)

var errNoOverlay = errors.New("overlayfs is only available on Linux")

func mountOverlay(lower, upper, work, merged string) error { return errNoOverlay }

func unmountOverlay(merged string) error { return nil }

func unmountStale(root string) error { return nil }

// lockRoot is a no-op off Linux; Root must not be shared there.
func lockRoot(root string) (func(), error) { return func() {}, nil }

var copyArgs = []string{"-pR"}

func mountTmpfs(dir string, size int64, mode os.FileMode) error { return errNoOverlay }

func whiteout(path string) error { return errNoOverlay }

func fsUsage(dir string) (used, free int64) { return 0, 0 }
