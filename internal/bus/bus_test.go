package bus

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// waitTimeout bounds every wait for a message; delivery takes microseconds, so reaching it
// means the message is lost, not late.
const waitTimeout = 5 * time.Second

// externalURLEnv names the external NATS server the suite also runs against, when set.
const externalURLEnv = "LIVEHOUSE_TEST_NATS_URL"

type msg struct {
	Subject string
	Data    string
}

// collect returns a handler that forwards every message to the returned channel.
func collect() (Handler, chan msg) {
	ch := make(chan msg, 1024)
	return func(subject string, data []byte) { ch <- msg{subject, string(data)} }, ch
}

// receive waits for n messages on ch.
func receive(t *testing.T, ch <-chan msg, n int) []msg {
	t.Helper()
	var got []msg
	timeout := time.After(waitTimeout)
	for len(got) < n {
		select {
		case m := <-ch:
			got = append(got, m)
		case <-timeout:
			t.Fatalf("received %d of %d messages within %s: %v", len(got), n, waitTimeout, got)
		}
	}
	return got
}

// settle returns once every message the server had sent to b before the call has been handed
// to its handler and the handler has returned: the ping's reply comes after those messages on
// the wire, and the barrier then waits for the handlers that were dispatched.
func settle(t *testing.T, b *Bus) {
	t.Helper()
	ping(t, b)
	done := make(chan struct{})
	if err := b.nc.Barrier(func() { close(done) }); err != nil {
		t.Fatalf("Barrier: %v", err)
	}
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatalf("handlers still running after %s", waitTimeout)
	}
}

func ping(t *testing.T, b *Bus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	if err := b.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// uniqueSubject returns a subject no other test uses, so tests sharing one external server
// never see each other's messages.
func uniqueSubject() string {
	return "livehouse.test." + strings.ToLower(rand.Text())
}

func mustSubscribe(t *testing.T, b *Bus, subject string, h Handler) Subscription {
	t.Helper()
	sub, err := b.Subscribe(subject, h)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", subject, err)
	}
	return sub
}

func mustPublish(t *testing.T, b *Bus, subject, data string) {
	t.Helper()
	if err := b.Publish(t.Context(), subject, []byte(data)); err != nil {
		t.Fatalf("Publish(%q): %v", subject, err)
	}
}

func open(t *testing.T, cfg Config) *Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	b, err := Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open(%+v): %v", cfg, err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

func openEmbedded(t *testing.T) *Bus {
	return open(t, Config{Name: "livehouse-test"})
}

func openExternal(t *testing.T) *Bus {
	return open(t, Config{URL: externalURL(t), Name: "livehouse-test"})
}

// externalURL returns the external server's URL, or skips the test when there is none.
func externalURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv(externalURLEnv)
	if url == "" {
		t.Skipf("%s is not set; set it to a NATS server URL (e.g. nats://127.0.0.1:4222) to run against an external server", externalURLEnv)
	}
	return url
}

// modes runs the same suite against the embedded server and, when configured, an external one.
var modes = []struct {
	name     string
	open     func(t *testing.T) *Bus
	embedded bool
}{
	{"embedded", openEmbedded, true},
	{"external", openExternal, false},
}

func TestBus(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			if !mode.embedded {
				externalURL(t)
			}
			t.Run("Embedded", func(t *testing.T) {
				b := mode.open(t)
				if got, want := b.Embedded(), mode.embedded; got != want {
					t.Errorf("Embedded() = %v, want %v", got, want)
				}
			})
			t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, mode.open(t)) })
			t.Run("Wildcard", func(t *testing.T) { testWildcard(t, mode.open(t)) })
			t.Run("Unsubscribe", func(t *testing.T) { testUnsubscribe(t, mode.open(t)) })
			t.Run("Ping", func(t *testing.T) { testPing(t, mode.open(t)) })
			t.Run("PublishCancelled", func(t *testing.T) { testPublishCancelled(t, mode.open(t)) })
			t.Run("CloseDrains", func(t *testing.T) { testCloseDrains(t, mode.open(t)) })
			t.Run("AfterClose", func(t *testing.T) { testAfterClose(t, mode.open(t)) })
		})
	}
}

