package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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
