// Package ui is the share page at /ui/: a static page, embedded in the binary, on
// which a person sees what they may share and makes a link to an object. The page
// holds no data; everything it shows comes from the API, asked with the caller's own
// identity (a trusted proxy's headers, a pasted token, or the development token).
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed index.html app.js style.css
var files embed.FS

// Options configure the page.
type Options struct {
	// DevToken is the token the page uses without asking, served at /ui/dev.json.
	// Only serve --dev sets it (its token is public); when empty, /ui/dev.json is 404.
	DevToken string
}

// ContentSecurityPolicy is the page's policy: its own files only, no inline script or
// style, never framed.
const ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// contentTypes are the types of the page's files, by extension.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// Handler serves the page: /ui redirects to /ui/, /ui/ is index.html, /ui/NAME one of
// its files, and /ui/dev.json the development token when o.DevToken is set. Anything
// else is 404; methods other than GET and HEAD are 405.
func Handler(o Options) http.Handler {
	var devJSON []byte
	if o.DevToken != "" {
		devJSON, _ = json.Marshal(struct {
			Token string `json:"token"`
		}{o.DevToken})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed: the page accepts only GET and HEAD", http.StatusMethodNotAllowed)
			return
		}
		if r.URL.Path == "/ui" {
			// Relative, so that it holds behind a proxy that serves presignd under a path.
			h.Set("Location", "ui/")
			w.WriteHeader(http.StatusMovedPermanently)
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, "/ui/")
		switch {
		case !ok || strings.Contains(name, "/"):
			http.NotFound(w, r)
		case name == "" || name == "index.html":
			serveFile(w, r, "index.html")
		case name == "dev.json":
			if devJSON == nil {
				http.NotFound(w, r)
				return
			}
			h.Set("Cache-Control", "no-store")
			h.Set("Content-Type", "application/json")
			w.Write(devJSON)
		case contentTypes[path.Ext(name)] != "":
			serveFile(w, r, name)
		default:
			http.NotFound(w, r)
		}
	})
}

// serveFile writes one of the embedded files, or 404 when there is none by that name.
// Its ETag is the SHA-256 of its content, so a browser revalidates cheaply.
func serveFile(w http.ResponseWriter, r *http.Request, name string) {
	data, err := files.ReadFile(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	sum := sha256.Sum256(data)
	w.Header().Set("Content-Type", contentTypes[path.Ext(name)])
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}
