package httpapi

import (
	"bytes"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"testing/fstest"
	"time"
)

// handleWebApp serves the single-page app: files that exist are served as they are (hashed
// assets cached for a year, immutable), any other path gets index.html so the app's router can
// take it. The build precompresses text assets (name.br, name.gz beside name); a browser that
// accepts one gets it with Content-Encoding, and every such response says Vary:
// Accept-Encoding so caches keep the versions apart.
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
		if serveEncoded(w, r, web, name) {
			return
		}
		files.ServeHTTP(w, r)
	})
}

// encodings are the precompressed variants the build writes, best first.
var encodings = []struct{ token, ext string }{{"br", ".br"}, {"gzip", ".gz"}}

// serveEncoded answers with a precompressed variant of name when the build made one and the
// request accepts it; it reports whether it answered.
func serveEncoded(w http.ResponseWriter, r *http.Request, web fs.FS, name string) bool {
	found := false
	for _, e := range encodings {
		st, err := fs.Stat(web, name+e.ext)
		if err != nil || st.IsDir() {
			continue
		}
		found = true
		if !accepts(r.Header.Get("Accept-Encoding"), e.token) {
			continue
		}
		data, err := fs.ReadFile(web, name+e.ext)
		if err != nil {
			return false
		}
		h := w.Header()
		h.Add("Vary", "Accept-Encoding")
		h.Set("Content-Encoding", e.token)
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		h.Set("Content-Type", ctype)
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
		return true
	}
	if found {
		w.Header().Add("Vary", "Accept-Encoding")
	}
	return false
}

// accepts reports whether an Accept-Encoding header allows a coding: named, or covered by "*",
// with a q-value above zero.
func accepts(header, coding string) bool {
	star := false
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.TrimSpace(name)
		allowed := !zeroQ(params)
		if strings.EqualFold(name, coding) {
			return allowed
		}
		if name == "*" {
			star = allowed
		}
	}
	return star
}

func zeroQ(params string) bool {
	q, ok := strings.CutPrefix(strings.ReplaceAll(strings.TrimSpace(params), " ", ""), "q=")
	return ok && strings.Trim(q, "0.") == ""
}