func testRoundTrip(t *testing.T, b *Bus) {
	tests := []struct {
		name string
		data string
	}{
		{"text", "hello"},
		{"empty", ""},
		{"binary", "\x00\xff\r\n\x01"},
		{"large", strings.Repeat("x", 256<<10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subject := uniqueSubject()
			h, ch := collect()
			mustSubscribe(t, b, subject, h)
			mustPublish(t, b, subject, tt.data)
			got := receive(t, ch, 1)
			want := []msg{{subject, tt.data}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("received (-want +got):\n%s", diff)
			}
		})
	}
}

func testWildcard(t *testing.T, b *Bus) {
	// Each case's last published subject must match, so that receiving len(want) messages
	// in order also proves no unmatched one slipped in before it.
	tests := []struct {
		name    string
		pattern string
		publish []string
		want    []string
	}{
		{
			name:    "one token",
			pattern: "*.chat",
			publish: []string{"a.chat", "a.b.chat", "a.events", "chat", "b.chat"},
			want:    []string{"a.chat", "b.chat"},
		},
		{
			name:    "middle token",
			pattern: "channel.*.events",
			publish: []string{"channel.1.events", "channel.1.chat", "channel.1.2.events", "channel.2.events"},
			want:    []string{"channel.1.events", "channel.2.events"},
		},
		{
			name:    "rest",
			pattern: "a.>",
			publish: []string{"a", "a.x", "b.x", "a.x.y.z", "a.y"},
			want:    []string{"a.x", "a.x.y.z", "a.y"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := uniqueSubject()
			h, ch := collect()
			mustSubscribe(t, b, base+"."+tt.pattern, h)
			for i, s := range tt.publish {
				mustPublish(t, b, base+"."+s, s+string(rune('0'+i)))
			}
			var got []string
			for _, m := range receive(t, ch, len(tt.want)) {
				got = append(got, strings.TrimPrefix(m.Subject, base+"."))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("subjects received on %q (-want +got):\n%s", tt.pattern, diff)
			}
		})
	}
}

func testUnsubscribe(t *testing.T, b *Bus) {
	subject := uniqueSubject()
	gone, goneCh := collect()
	sub := mustSubscribe(t, b, subject, gone)
	// A second subscriber shows the message was delivered, so the first one's silence means
	// something.
	stay, stayCh := collect()
	mustSubscribe(t, b, subject, stay)

	mustPublish(t, b, subject, "before")
	receive(t, goneCh, 1)
	receive(t, stayCh, 1)

	if err := sub.Unsubscribe(); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	mustPublish(t, b, subject, "after")
	if got, want := receive(t, stayCh, 1), []msg{{subject, "after"}}; !cmp.Equal(got, want) {
		t.Fatalf("remaining subscriber got %v, want %v", got, want)
	}
	settle(t, b)
	select {
	case m := <-goneCh:
		t.Errorf("unsubscribed handler got %v", m)
	default:
	}

	if err := sub.Unsubscribe(); err == nil {
		t.Errorf("second Unsubscribe: got nil error, want one")
	}
}

func testPing(t *testing.T, b *Bus) {
	ping(t, b)
	// Without a deadline Ping supplies its own rather than failing or waiting forever.
	if err := b.Ping(context.Background()); err != nil {
		t.Errorf("Ping without deadline: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Ping(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Ping with cancelled ctx: got %v, want %v", err, context.Canceled)
	}
}

func testPublishCancelled(t *testing.T, b *Bus) {
	subject := uniqueSubject()
	h, ch := collect()
	mustSubscribe(t, b, subject, h)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Publish(ctx, subject, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Publish with cancelled ctx: got %v, want %v", err, context.Canceled)
	}
	settle(t, b)
	select {
	case m := <-ch:
		t.Errorf("message published with a cancelled ctx was delivered: %v", m)
	default:
	}
}

