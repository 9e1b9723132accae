// Command protoc-gen-apidoc is the protoc plugin that writes docs/api.md
// (package apidoc); buf generate runs it with every file in proto/.
package main

import (
	"google.golang.org/protobuf/compiler/protogen"

	"github.com/accrue/accrue/internal/apidoc"
)

func main() { protogen.Options{}.Run(apidoc.Run) }
