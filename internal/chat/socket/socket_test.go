package socket

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"

	"github.com/livehouse/livehouse/internal/chat"
	"github.com/livehouse/livehouse/internal/problem"
)

// noTokens is a token store for tests that hand grants to Accept directly.
type noTokens struct{}

func (noTokens) CreateChatToken(context.Context, string, string, time.Time) error { return nil }
func (noTokens) TakeChatToken(context.Context, string, time.Time) (string, error) {
	return "", chat.ErrInvalidToken
}
func (noTokens) PurgeChatTokens(context.Context, time.Time) (int64, error) { return 0, nil }

type fixture struct {
	t   *testing.T
	hub *chat.Hub
	s   *Server
	url string
}

// newFixture serves chat sockets for room "r"; the query names the user (?user=, a
// signed-in user unless it starts with chat.AnonymousPrefix) and the session's length
// (?session=).
func newFixture(t *testing.T) *fixture { return newFixtureWith(t, Config{}) }

func newFixtureWith(t *testing.T, cfg Config) *fixture {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var hub *chat.Hub
	hub = chat.NewHub(noTokens{}, func(_ context.Context, subject string, data []byte) error {
		hub.Deliver(subject, data)
		return nil
	}, log, nil)
	hub.SetRoomRate(100_000)
	s, err := New(hub, log, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session, err := time.ParseDuration(r.URL.Query().Get("session"))
		if err != nil {
			session = time.Hour
		}
		g := &chat.Grant{RoomID: "r", UserID: r.URL.Query().Get("user"), Capabilities: []string{chat.CapSend}, SessionDuration: session}
		if err := s.Accept(w, r, g, "tok", "127.0.0.1"); err != nil {
			var retry string
			if p, ok := problem.As(err); ok {
				retry = strconv.Itoa(int(p.RetryAfter.Seconds()))
			}
			w.Header().Set("Retry-After", retry)
			http.Error(w, err.Error(), http.StatusTooManyRequests)
		}
	}))
	t.Cleanup(func() { s.Close(); srv.Close() })
	return &fixture{t: t, hub: hub, s: s, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
}

type client struct {
	t  *testing.T
	nc net.Conn
	r  io.Reader
}

func (f *fixture) dial(query string) *client {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, br, _, err := ws.Dialer{Protocols: []string{"tok"}}.Dial(ctx, f.url+"/?"+query)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { nc.Close() })
	c := &client{t: f.t, nc: nc, r: nc}
	if br != nil {
		c.r = io.MultiReader(br, nc)
	}
	return c
}

func (c *client) writeFrame(fr ws.Frame) {
	c.t.Helper()
	if err := ws.WriteFrame(c.nc, fr); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) send(action map[string]string) {
	b, _ := json.Marshal(action)
	c.writeFrame(ws.MaskFrame(ws.NewTextFrame(b)))
}

// frame reads the next frame, failing after 30 s (a failure's timeout, not a window: frames
// come in milliseconds).
func (c *client) frame() ws.Frame {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	fr, err := ws.ReadFrame(c.r)
	if err != nil {
		c.t.Fatalf("reading a frame: %v", err)
	}
	return fr
}

// message reads the next text frame as JSON.
func (c *client) message() map[string]any {
	c.t.Helper()
	fr := c.frame()
	if fr.Header.OpCode != ws.OpText {
		c.t.Fatalf("got opcode %v, want a text frame", fr.Header.OpCode)
	}
	var m map[string]any
	if err := json.Unmarshal(fr.Payload, &m); err != nil {
		c.t.Fatal(err)
	}
	return m
}

// closed reads until the server's close frame and returns its code and reason.
func (c *client) closed() (ws.StatusCode, string) {
	c.t.Helper()
	for {
		fr := c.frame()
		if fr.Header.OpCode == ws.OpClose {
			return ws.ParseCloseFrameData(fr.Payload)
		}
	}
}

// eventually waits for cond, failing after 30 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMessagesReachEveryConnection(t *testing.T) {
	f := newFixture(t)
	a, b := f.dial("user=a"), f.dial("user=b")
	eventually(t, "two connections", func() bool { return f.hub.Connections() == 2 })
	a.send(map[string]string{"Action": "SEND_MESSAGE", "Content": "héllo", "RequestId": "q1"})
	for _, c := range []*client{a, b} {
		m := c.message()
		if m["Type"] != "MESSAGE" || m["Content"] != "héllo" || m["RequestId"] != "q1" {
			t.Errorf("got %v", m)
		}
	}
	// Not JSON: the sender alone gets a 400.
	a.writeFrame(ws.MaskFrame(ws.NewTextFrame([]byte("{nope"))))
	if m := a.message(); m["Type"] != "ERROR" || m["ErrorCode"] != float64(400) {
		t.Errorf("got %v, want a 400 ERROR", m)
	}
}