func testCloseDrains(t *testing.T, b *Bus) {
	subject := uniqueSubject()
	const n = 100
	var (
		mu  sync.Mutex
		got int
	)
	mustSubscribe(t, b, subject, func(string, []byte) {
		mu.Lock()
		got++
		mu.Unlock()
	})
	for range n {
		mustPublish(t, b, subject, "x")
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got != n {
		t.Errorf("handled %d messages by the time Close returned, want %d", got, n)
	}
}

func testAfterClose(t *testing.T, b *Bus) {
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := b.Publish(t.Context(), uniqueSubject(), []byte("x")); !errors.Is(err, nats.ErrConnectionClosed) {
		t.Errorf("Publish after Close: got %v, want %v", err, nats.ErrConnectionClosed)
	}
	if _, err := b.Subscribe(uniqueSubject(), func(string, []byte) {}); err == nil {
		t.Errorf("Subscribe after Close: got nil error, want one")
	}
	if err := b.Ping(t.Context()); err == nil {
		t.Errorf("Ping after Close: got nil error, want one")
	}
}

// TestCrossNode is the property a cluster relies on: two nodes connected to the same server
// see each other's messages, whichever of them publishes.
func TestCrossNode(t *testing.T) {
	a, b := openExternal(t), openExternal(t)
	subject := uniqueSubject()
	ha, cha := collect()
	hb, chb := collect()
	mustSubscribe(t, a, subject+".>", ha)
	mustSubscribe(t, b, subject+".>", hb)
	// The subscriptions must have reached the server before the other node publishes.
	ping(t, a)
	ping(t, b)

	mustPublish(t, a, subject+".from.a", "hello from a")
	mustPublish(t, b, subject+".from.b", "hello from b")

	want := map[string]string{subject + ".from.a": "hello from a", subject + ".from.b": "hello from b"}
	for name, ch := range map[string]chan msg{"a": cha, "b": chb} {
		got := map[string]string{}
		for _, m := range receive(t, ch, 2) {
			got[m.Subject] = m.Data
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("node %s received (-want +got):\n%s", name, diff)
		}
	}
}

// TestEmbeddedIsolated checks the flip side: two embedded buses are two separate servers, so a
// message on one never reaches the other.
func TestEmbeddedIsolated(t *testing.T) {
	a, b := openEmbedded(t), openEmbedded(t)
	subject := uniqueSubject()
	ha, cha := collect()
	hb, chb := collect()
	mustSubscribe(t, a, subject, ha)
	mustSubscribe(t, b, subject, hb)
	mustPublish(t, a, subject, "x")
	receive(t, cha, 1)
	settle(t, b)
	select {
	case m := <-chb:
		t.Errorf("second embedded bus received %v from the first", m)
	default:
	}
}

func TestEmbeddedOpensNoListener(t *testing.T) {
	b := openEmbedded(t)
	if addr := b.srv.Addr(); addr != nil {
		t.Errorf("embedded server listens on %v, want no listener", addr)
	}
}

func TestEmbeddedServerLogsToSlog(t *testing.T) {
	rec := newRecorder()
	b, err := Open(t.Context(), Config{}, slog.New(rec))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var found bool
	for _, r := range rec.all() {
		if r.Message == "Server is ready" {
			found = true
			if r.Level != slog.LevelDebug {
				t.Errorf("%q logged at %v, want %v", r.Message, r.Level, slog.LevelDebug)
			}
		}
	}
	if !found {
		t.Errorf("the embedded server's start-up notice did not reach slog")
	}
}

func TestOpenFails(t *testing.T) {
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		url     string
		wantErr string
	}{
		{"unreachable", t.Context(), "nats://127.0.0.1:1", "connect to nats at nats://127.0.0.1:1"},
		{"cancelled", cancelled, "nats://127.0.0.1:1", "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(tt.ctx, time.Second)
			defer cancel()
			start := time.Now()
			b, err := Open(ctx, Config{URL: tt.url}, nil)
			if err == nil {
				b.Close()
				t.Fatalf("Open(%q): got nil error, want one", tt.url)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Open(%q) error = %q, want it to contain %q", tt.url, err, tt.wantErr)
			}
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("Open took %s, want it bounded by the ctx deadline of 1s", elapsed)
			}
		})
	}
}

// TestReconnect restarts the server under an external-mode bus: the bus must log the
// outage, come back on its own and resubscribe, so messages flow again without the caller
// doing anything.
func TestReconnect(t *testing.T) {
	srv := startTCPServer(t, -1)
	port := srv.Addr().(*net.TCPAddr).Port
	rec := newRecorder()
	b, err := Open(t.Context(), Config{URL: srv.ClientURL(), Name: "livehouse-test"}, slog.New(rec))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer b.Close()
	subject := uniqueSubject()
	h, ch := collect()
	mustSubscribe(t, b, subject, h)
	ping(t, b)

	srv.Shutdown()
	srv.WaitForShutdown()
	rec.wait(t, "bus disconnected")
	startTCPServer(t, port)
	rec.wait(t, "bus reconnected")

	mustPublish(t, b, subject, "after restart")
	if diff := cmp.Diff([]msg{{subject, "after restart"}}, receive(t, ch, 1)); diff != "" {
		t.Errorf("received after reconnect (-want +got):\n%s", diff)
	}
}

