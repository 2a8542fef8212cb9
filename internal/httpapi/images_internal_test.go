package httpapi

import (
	"bytes"
	"encoding/json"
	"image"
	_ "image/jpeg" // decodes the re-encoded answer
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"

	"github.com/livehouse/livehouse/internal/imageproxy"
)

func TestImageProxyStatuses(t *testing.T) {
	var pic bytes.Buffer
	if err := png.Encode(&pic, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/shoe.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(pic.Bytes())
		case "/page.html":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<p>hi</p>"))
		case "/big.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(make([]byte, 8<<10))
		default:
			http.NotFound(w, r)
		}
	}))
	defer other.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	proxy := imageproxy.New(imageproxy.Config{AllowAddr: func(a netip.Addr) bool { return a.IsLoopback() }, MaxBytes: 4 << 10})
	h := handleImageProxy(proxy, log)
	tests := []struct {
		name, url  string
		status     int
		code, kind string
	}{
		{"an image", other.URL + "/shoe.png", 200, "", "image/"},
		{"no url", "", 400, "InvalidImageURL", ""},
		{"not http", "file:///etc/passwd", 400, "InvalidImageURL", ""},
		{"private address", "http://192.168.0.1/a.png", 400, "ImageURLNotAllowed", ""},
		{"not an image", other.URL + "/page.html", 415, "NotAnImage", ""},
		{"too large", other.URL + "/big.png", 413, "ImageTooLarge", ""},
		{"missing upstream", other.URL + "/gone.png", 502, "ImageUnavailable", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/images?url="+url.QueryEscape(tt.url), nil))
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.code != "" {
				var body errorBody
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != tt.code {
					t.Errorf("error = %s, want code %s", rec.Body, tt.code)
				}
				return
			}
			if got := rec.Header().Get("Content-Type"); got != "image/jpeg" && got != "image/png" {
				t.Errorf("Content-Type = %q, want a re-encoded JPEG or PNG", got)
			}
			if got := rec.Header().Get("Cache-Control"); got != "public, max-age=86400" {
				t.Errorf("Cache-Control = %q", got)
			}
			if _, _, err := image.Decode(rec.Body); err != nil {
				t.Errorf("body is not an image: %v", err)
			}
		})
	}
	rec := httptest.NewRecorder()
	handleImageProxy(nil, log).ServeHTTP(rec, httptest.NewRequest("GET", "/api/images?url=x", nil))
	if rec.Code != 404 {
		t.Errorf("without a proxy: status %d, want 404", rec.Code)
	}
}