func TestIdleConnectionsHoldNoGoroutines(t *testing.T) {
	f := newFixtureWith(t, Config{PerAddress: 1000})
	eventually(t, "the server to settle", func() bool { return true })
	before := runtime.NumGoroutine()
	const n = 300
	for i := range n {
		f.dial(fmt.Sprintf("user=u%d", i))
	}
	eventually(t, "every connection to join", func() bool { return f.hub.Connections() == n })
	// The HTTP server's goroutine for each connection ends once it is handed over.
	eventually(t, "goroutines to settle", func() bool { return runtime.NumGoroutine()-before < n/10 })
}

func TestPingAndFragments(t *testing.T) {
	f := newFixture(t)
	c := f.dial("user=a")
	c.writeFrame(ws.MaskFrame(ws.NewPingFrame([]byte("are you there"))))
	if fr := c.frame(); fr.Header.OpCode != ws.OpPong || string(fr.Payload) != "are you there" {
		t.Errorf("got %v %q, want the pong", fr.Header.OpCode, fr.Payload)
	}
	msg := `{"Action":"SEND_MESSAGE","Content":"in pieces","RequestId":"q2"}`
	c.writeFrame(ws.MaskFrame(ws.NewFrame(ws.OpText, false, []byte(msg[:10]))))
	c.writeFrame(ws.MaskFrame(ws.NewFrame(ws.OpContinuation, false, []byte(msg[10:30]))))
	c.writeFrame(ws.MaskFrame(ws.NewFrame(ws.OpContinuation, true, []byte(msg[30:]))))
	if m := c.message(); m["Content"] != "in pieces" {
		t.Errorf("got %v", m)
	}
}

func TestProtocolErrorsCloseTheConnection(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name  string
		frame ws.Frame
		want  ws.StatusCode
	}{
		{"unmasked", ws.NewTextFrame([]byte(`{}`)), ws.StatusProtocolError},
		{"too-big", ws.MaskFrame(ws.NewTextFrame(make([]byte, maxMessage+1))), ws.StatusMessageTooBig},
		{"continuation-first", ws.MaskFrame(ws.NewFrame(ws.OpContinuation, true, []byte("x"))), ws.StatusProtocolError},
		{"fragmented-ping", ws.MaskFrame(ws.NewFrame(ws.OpPing, false, nil)), ws.StatusProtocolError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := f.dial("user=" + tc.name)
			c.writeFrame(tc.frame)
			if code, _ := c.closed(); code != tc.want {
				t.Errorf("closed with %d, want %d", code, tc.want)
			}
		})
	}
	eventually(t, "the connections to leave", func() bool { return f.hub.Connections() == 0 })
}

func TestCloseHandshakeAndExpiry(t *testing.T) {
	f := newFixture(t)
	c := f.dial("user=a")
	c.writeFrame(ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye"))))
	if code, _ := c.closed(); code != ws.StatusNormalClosure {
		t.Errorf("close answered with %d", code)
	}
	eventually(t, "the connection to leave", func() bool { return f.hub.Connections() == 0 })

	e := f.dial("user=b&session=300ms")
	if code, reason := e.closed(); code != ws.StatusNormalClosure || reason != "session expired" {
		t.Errorf("expiry closed with %d %q", code, reason)
	}
}

func TestServerCloseSaysGoingAway(t *testing.T) {
	f := newFixture(t)
	c := f.dial("user=a")
	eventually(t, "the connection", func() bool { return f.s.Connections() == 1 })
	f.s.Close()
	if code, _ := c.closed(); code != ws.StatusGoingAway {
		t.Errorf("closed with %d, want 1001", code)
	}
	if f.s.Connections() != 0 {
		t.Errorf("%d connections left", f.s.Connections())
	}
}

// dialSlow connects a client with a tiny receive buffer that never reads unless the test
// reads it: its socket fills after a few KiB, so the server must queue for it.
func (f *fixture) dialSlow(query string) *client {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d := ws.Dialer{Protocols: []string{"tok"}, NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var err error
			rc.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<10) })
			return err
		}}
		return nd.DialContext(ctx, network, addr)
	}}
	nc, br, _, err := d.Dial(ctx, f.url+"/?"+query)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { nc.Close() })
	c := &client{t: f.t, nc: nc, r: nc}
	if br != nil {
		c.r = io.MultiReader(br, nc)
	}
	return c
}

