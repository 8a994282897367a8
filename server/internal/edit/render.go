package edit

import "github.com/moosehq/moose/plugins/sdk/editformat"

// Render returns prompt instructions that ask a model to write its changes in
// format, with a small example. Parse accepts more than these instructions
// ask for; the instructions ask for the one shape least likely to go wrong.
// The text lives in plugins/sdk/editformat, shared with proposer plugins.
// An unknown format renders as "".
func Render(format Format) string {
	if !format.Valid() {
		return ""
	}
	return editformat.Instructions(string(format))
}