// startTCPServer runs a NATS server on 127.0.0.1 for the length of the test; port -1 picks a
// free one.
func startTCPServer(t *testing.T, port int) *server.Server {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatalf("new nats server: %v", err)
	}
	srv.Start()
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	if !srv.ReadyForConnections(waitTimeout) {
		t.Fatalf("nats server on port %d not ready within %s", port, waitTimeout)
	}
	return srv
}

func TestSlowConsumerLogged(t *testing.T) {
	rec := newRecorder()
	b, err := Open(t.Context(), Config{}, slog.New(rec))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer b.Close()

	subject := uniqueSubject()
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	sub := mustSubscribe(t, b, subject, func(string, []byte) {
		select {
		case started <- struct{}{}:
		default:
		}
		<-release
	})
	// The limit counts the message being handled too: with the handler stuck on the first,
	// the second waits and the third is dropped.
	if err := sub.(subscription).sub.SetPendingLimits(2, -1); err != nil {
		t.Fatalf("SetPendingLimits: %v", err)
	}
	mustPublish(t, b, subject, "taken")
	select {
	case <-started:
	case <-time.After(waitTimeout):
		t.Fatal("handler not called")
	}
	mustPublish(t, b, subject, "pending")
	mustPublish(t, b, subject, "dropped")

	r := rec.wait(t, "bus subscriber too slow, messages dropped")
	close(release)
	got := map[string]string{}
	r.Attrs(func(a slog.Attr) bool {
		got[a.Key] = a.Value.String()
		return true
	})
	want := map[string]string{"subject": subject, "total": "1", "suppressed": "0", "dropped": "1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("slow-consumer log attributes (-want +got):\n%s", diff)
	}
	if got := b.slow.Load(); got != 1 {
		t.Errorf("slow-consumer count = %d, want 1", got)
	}
}

func TestLogLimiter(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type call struct {
		at             time.Duration // since t0
		wantOK         bool
		wantSuppressed int
	}
	tests := []struct {
		name  string
		calls []call
	}{
		{"first passes", []call{{0, true, 0}}},
		{"burst held back", []call{{0, true, 0}, {time.Second, false, 0}, {2 * time.Second, false, 0}}},
		{"next interval reports suppressed", []call{
			{0, true, 0}, {time.Second, false, 0}, {9 * time.Second, false, 0},
			{10 * time.Second, true, 2}, {11 * time.Second, false, 0}, {30 * time.Second, true, 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := logLimiter{interval: 10 * time.Second}
			for i, c := range tt.calls {
				suppressed, ok := l.allow(t0.Add(c.at))
				if ok != c.wantOK || suppressed != c.wantSuppressed {
					t.Errorf("call %d at +%s: allow() = (%d, %v), want (%d, %v)", i, c.at, suppressed, ok, c.wantSuppressed, c.wantOK)
				}
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://user:secret@nats.internal:4222", "nats://user:xxxxx@nats.internal:4222"},
		{"nats://a:1@n1:4222, nats://n2:4222", "nats://a:xxxxx@n1:4222,nats://n2:4222"},
	}
	for _, tt := range tests {
		if got := redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempts int
		want     time.Duration
	}{
		{0, 100 * time.Millisecond},
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{4, 800 * time.Millisecond},
		{7, 6400 * time.Millisecond},
		{8, 10 * time.Second},
		{1000, 10 * time.Second},
	}
	for _, tt := range tests {
		if got := backoff(tt.attempts); got != tt.want {
			t.Errorf("backoff(%d) = %s, want %s", tt.attempts, got, tt.want)
		}
		got := reconnectDelay(tt.attempts)
		if lo, hi := tt.want, tt.want+tt.want/5; got < lo || got > hi {
			t.Errorf("reconnectDelay(%d) = %s, want within [%s, %s]", tt.attempts, got, lo, hi)
		}
	}
}

func BenchmarkPublish(b *testing.B) {
	bus, err := Open(b.Context(), Config{}, nil)
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	defer bus.Close()
	subject := uniqueSubject()
	got := make(chan struct{}, 1)
	if _, err := bus.Subscribe(subject, func(string, []byte) { got <- struct{}{} }); err != nil {
		b.Fatalf("Subscribe: %v", err)
	}
	data := []byte(`{"type":"chat","text":"a typical chat message of modest length"}`)
	ctx := b.Context()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := bus.Publish(ctx, subject, data); err != nil {
			b.Fatalf("Publish: %v", err)
		}
		select {
		case <-got:
		case <-time.After(waitTimeout):
			b.Fatal("message not received")
		}
	}
}

// recorder is a slog.Handler that keeps every record, so tests can check what was logged.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
	added   chan struct{}
}

func newRecorder() *recorder { return &recorder{added: make(chan struct{}, 1)} }

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.records = append(r.records, rec.Clone())
	r.mu.Unlock()
	select {
	case r.added <- struct{}{}:
	default:
	}
	return nil
}

func (r *recorder) all() []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]slog.Record(nil), r.records...)
}

