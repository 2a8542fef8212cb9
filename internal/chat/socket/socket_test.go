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

// frame reads the next frame, failing after 5 s.
func (c *client) frame() ws.Frame {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
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

// eventually waits for cond, failing after 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
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

// A client that stops reading is disconnected once its queue is full, and finds the reason
// after what it had started to receive; the others get every frame.
func TestSlowClientIsDisconnected(t *testing.T) {
	f := newFixture(t)
	slow, fast := f.dial("user=slow"), f.dial("user=fast")
	eventually(t, "two connections", func() bool { return f.hub.Connections() == 2 })
	big := strings.Repeat("x", 64<<10)
	const frames = 400 // 25 MiB: more than loopback's socket buffers and the queue together
	for i := range frames {
		env, _ := json.Marshal(map[string]any{"frame": chat.Frame{Type: "MESSAGE", ID: fmt.Sprintf("%012d", i), Content: big}})
		f.hub.Deliver(chat.SubjectPrefix+"r", env)
		if m := fast.message(); m["Id"] != fmt.Sprintf("%012d", i) {
			t.Fatalf("the reading client got %v, want message %d", m["Id"], i)
		}
	}
	// Reading at last (within closeWait), the slow client gets what it had, then the reason.
	if code, reason := slow.closed(); code != ws.StatusPolicyViolation || reason != "too slow" {
		t.Errorf("slow client closed with %d %q", code, reason)
	}
	eventually(t, "the slow client to be dropped", func() bool { return f.hub.Connections() == 1 })
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
