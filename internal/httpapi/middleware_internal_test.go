package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/problem"
)

// TestBodyDeadlineLiftedAfterTheBody: a handler that works on after reading its body (an
// upload waiting for its turn to decode) keeps its request context past the body timeout.
func TestBodyDeadlineLiftedAfterTheBody(t *testing.T) {
	const idle = 50 * time.Millisecond
	result := make(chan error, 1)
	srv := httptest.NewServer(bodyDeadline(idle, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			result <- err
			return
		}
		select {
		case <-r.Context().Done():
			result <- r.Context().Err()
		case <-time.After(bodyTimeLimit * idle * 2): // past every deadline the body had
			result <- nil
		}
	})))
	defer srv.Close()
	resp, err := http.Post(srv.URL, "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-result; err != nil {
		t.Errorf("handler after reading its body: %v", err)
	}
}

// TestUnavailableAnswers503: a full queue (image decoding) is a 503 with Retry-After.
func TestUnavailableAnswers503(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("PUT", "/api/me/assets/banner", nil)
	writeError(rec, req, slog.New(slog.NewTextHandler(io.Discard, nil)), problem.Unavailable("ImageProcessingBusy", "Try again.", 2*time.Second))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "2" || !strings.Contains(rec.Body.String(), `"ImageProcessingBusy"`) {
		t.Errorf("got %d Retry-After %q %s, want 503 with Retry-After 2", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
}
