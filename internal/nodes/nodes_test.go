package nodes_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/bus"
	"github.com/livehouse/livehouse/internal/nodes"
)

func openBus(t *testing.T) *bus.Bus {
	t.Helper()
	b, err := bus.Open(context.Background(), bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// secret is the cluster's secret_key of the tests' nodes.
var secret = []byte("0123456789abcdef0123456789abcdef")

func newNode(t testing.TB, b *bus.Bus, name string, secret []byte) *nodes.Forwarder {
	t.Helper()
	f, err := nodes.New(b, name, secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestForward: a request forwarded to another node runs through that node's handler with the
// caller's credentials and address, marked as forwarded, and its answer comes back; headers
// outside the list stay behind.
func TestForward(t *testing.T) {
	b := openBus(t)
	home := newNode(t, b, "home.example.com", secret) // dots in a host name make no extra subject tokens
	type seen struct {
		forwarded                        bool
		auth, cookie, spoof, addr, query string
		body                             string
	}
	got := make(chan seen, 1)
	stop, err := home.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- seen{nodes.Forwarded(r.Context()), r.Header.Get("Authorization"), r.Header.Get("Cookie"), r.Header.Get("X-User-Id"), r.RemoteAddr, r.URL.RawQuery, string(body)}
		w.Header().Set("Location", "/api/whep/ch-1/s-1")
		w.Header().Set("X-Internal", "secret")
		w.Header().Set("Content-Type", "application/sdp")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "v=0 answer")
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	edge := newNode(t, b, "edge", secret)
	req := httptest.NewRequest("POST", "/api/whep/ch-1?token=t", strings.NewReader("ignored"))
	req.RemoteAddr = "192.0.2.7:5000"
	req.Header.Set("Authorization", "Bearer abc")
	req.Header.Set("Cookie", "session=xyz")
	req.Header.Set("X-User-Id", "u-admin")
	rec := httptest.NewRecorder()
	if err := edge.Forward(rec, req, "home.example.com", []byte("v=0 offer")); err != nil {
		t.Fatal(err)
	}
	s := <-got
	want := seen{true, "Bearer abc", "session=xyz", "", "192.0.2.7:5000", "token=t", "v=0 offer"}
	if s != want {
		t.Errorf("the home node saw %+v, want %+v", s, want)
	}
	if rec.Code != 201 || rec.Body.String() != "v=0 answer" || rec.Header().Get("Location") != "/api/whep/ch-1/s-1" ||
		rec.Header().Get("Content-Type") != "application/sdp" || rec.Header().Get("X-Internal") != "" {
		t.Errorf("answer: %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
	if nodes.Forwarded(req.Context()) {
		t.Error("a request received from a client counts as forwarded")
	}
}

// TestForwardBounds: a body over MaxBody is not sent; a node that is not on the bus is
// ErrNodeGone with nothing written; an answer over MaxResponse comes back as 502.
func TestForwardBounds(t *testing.T) {
	b := openBus(t)
	edge := newNode(t, b, "edge", secret)
	req := httptest.NewRequest("POST", "/api/stages/s/participants/p/media", nil)
	rec := httptest.NewRecorder()
	if err := edge.Forward(rec, req, "gone", []byte("x")); !errors.Is(err, nodes.ErrNodeGone) || rec.Code != 200 || rec.Body.Len() != 0 {
		t.Errorf("forwarding to a node not on the bus: %v (wrote %d %q)", err, rec.Code, rec.Body.String())
	}
	home := newNode(t, b, "home", secret)
	calls := 0
	stop, err := home.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Write(make([]byte, nodes.MaxResponse+1))
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if err := edge.Forward(httptest.NewRecorder(), req, "home", make([]byte, nodes.MaxBody+1)); err == nil || calls != 0 {
		t.Errorf("a body over MaxBody: err %v, %d calls", err, calls)
	}
	rec = httptest.NewRecorder()
	if err := edge.Forward(rec, req, "home", nil); err != nil || rec.Code != http.StatusBadGateway || rec.Body.Len() != 0 {
		t.Errorf("an answer over MaxResponse: %v, %d, %d bytes", err, rec.Code, rec.Body.Len())
	}
}

// TestForwardInFlight: a node handles at most MaxInFlight forwarded requests at once; the
// next is answered 503 without running, and once one ends another runs.
func TestForwardInFlight(t *testing.T) {
	b := openBus(t)
	home, edge := newNode(t, b, "home", secret), newNode(t, b, "edge", secret)
	entered, release := make(chan struct{}), make(chan struct{})
	stop, err := home.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			entered <- struct{}{}
			<-release
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	codes := make(chan int, nodes.MaxInFlight)
	for range nodes.MaxInFlight {
		go func() {
			rec := httptest.NewRecorder()
			if err := edge.Forward(rec, httptest.NewRequest("GET", "/block", nil), "home", nil); err != nil {
				t.Error(err)
			}
			codes <- rec.Code
		}()
	}
	for range nodes.MaxInFlight {
		<-entered
	}
	rec := httptest.NewRecorder()
	if err := edge.Forward(rec, httptest.NewRequest("GET", "/free", nil), "home", nil); err != nil || rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
		t.Errorf("one over MaxInFlight: %v %d %v, want 503 with Retry-After", err, rec.Code, rec.Header())
	}
	close(release)
	for range nodes.MaxInFlight {
		if code := <-codes; code != 204 {
			t.Errorf("a blocked request ended with %d", code)
		}
	}
	rec = httptest.NewRecorder()
	if err := edge.Forward(rec, httptest.NewRequest("GET", "/free", nil), "home", nil); err != nil || rec.Code != 204 {
		t.Errorf("after the others ended: %v %d", err, rec.Code)
	}
}

// TestForwardSealed: only a node with the cluster's key has a request run, only for the node
// it was sent to and only while it is fresh; an answer not sealed by the home node is refused
// with nothing written.
func TestForwardSealed(t *testing.T) {
	b := openBus(t)
	ran := make(chan string, 8)
	home := newNode(t, b, "home", secret)
	stop, err := home.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran <- r.RemoteAddr
		w.WriteHeader(http.StatusNoContent)
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	req := func() *http.Request {
		r := httptest.NewRequest("POST", "/api/stages/s/participants", nil)
		r.RemoteAddr = "192.0.2.9:1234"
		return r
	}

	// Another key (a node of another cluster, or anyone on the bus): nothing runs.
	other := newNode(t, b, "edge", []byte("another cluster's secret key 32!"))
	rec := httptest.NewRecorder()
	if err := other.Forward(rec, req(), "home", nil); !errors.Is(err, nodes.ErrUnsealed) || rec.Body.Len() != 0 || rec.Code != 200 {
		t.Errorf("a request under another key: %v (wrote %d)", err, rec.Code)
	}
	// A message with no seal at all, straight on the bus.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	raw, err := b.Request(ctx, "node.home.http", []byte(`{"to":"home","method":"GET","url":"/","remoteAddr":"203.0.113.1:1"}`))
	if err != nil || len(raw) != 0 {
		t.Errorf("an unsealed request got %q, %v; want an empty answer", raw, err)
	}
	// Too old, or from too far ahead: refused (403), nothing runs.
	for _, skew := range []time.Duration{-2 * nodes.MaxAge, 2 * nodes.MaxAge} {
		edge := newNode(t, b, "edge", secret)
		nodes.SetClock(edge, func() time.Time { return time.Now().Add(skew) })
		rec := httptest.NewRecorder()
		if err := edge.Forward(rec, req(), "home", nil); err != nil || rec.Code != http.StatusForbidden {
			t.Errorf("a request sent %v from now: %v %d, want 403", skew, err, rec.Code)
		}
	}
	if len(ran) != 0 {
		t.Fatalf("%d refused requests ran", len(ran))
	}
	// The same key, fresh: it runs with the caller's address.
	edge := newNode(t, b, "edge", secret)
	rec = httptest.NewRecorder()
	if err := edge.Forward(rec, req(), "home", nil); err != nil || rec.Code != http.StatusNoContent {
		t.Fatalf("a sealed request: %v %d", err, rec.Code)
	}
	if addr := <-ran; addr != "192.0.2.9:1234" {
		t.Errorf("ran with address %q", addr)
	}

	// An answer from someone else answering the home node's subject: refused, nothing written.
	sub, err := b.Respond("node.forged.http", func(_ string, _ []byte) []byte {
		return []byte(`{"status":200,"header":{"Set-Cookie":["session=stolen"]},"body":"aGk="}`)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	rec = httptest.NewRecorder()
	if err := edge.Forward(rec, req(), "forged", nil); !errors.Is(err, nodes.ErrUnsealed) || rec.Body.Len() != 0 || rec.Header().Get("Set-Cookie") != "" {
		t.Errorf("a forged answer: %v, wrote %q %v", err, rec.Body.String(), rec.Header())
	}
	if _, err := nodes.New(b, "x", []byte("short"), nil); err == nil {
		t.Error("a secret of 5 bytes was taken")
	}
}