// wait returns the first record with message msg, waiting for it to be logged.
func (r *recorder) wait(t *testing.T, msg string) slog.Record {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		for _, rec := range r.all() {
			if rec.Message == msg {
				return rec
			}
		}
		select {
		case <-r.added:
		case <-timeout:
			t.Fatalf("%q not logged within %s", msg, waitTimeout)
		}
	}
}

// TestRequestReply: a request reaches the one node that answers its subject, across nodes
// when there is an external server; with nobody answering it fails at once.
func TestRequestReply(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			a, b := m.open(t), m.open(t)
			if m.embedded {
				b = a // two embedded buses do not see each other
			}
			subject := uniqueSubject()
			ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
			defer cancel()
			if _, err := a.Request(ctx, subject+".ch1", []byte("x")); !errors.Is(err, ErrNoResponders) {
				t.Errorf("request with no responder: %v, want ErrNoResponders", err)
			}
			sub, err := b.Respond(subject+".*", func(s string, data []byte) []byte {
				return []byte(s + ":" + string(data))
			})
			if err != nil {
				t.Fatal(err)
			}
			ping(t, b)
			got, err := a.Request(ctx, subject+".ch1", []byte("hello"))
			if err != nil || string(got) != subject+".ch1:hello" {
				t.Errorf("Request = %q, %v", got, err)
			}
			// A plain publish to the subject is not answered and does no harm.
			mustPublish(t, a, subject+".ch1", "not a request")
			if err := sub.Unsubscribe(); err != nil {
				t.Fatal(err)
			}
			ping(t, b)
			if _, err := a.Request(ctx, subject+".ch1", []byte("x")); !errors.Is(err, ErrNoResponders) {
				t.Errorf("request after the responder left: %v, want ErrNoResponders", err)
			}
		})
	}
}

// TestPrefix: a prefixed bus puts its prefix on the wire, hands its handlers subjects without
// it (also to requests), and hears nothing sent without it — two clusters on one NATS server
// stay apart.
func TestPrefix(t *testing.T) {
	b := open(t, Config{Name: "livehouse-test", Prefix: "clusterA"})
	wire, onWire := collect()
	raw, err := b.nc.Subscribe(">", func(m *nats.Msg) { wire(m.Subject, m.Data) })
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Unsubscribe()
	h, got := collect()
	mustSubscribe(t, b, "chat.*", h)
	ping(t, b)

	// Same connection, so the server keeps the order: had the unprefixed message reached the
	// subscription, it would arrive before the prefixed one.
	if err := b.nc.Publish("chat.other", []byte("other cluster")); err != nil {
		t.Fatal(err)
	}
	mustPublish(t, b, "chat.room", "ours")
	if diff := cmp.Diff([]msg{{"chat.room", "ours"}}, receive(t, got, 1)); diff != "" {
		t.Errorf("handler (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]msg{{"chat.other", "other cluster"}, {"clusterA.chat.room", "ours"}}, receive(t, onWire, 2)); diff != "" {
		t.Errorf("on the wire (-want +got):\n%s", diff)
	}

	if _, err := b.Respond("rpc.*", func(s string, data []byte) []byte { return []byte(s) }); err != nil {
		t.Fatal(err)
	}
	ping(t, b)
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	if reply, err := b.Request(ctx, "rpc.x", nil); err != nil || string(reply) != "rpc.x" {
		t.Errorf("Request = %q, %v; want the responder to see %q", reply, err, "rpc.x")
	}

	for _, bad := range []string{"a.b", "a*", ">", "with space", strings.Repeat("x", 33)} {
		if _, err := Open(t.Context(), Config{Prefix: bad}, nil); err == nil {
			t.Errorf("Open with prefix %q: no error", bad)
		}
	}
}
