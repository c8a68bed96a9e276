// Package scripts holds the example recipes users copy. They are embedded so that
// `pixels run setup-devbox.lua` finds them anywhere, and each is tested against the
// simulator like the built-in verbs.
package scripts

import "embed"

// FS holds the example recipes (*.lua).
//
//go:embed *.lua
var FS embed.FS
