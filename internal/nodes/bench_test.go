package nodes_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/livehouse/livehouse/internal/bus"
)

// BenchmarkForward measures one forwarded request's round trip (a 4 KiB offer in, a 4 KiB
// answer out) beyond the handler itself: over the NATS server of LIVEHOUSE_TEST_NATS_URL
// when set, else the embedded one.
func BenchmarkForward(b *testing.B) {
	bu, err := bus.Open(context.Background(), bus.Config{URL: os.Getenv("LIVEHOUSE_TEST_NATS_URL")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer bu.Close()
	name := "bench-" + strings.ReplaceAll(b.Name(), "/", "-")
	answer := strings.Repeat("a", 4<<10)
	stop, err := newNode(b, bu, name, secret).Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/sdp")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(answer))
	}))
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	edge := newNode(b, bu, "edge", secret)
	offer := []byte(strings.Repeat("o", 4<<10))
	b.ResetTimer()
	for range b.N {
		rec := httptest.NewRecorder()
		if err := edge.Forward(rec, httptest.NewRequest("POST", "/api/whep/ch", nil), name, offer); err != nil || rec.Code != 201 {
			b.Fatalf("%v %d", err, rec.Code)
		}
	}
}
