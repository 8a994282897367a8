// Package workspace keeps a per-project pool of warm git working trees, each
// pristine at a base commit, so that a work order can start proposing and
// validating without paying for a clone and a dependency install.
//
// # Layout
//
// Everything lives under Config.Root, which belongs to one Manager at a time
// (NewManager takes an exclusive lock on it):
//
//	<Root>/<project>/mirror.git      bare clone of Project.RepoURL, fetched on demand
//	<Root>/<project>/base/<sha>/     template: a pristine checkout of one base commit with
//	                                 dependencies installed (Config.InstallDeps ran there once)
//	<Root>/<project>/ws/<id>/tree/   a workspace (Workspace.Dir)
//
// A template is a standalone repository made with `git clone --shared` from the
// mirror: its object store borrows the mirror's through objects/info/alternates,
// so it costs nothing but the checkout, and it is a real repository in which
// `git commit` works. Its origin remote points at Project.RepoURL so publishing
// can push there. The mirror never garbage-collects (gc.auto=0), because
// workspaces borrow its objects.
//
// # Making workspaces cheap
//
// Workspaces are made from a template, never from the network. Two strategies:
//
//   - StrategyOverlay (preferred; Linux and root, probed at start): the workspace
//     is an overlayfs mount with the template as its read-only lower layer and a
//     private upper layer. Making one is a mkdir and a mount (milliseconds, no
//     matter how big the tree or node_modules is); the template's git index stays
//     valid because overlayfs reports the lower files' inodes and times.
//   - StrategyCopy (fallback anywhere): `cp -a --reflink=auto` of the template,
//     .git included. Templates set core.checkStat=minimal and core.trustctime=false
//     so the copied index (same mtimes and sizes, new inodes) stays valid and nothing
//     is re-hashed. On copy-on-write file systems this is nearly as cheap as overlay;
//     on ext4 it costs a full copy. Hard links are never used: tools that write
//     files in place would change every workspace at once.
//
// # Reset
//
// Release hands the workspace back at once; a background goroutine resets it
// and returns it to the idle pool (an Acquire waiting for a workspace waits for
// that reset rather than making a new one).
//
//   - Overlay: the mount is detached, the upper layer deleted and a fresh overlay
//     mounted on the template of the target commit. The cost is proportional to
//     what the holder wrote, not to the tree; dependency directories come back
//     exactly as the template installed them (caches written into them during
//     use are dropped, the installed packages never are).
//   - Copy: `git checkout -f --detach <base>`, `git clean -ffdx` with -e for each of
//     Config.KeepDirs (node_modules survives), local branches deleted. When
//     Config.InstallDeps is set and a dependency manifest (Config.DepManifests:
//     package.json, go.mod, ...) differs between the workspace and the target
//     commit, node_modules may no longer match, so the workspace is copied afresh
//     from the target's template instead: the install runs once per base commit,
//     never per workspace.
//
// An Acquire for another base commit moves an idle workspace the same way.
//
// Workspaces never share a directory: a workspace is owned by exactly one holder
// (a caller, a reset goroutine, or the idle list under the pool lock).
package workspace
