// Command gendocs writes docs/lua-api.md from the bindings spec; `go generate ./bindings`
// runs it.
package main

import (
	"log"
	"os"

	"github.com/pixels-dev/pixels/bindings"
)

func main() {
	if err := os.WriteFile("../docs/lua-api.md", []byte(bindings.Reference()), 0o644); err != nil {
		log.Fatal(err)
	}
}
