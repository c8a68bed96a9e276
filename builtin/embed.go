// Package builtin holds the verbs pixels ships, written in Lua against the public pixels
// module (if a built-in needs something, users get it too), and the helper modules they
// share under lib/, which scripts can require as "pixels.NAME".
package builtin

import "embed"

// FS holds the built-in verbs (*.lua) and lib/*.lua.
//
//go:embed *.lua lib/*.lua
var FS embed.FS
