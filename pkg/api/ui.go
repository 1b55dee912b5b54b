package api

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// The web UI: plain HTML, CSS and JavaScript embedded in the binary, no
// build step. Every string that comes from users is put in the page with
// textContent, never as HTML.
//
//go:embed ui
var uiFiles embed.FS

var uiFS = func() fs.FS {
	sub, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic(err)
	}
	return sub
}()

// contentSecurityPolicy forbids inline scripts and foreign origins, so a
// message that slipped into the page as HTML still could not run.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

func (s *Server) serveUI(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/ui/")
	if r.URL.Path == "/" || r.URL.Path == "/index.html" {
		name = "index.html"
	}
	data, err := fs.ReadFile(uiFS, name)
	if err != nil || strings.Contains(name, "..") {
		s.notFound(w, r)
		return
	}
	h := w.Header()
	switch {
	case strings.HasSuffix(name, ".html"):
		h.Set("Content-Type", "text/html; charset=utf-8")
	case strings.HasSuffix(name, ".js"):
		h.Set("Content-Type", "text/javascript; charset=utf-8")
	case strings.HasSuffix(name, ".css"):
		h.Set("Content-Type", "text/css; charset=utf-8")
	case strings.HasSuffix(name, ".svg"):
		h.Set("Content-Type", "image/svg+xml")
	}
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(data)
}
