package httpapi_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/livehouse/livehouse/internal/httpapi"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
)

func TestHealthzAndMetrics(t *testing.T) {
	e := newEnv(t)
	h := e.want(e.call("GET", "/healthz", "", nil), 200).json(t)
	if h["status"] != "ok" {
		t.Errorf("healthz = %v", h)
	}
	e.call("GET", "/api/config", "", nil)
	m := e.want(e.call("GET", "/metrics", "", nil), 200)
	if !strings.Contains(string(m.body), `livehouse_http_requests_total{code="200",method="GET",route="GET /api/config"}`) {
		t.Errorf("metrics lack the request counter:\n%s", m.body)
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	res := e.call("GET", "/api/config", "", nil)
	for _, h := range []string{"X-Content-Type-Options", "Content-Security-Policy", "Referrer-Policy", "X-Frame-Options"} {
		if res.header.Get(h) == "" {
			t.Errorf("missing %s", h)
		}
	}
}

func TestWebAppFallback(t *testing.T) {
	web := fstest.MapFS{
		"index.html":        {Data: []byte("<html>app</html>")},
		"assets/app-abc.js": {Data: []byte("console.log(1)")},
		"avatars/bear.svg":  {Data: []byte("<svg/>")},
	}
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Web: web}))
	defer srv.Close()
	tests := []struct {
		path, body, cache string
		status            int
	}{
		{"/", "<html>app</html>", "no-cache", 200},
		{"/settings", "<html>app</html>", "no-cache", 200},
		{"/alice", "<html>app</html>", "no-cache", 200},
		{"/health/st-123", "<html>app</html>", "no-cache", 200},
		{"/assets/app-abc.js", "console.log(1)", "public, max-age=31536000, immutable", 200},
		{"/assets/missing.js", "", "", 404},
	}
	for _, tt := range tests {
		res, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.path, res.StatusCode, tt.status)
			continue
		}
		if tt.status == 200 && (string(body) != tt.body || res.Header.Get("Cache-Control") != tt.cache) {
			t.Errorf("%s: body %q cache %q; want %q %q", tt.path, body, res.Header.Get("Cache-Control"), tt.body, tt.cache)
		}
	}
}
