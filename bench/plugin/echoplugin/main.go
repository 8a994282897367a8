// Command echoplugin serves bench/plugin/echo as a plugin process.
package main

import (
	"github.com/moosehq/moose/bench/plugin/echo"
	"github.com/moosehq/moose/plugins/sdk"
)

func main() { sdk.ServeProposer(echo.Proposer{}) }
