package sandbox

import "context"

// RunWithoutCgroup runs s with the rlimit fallback even where a cgroup is available.
func RunWithoutCgroup(ctx context.Context, s Spec) (Result, error) {
	return run(ctx, s, true)
}