// serverConn finds the server's side of a user's connection.
func (f *fixture) serverConn(user string) *conn {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	for c := range f.s.conns {
		if c.user == user {
			return c
		}
	}
	return nil
}

// A client that stops reading is disconnected once what waits for it passes its byte budget,
// and finds the reason after what it had started to receive; the others get every frame.
// The slowness is forced (tiny socket buffers on both ends, a client that does not read) and
// every step waits on a condition, never on a window, so a busy machine only makes it slower.
func TestSlowClientIsDisconnected(t *testing.T) {
	const budget = 64 << 10
	f := newFixtureWith(t, Config{MaxPendingBytes: budget, SendBuffer: 4 << 10})
	f.s.closeWait = time.Hour // the close handshake ends the slow client here, not the timer
	slow, fast := f.dialSlow("user=slow"), f.dial("user=fast")
	eventually(t, "two connections", func() bool { return f.hub.Connections() == 2 })
	sc := f.serverConn("slow")
	dropped := func() bool {
		sc.mu.Lock()
		defer sc.mu.Unlock()
		if sc.queued > budget+chat.MaxFrameBytes { // the budget, and the rest of a started frame
			t.Fatalf("%d bytes queued for the slow client, past its budget", sc.queued)
		}
		return sc.closing
	}
	big := strings.Repeat("x", 4<<10)
	sent := 0
	for ; !dropped(); sent++ {
		if sent == 1000 { // 4 MiB: far past any socket buffer, let alone these
			t.Fatalf("the slow client was not dropped after %d frames", sent)
		}
		env, _ := json.Marshal(map[string]any{"frame": chat.Frame{Type: "MESSAGE", ID: fmt.Sprintf("%012d", sent), Content: big}})
		f.hub.Deliver(chat.SubjectPrefix+"r", env)
		if m := fast.message(); m["Id"] != fmt.Sprintf("%012d", sent) {
			t.Fatalf("the reading client got %v, want message %d", m["Id"], sent)
		}
	}
	// Reading at last, the slow client gets the frames it was sent, from the first and in
	// order, then the reason.
	for i := 0; ; i++ {
		fr := slow.frame()
		if fr.Header.OpCode == ws.OpClose {
			code, reason := ws.ParseCloseFrameData(fr.Payload)
			if code != ws.StatusPolicyViolation || reason != "too slow" {
				t.Errorf("slow client closed with %d %q", code, reason)
			}
			if i == 0 || i >= sent {
				t.Errorf("the slow client got %d of %d frames before its close", i, sent)
			}
			break
		}
		var m map[string]any
		if err := json.Unmarshal(fr.Payload, &m); err != nil || m["Id"] != fmt.Sprintf("%012d", i) {
			t.Fatalf("frame %d of the slow client: %v %v", i, m["Id"], err)
		}
	}
	slow.nc.Close()
	eventually(t, "the slow client to be dropped", func() bool { return f.hub.Connections() == 1 })
	if n := f.s.pending.Load(); n != 0 {
		t.Errorf("%d bytes still counted as pending", n)
	}
}

