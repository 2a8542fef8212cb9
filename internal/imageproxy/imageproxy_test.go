package imageproxy

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	img.Set(0, 0, color.NRGBA{R: 10, G: 20, B: 30, A: 0xff})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// site is another web site: its routes, and how many requests reached it.
func site(t *testing.T, routes map[string]http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	mux := http.NewServeMux()
	for p, h := range routes {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			h(w, r)
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &hits
}

func loopbackOnly(a netip.Addr) bool { return a.IsLoopback() }

func TestPublic(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"93.184.216.34", true},
		{"2606:2800:220:1:248:1893:25c8:1946", true},
		{"127.0.0.1", false},
		{"::1", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"100.64.0.1", false},
		{"0.0.0.0", false},
		{"fd00::1", false},
		{"fe80::1", false},
		{"224.0.0.1", false},
		{"64:ff9b::a00:1", false},
	}
	for _, tt := range tests {
		if got := Public(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("Public(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}

// The default proxy refuses every non-public destination before or at the dial: nothing
// reaches the local server.
func TestRefusesNonPublic(t *testing.T) {
	srv, hits := site(t, map[string]http.HandlerFunc{"/": func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngBytes(t, 4, 4))
	}})
	p := New(Config{})
	tests := []struct {
		url  string
		want error
	}{
		{srv.URL + "/a.png", ErrNotAllowed},
		{"http://localhost:1/a.png", ErrNotAllowed},
		{"http://[::1]:1/a.png", ErrNotAllowed},
		{"http://169.254.169.254/latest/meta-data", ErrNotAllowed},
		{"http://10.0.0.1/a.png", ErrNotAllowed},
		{"ftp://example.com/a.png", ErrBadURL},
		{"/relative.png", ErrBadURL},
		{"javascript:alert(1)", ErrBadURL},
		{"http://user:pass@example.com/a.png", ErrBadURL},
		{"http://%zz/", ErrBadURL},
	}
	for _, tt := range tests {
		if _, err := p.Fetch(context.Background(), tt.url); !errors.Is(err, tt.want) {
			t.Errorf("Fetch(%q) = %v, want %v", tt.url, err, tt.want)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests reached the local server, want 0", n)
	}
}

// A redirect is checked at its own dial: an allowed site cannot bounce the proxy elsewhere.
func TestRedirectToForbiddenAddress(t *testing.T) {
	srv, _ := site(t, map[string]http.HandlerFunc{"/go": func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://10.0.0.1/secret.png", http.StatusFound)
	}})
	p := New(Config{AllowAddr: loopbackOnly, Timeout: 5 * time.Second})
	if _, err := p.Fetch(context.Background(), srv.URL+"/go"); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("Fetch through a redirect to 10.0.0.1 = %v, want ErrNotAllowed", err)
	}
}

func TestFetchChecksAndCaches(t *testing.T) {
	good := pngBytes(t, 1600, 400)
	srv, hits := site(t, map[string]http.HandlerFunc{
		"/good.png": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			w.Write(good)
		},
		"/page.html": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<script>alert(1)</script>"))
		},
		"/lying.png": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			w.Write([]byte("<svg onload=alert(1)>"))
		},
		"/huge.png": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			w.Write(make([]byte, 64<<10))
		},
		"/gone.png": http.NotFound,
	})
	// The timeout is not under test here: 5 s (the default) for fetching, decoding and scaling
	// good.png ran out with -race beside the whole of make test.
	p := New(Config{AllowAddr: loopbackOnly, MaxBytes: 32 << 10, MaxEdge: 400, Timeout: time.Minute})
	tests := []struct {
		path string
		want error
	}{
		{"/page.html", ErrNotImage},
		{"/lying.png", ErrNotImage},
		{"/huge.png", ErrTooLarge},
		{"/gone.png", ErrUnavailable},
		{"/good.png", nil},
	}
	for _, tt := range tests {
		res, err := p.Fetch(context.Background(), srv.URL+tt.path)
		if !errors.Is(err, tt.want) {
			t.Errorf("Fetch(%s) = %v, want %v", tt.path, err, tt.want)
		}
		if tt.want == nil && (res == nil || res.Width != 400 || res.Height != 100 || res.ContentType != "image/jpeg") {
			t.Errorf("Fetch(%s) = %+v, want a 400×100 JPEG", tt.path, res)
		}
	}
	before := hits.Load()
	if _, err := p.Fetch(context.Background(), srv.URL+"/good.png"); err != nil {
		t.Fatal(err)
	}
	if got := hits.Load() - before; got != 0 {
		t.Errorf("second fetch made %d requests, want 0 (cached)", got)
	}
	if n, _ := p.Cached(); n != 1 {
		t.Errorf("cache holds %d images, want 1 (failures are not cached)", n)
	}
}

func TestCacheIsBoundedAndExpires(t *testing.T) {
	srv, hits := site(t, map[string]http.HandlerFunc{"/": func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngBytes(t, 64, 64))
	}})
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	p := New(Config{AllowAddr: loopbackOnly, Now: func() time.Time { return now }, CacheTTL: time.Minute})
	one, err := p.Fetch(context.Background(), srv.URL+"/1.png")
	if err != nil {
		t.Fatal(err)
	}
	// Room for two images: a third evicts the least recently used.
	p = New(Config{AllowAddr: loopbackOnly, Now: func() time.Time { return now }, CacheTTL: time.Minute, CacheBytes: 2*len(one.Data) + 1})
	for _, name := range []string{"/1.png", "/2.png", "/1.png", "/3.png"} {
		if _, err := p.Fetch(context.Background(), srv.URL+name); err != nil {
			t.Fatal(err)
		}
	}
	if n, size := p.Cached(); n != 2 || size > 2*len(one.Data)+1 {
		t.Errorf("cache = %d images, %d bytes; want 2 within the bound", n, size)
	}
	before := hits.Load()
	p.Fetch(context.Background(), srv.URL+"/1.png") // kept: used more recently than 2
	p.Fetch(context.Background(), srv.URL+"/2.png") // evicted
	if got := hits.Load() - before; got != 1 {
		t.Errorf("%d fetches reached the site, want 1 (only the evicted image)", got)
	}
	now = now.Add(2 * time.Minute)
	before = hits.Load()
	p.Fetch(context.Background(), srv.URL+"/1.png")
	if got := hits.Load() - before; got != 1 {
		t.Errorf("%d fetches after the TTL, want 1", got)
	}
}
