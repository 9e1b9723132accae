// Package webui serves the web UI built into web/dist: the partner's
// cabinet under /portal/, the admin console under /admin/ (one page app
// whose routes live in the browser), a redirect from / to the cabinet, and
// nothing else: the API (ProgramService.ValidateRules) checks rules.
package webui

import (
	"bytes"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/accrue/accrue/web"
)

// Mux is where Register adds the routes: internal/server's Server, whose
// API routes stay more specific than these.
type Mux interface {
	Handle(pattern string, handler http.Handler)
}

// Register adds the web UI's routes to mux.
func Register(mux Mux) {
	pages := Handler()
	mux.Handle("GET /{$}", http.RedirectHandler("/portal/", http.StatusFound))
	mux.Handle("GET /portal/", pages)
	mux.Handle("GET /admin/", pages)
}

// contentPolicy keeps the pages to their own origin: no script, style,
// font or request goes anywhere but accrued.
const contentPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// Handler serves the pages: a path that names a built file serves it, any
// other path under /portal/ or /admin/ serves index.html.
func Handler() http.Handler {
	dist, err := fs.Sub(web.Dist, "dist")
	if err != nil {
		panic("webui: " + err.Error()) // dist is embedded at build time
	}
	index, _ := fs.ReadFile(dist, "index.html")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if rest, ok := strings.CutPrefix(name, "portal/"); ok && strings.HasPrefix(rest, "assets/") {
			if _, err := fs.Stat(dist, rest); err == nil {
				// Asset names carry their content's hash.
				h.Set("Cache-Control", "public, max-age=31536000, immutable")
				http.ServeFileFS(w, r, dist, rest)
				return
			}
			http.NotFound(w, r)
			return
		}
		if len(index) == 0 {
			http.Error(w, "the web UI is not built: run make web", http.StatusNotFound)
			return
		}
		h.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(index))
	})
}