// Sockets that never read, joining a room whose history is full of the largest messages a
// client can make and then receiving more, cost the server a bounded heap: the history is
// encoded once for every joiner, and what waits for a client is bounded in bytes, per socket
// and in all. The heap is the process's own, after a collection.
func TestSocketsThatNeverReadHoldBoundedMemory(t *testing.T) {
	const (
		sockets = 2000
		total   = 8 << 20 // MaxTotalPendingBytes
	)
	f := newFixtureWith(t, Config{PerAddress: sockets + 1, SendBuffer: 4 << 10, MaxTotalPendingBytes: total})
	reader := f.dial("user=anonymous-reader")
	largest := func(i int) []byte {
		attrs := map[string]string{"a": strings.Repeat("v", chat.MaxAttributesJSON-8)}
		env, _ := json.Marshal(map[string]any{"frame": chat.Frame{Type: "MESSAGE", ID: fmt.Sprintf("%012d", i),
			Content: strings.Repeat("\u2028", chat.MaxContent), Attributes: attrs, RequestID: strings.Repeat("r", chat.MaxRequestID)}})
		return env
	}
	next := 0
	send := func(n int) {
		for range n {
			f.hub.Deliver(chat.SubjectPrefix+"r", largest(next))
			if m := reader.message(); m["Id"] != fmt.Sprintf("%012d", next) {
				t.Fatalf("the reader got %v, want message %d", m["Id"], next)
			}
			next++
		}
	}
	send(chat.HistorySize)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	var wg sync.WaitGroup
	clients := make([][]*client, 4)
	for g := range clients {
		wg.Go(func() {
			for i := range sockets / len(clients) {
				clients[g] = append(clients[g], f.dialSlow(fmt.Sprintf("user=anonymous-%d-%d", g, i)))
			}
		})
	}
	wg.Wait()
	send(100)
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	// Each socket costs its two ends' state in this process (the clients are here too), a
	// few KiB; what waits for them all is at most total. Without the bounds this was GBs:
	// a history of up to 50 messages of any size, encoded afresh for each joiner.
	bound := int64(total + sockets*16<<10)
	t.Logf("heap grew %d KiB for %d sockets that never read (bound %d KiB); %d still open, %d KiB pending",
		grown>>10, sockets, bound>>10, f.s.Connections(), f.s.pending.Load()>>10)
	if grown > bound {
		t.Errorf("the heap grew by %d KiB, past %d KiB", grown>>10, bound>>10)
	}
	if n := f.s.pending.Load(); n > total {
		t.Errorf("%d bytes pending, past the server's budget %d", n, total)
	}
	runtime.KeepAlive(clients)
}

// A close without a code is answered without one; a code that must not be sent (1005, 1006,
// 1015) or is outside the defined and registrable ranges is a protocol error; a valid code is
// echoed. 1005 never goes on the wire.
func TestCloseCodes(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name     string
		payload  []byte
		want     ws.StatusCode // 0: an empty close frame
		wantBody int
	}{
		{"no code", nil, 0, 0},
		{"normal", ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye"), ws.StatusNormalClosure, 2},
		{"application", ws.NewCloseFrameBody(4000, ""), 4000, 2},
		{"1005 sent", ws.NewCloseFrameBody(ws.StatusNoStatusRcvd, ""), ws.StatusProtocolError, -1},
		{"1006 sent", ws.NewCloseFrameBody(ws.StatusAbnormalClosure, ""), ws.StatusProtocolError, -1},
		{"1015 sent", ws.NewCloseFrameBody(ws.StatusTLSHandshake, ""), ws.StatusProtocolError, -1},
		{"undefined", ws.NewCloseFrameBody(2000, ""), ws.StatusProtocolError, -1},
		{"one byte", []byte{3}, ws.StatusProtocolError, -1},
		{"invalid reason", append(ws.NewCloseFrameBody(ws.StatusNormalClosure, ""), 0xff), ws.StatusProtocolError, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := f.dial("user=" + strings.ReplaceAll(tc.name, " ", "-"))
			c.writeFrame(ws.MaskFrame(ws.NewCloseFrame(tc.payload)))
			var fr ws.Frame
			for fr = c.frame(); fr.Header.OpCode != ws.OpClose; fr = c.frame() {
			}
			code, _ := ws.ParseCloseFrameData(fr.Payload)
			if code != tc.want || tc.wantBody >= 0 && len(fr.Payload) < tc.wantBody || tc.want == 0 && len(fr.Payload) != 0 {
				t.Errorf("answered with %d (payload %x), want %d", code, fr.Payload, tc.want)
			}
		})
	}
}

// Sockets over the per-address or per-user cap are refused before the upgrade with 429 and
// Retry-After; a closed socket frees its place.
func TestSocketCaps(t *testing.T) {
	f := newFixtureWith(t, Config{PerAddress: 4, PerUser: 2})
	upgrade := func(user string) *http.Response {
		req, _ := http.NewRequest("GET", "http"+strings.TrimPrefix(f.url, "ws")+"/?user="+user, nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		req.Header.Set("Sec-WebSocket-Protocol", "tok")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	a1 := f.dial("user=a")
	f.dial("user=a")
	if res := upgrade("a"); res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "10" {
		t.Errorf("a third socket of one user: %d, Retry-After %q; want 429 with 10", res.StatusCode, res.Header.Get("Retry-After"))
	}
	f.dial("user=anonymous-1")
	f.dial("user=b")
	if res := upgrade("anonymous-2"); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a fifth socket from one address: %d, want 429", res.StatusCode)
	}
	a1.nc.Close()
	eventually(t, "the closed socket's place to free", func() bool {
		f.s.mu.Lock()
		defer f.s.mu.Unlock()
		return f.s.byAddr["127.0.0.1"] == 3 && f.s.byUser["a"] == 1
	})
	f.dial("user=a")
	if res := upgrade("c"); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("over the address cap again: %d, want 429", res.StatusCode)
	}
}

