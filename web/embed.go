// Package web holds the web UI: the TypeScript sources (src/), the
// generated Connect client (gen/), the browser tests (e2e/) and the built
// pages (dist/, written by `make web`, committed so that `go build` needs
// no npm). internal/webui serves Dist.
package web

import "embed"

// Dist is the built web UI (index.html and its hashed assets).
//
//go:embed all:dist
var Dist embed.FS
