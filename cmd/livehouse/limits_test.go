package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHTTPLimitsWired: the configured per-address cap and body timeout hold on the real
// listener: the third connection from one address gets 503 while others are served, and a
// stalled request body is cut off.
func TestHTTPLimitsWired(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"LIVEHOUSE_DATA_DIR": t.TempDir(), "LIVEHOUSE_LOG_LEVEL": "error", "LIVEHOUSE_RTMP_ADDR": freePort(t),
		"LIVEHOUSE_MAX_CONNECTIONS_PER_ADDRESS": "2", "LIVEHOUSE_HTTP_BODY_TIMEOUT_SECONDS": "1"}
	base, stop := startServer(t, vars)
	defer stop()
	addr := strings.TrimPrefix(base, "http://")
	dial := func(from string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	healthz := func(c net.Conn) int {
		t.Helper()
		c.SetDeadline(time.Now().Add(time.Minute))
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("reading the answer: %v", err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for range 2 {
		if got := healthz(dial("127.0.0.2")); got != 200 {
			t.Fatalf("within the cap: %d", got)
		}
	}
	if got := healthz(dial("127.0.0.2")); got != http.StatusServiceUnavailable {
		t.Errorf("third connection from one address: %d, want 503", got)
	}
	if got := healthz(dial("127.0.0.3")); got != 200 {
		t.Errorf("another address: %d, want 200", got)
	}

	slow := dial("127.0.0.4")
	io.WriteString(slow, "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	slow.SetReadDeadline(time.Now().Add(time.Minute)) // a safety net far beyond the 1 s timeout
	_, err := io.ReadAll(slow)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Error("a stalled request body kept its connection")
	}
}