// A client may send its first frame in the same packet as the handshake.
func TestFrameInTheHandshakePacket(t *testing.T) {
	f := newFixture(t)
	nc, err := net.Dial("tcp", strings.TrimPrefix(f.url, "ws://"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var req strings.Builder
	fmt.Fprintf(&req, "GET /?user=early HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
	fmt.Fprintf(&req, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: tok\r\n\r\n")
	frame := ws.MustCompileFrame(ws.MaskFrame(ws.NewTextFrame([]byte(`{"Action":"SEND_MESSAGE","Content":"early","RequestId":"e"}`))))
	if _, err := nc.Write(append([]byte(req.String()), frame...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols || res.Header.Get("Sec-WebSocket-Protocol") != "tok" {
		t.Fatalf("handshake: %v %v", res, err)
	}
	c := &client{t: t, nc: nc, r: br}
	if m := c.message(); m["Content"] != "early" {
		t.Errorf("got %v", m)
	}
}

// FuzzConsume feeds arbitrary bytes, split at an arbitrary point, to a connection's frame
// reader: nothing may panic, and what it keeps of an incomplete frame stays bounded.
func FuzzConsume(f *testing.F) {
	mask := func(fr ws.Frame) []byte { return ws.MustCompileFrame(ws.MaskFrame(fr)) }
	for _, seed := range [][]byte{
		mask(ws.NewTextFrame([]byte(`{"Action":"SEND_MESSAGE","Content":"hi","RequestId":"1"}`))),
		append(mask(ws.NewFrame(ws.OpText, false, []byte(`{"Act`))), mask(ws.NewFrame(ws.OpContinuation, true, []byte(`ion":"NOPE"}`)))...),
		mask(ws.NewPingFrame([]byte("p"))),
		mask(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye"))),
		ws.MustCompileFrame(ws.NewTextFrame([]byte("unmasked"))),
		{0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // a 64-bit length
	} {
		f.Add(seed, uint8(3))
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hub := chat.NewHub(noTokens{}, func(context.Context, string, []byte) error { return nil }, log, nil)
	s, err := New(hub, log, Config{})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fds[1])
		file := os.NewFile(uintptr(fds[0]), "chat")
		nc, err := net.FileConn(file)
		file.Close()
		if err != nil {
			t.Fatal(err)
		}
		rc, _ := nc.(syscall.Conn).SyscallConn()
		c := &conn{s: s, nc: nc, rc: rc}
		hc, err := hub.Join(&chat.Grant{RoomID: "r", UserID: "u", Capabilities: []string{chat.CapSend}}, c, "")
		if err != nil {
			t.Fatal(err)
		}
		c.setHub(hc)
		defer c.teardown()
		cut := min(int(split), len(data))
		if c.consume(append([]byte(nil), data[:cut]...)) {
			c.consume(append([]byte(nil), data[cut:]...))
		}
		if len(c.partial) > maxMessage+14 || len(c.message) > maxMessage {
			t.Fatalf("kept %d bytes of a frame and %d of a message", len(c.partial), len(c.message))
		}
	})
}

// TestPanicInAnActionEndsOnlyItsConnection: a panic while handling one client's message (here
// in the hub's standing check) closes that connection; the server and the others go on.
func TestPanicInAnActionEndsOnlyItsConnection(t *testing.T) {
	f := newFixture(t)
	f.hub.SetAccess(func(_ context.Context, _, userID string) error {
		if userID == "bomb" {
			panic("boom")
		}
		return nil
	})
	a, bomb := f.dial("user=a"), f.dial("user=bomb")
	eventually(t, "two connections", func() bool { return f.hub.Connections() == 2 })
	bomb.send(map[string]string{"Action": "SEND_MESSAGE", "Content": "boom", "RequestId": "b1"})
	eventually(t, "the panicking connection to end", func() bool { return f.hub.Connections() == 1 })
	a.send(map[string]string{"Action": "SEND_MESSAGE", "Content": "still here", "RequestId": "a1"})
	if m := a.message(); m["Type"] != "MESSAGE" || m["Content"] != "still here" {
		t.Errorf("after another connection's panic: got %v", m)
	}
}
