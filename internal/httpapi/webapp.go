package httpapi

import (
	"bytes"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"testing/fstest"
	"time"
)

// handleWebApp serves the single-page app: files that exist are served as they are (hashed
// assets cached for a year), any other path gets index.html so the app's router can take it.
func handleWebApp(web fs.FS) http.Handler {
	if web == nil {
		web = fstest.MapFS{}
	}
	index, err := fs.ReadFile(web, "index.html")
	if err != nil {
		index = []byte("<!doctype html><title>Livehouse</title><p>The web app is not built. Run <code>make build</code>.</p>")
	}
	files := http.FileServerFS(web)
	serveIndex := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(index))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if name == "" || name == "index.html" {
			serveIndex(w, r)
			return
		}
		if st, err := fs.Stat(web, name); err != nil || st.IsDir() {
			if strings.HasPrefix(name, "assets/") {
				http.NotFound(w, r) // a missing hashed asset must not turn into HTML
				return
			}
			serveIndex(w, r)
			return
		}
		if strings.HasPrefix(name, "assets/") {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "public, max-age=3600")
		}
		files.ServeHTTP(w, r)
	})
}
