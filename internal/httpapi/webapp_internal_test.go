package httpapi

import (
	"net/http/httptest"
	"testing"
	"testing/fstest"
)

func TestWebAppPrecompressed(t *testing.T) {
	web := fstest.MapFS{
		"index.html":            {Data: []byte("<!doctype html><title>app</title>")},
		"favicon.svg":           {Data: []byte("<svg/>")},
		"assets/app-1a2b.js":    {Data: []byte("console.log('plain')")},
		"assets/app-1a2b.js.br": {Data: []byte("BROTLI")},
		"assets/app-1a2b.js.gz": {Data: []byte("GZIP")},
		"assets/only-gz.css":    {Data: []byte("body{}")},
		"assets/only-gz.css.gz": {Data: []byte("GZCSS")},
	}
	h := handleWebApp(web)
	tests := []struct {
		name, path, accept           string
		status                       int
		body, encoding, ctype, cache string
		vary                         bool
	}{
		{"brotli first", "/assets/app-1a2b.js", "gzip, deflate, br, zstd", 200, "BROTLI", "br", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", true},
		{"gzip when no brotli", "/assets/app-1a2b.js", "gzip", 200, "GZIP", "gzip", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", true},
		{"brotli refused", "/assets/app-1a2b.js", "br;q=0, gzip;q=0.8", 200, "GZIP", "gzip", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", true},
		{"any coding", "/assets/app-1a2b.js", "*", 200, "BROTLI", "br", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", true},
		{"identity", "/assets/app-1a2b.js", "", 200, "console.log('plain')", "", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", true},
		{"gzip only file", "/assets/only-gz.css", "br, gzip", 200, "GZCSS", "gzip", "text/css; charset=utf-8", "public, max-age=31536000, immutable", true},
		{"no variants", "/favicon.svg", "br, gzip", 200, "<svg/>", "", "image/svg+xml", "public, max-age=3600", false},
		{"missing asset", "/assets/gone.js", "br", 404, "", "", "", "", false},
		{"app route", "/alice", "br", 200, "<!doctype html><title>app</title>", "", "text/html; charset=utf-8", "no-cache", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.path, nil)
			if tt.accept != "" {
				req.Header.Set("Accept-Encoding", tt.accept)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d", rec.Code, tt.status)
			}
			if tt.status != 200 {
				return
			}
			got := rec.Header()
			if rec.Body.String() != tt.body {
				t.Errorf("body = %q, want %q", rec.Body, tt.body)
			}
			if got.Get("Content-Encoding") != tt.encoding {
				t.Errorf("Content-Encoding = %q, want %q", got.Get("Content-Encoding"), tt.encoding)
			}
			if got.Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type = %q, want %q", got.Get("Content-Type"), tt.ctype)
			}
			if got.Get("Cache-Control") != tt.cache {
				t.Errorf("Cache-Control = %q, want %q", got.Get("Cache-Control"), tt.cache)
			}
			if vary := got.Get("Vary") == "Accept-Encoding"; vary != tt.vary {
				t.Errorf("Vary = %q, want Accept-Encoding: %v", got.Get("Vary"), tt.vary)
			}
		})
	}
}
