// Command pluginmanifest writes the built-in plugin manifest that moosed
// trusts: `make build` runs it after building the plugins, as
//
//	go run ./server/internal/cmd/pluginmanifest DIR moose-plugin-a moose-plugin-b ...
//
// It records each named binary of DIR with its sha256 in
// DIR/moose-plugins.manifest.json (pluginhost.WriteManifest).
package main

import (
	"fmt"
	"os"

	"github.com/moosehq/moose/server/internal/pluginhost"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: pluginmanifest DIR FILE...")
		os.Exit(2)
	}
	if err := pluginhost.WriteManifest(os.Args[1], os.Args[2:]...); err != nil {
		fmt.Fprintln(os.Stderr, "pluginmanifest:", err)
		os.Exit(1)
	}
}
