// Package socket serves chat connections as WebSockets without a goroutine per connection:
// an idle connection is a registered file descriptor and a few hundred bytes of state. One
// event loop (epoll on Linux) reads what clients send; frames to clients are written straight
// to the socket by whoever fans them out, and only a client whose socket buffer is full gets
// a queue, bounded, past which it is disconnected. The protocol itself is the chat domain's.
package socket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"

	"github.com/livehouse/livehouse/internal/chat"
)

// Limits of one connection.
const (
	maxPending = 256      // frames queued for a client whose socket is full; past it, "too slow"
	maxActions = 32       // actions waiting to be handled; past it, 429
	maxMessage = 16 << 10 // bytes in one client message
	closeWait  = 3 * time.Second
	pingEvery  = 50 * time.Second // under common proxies' 60 s idle timeouts
)

// Server holds this node's chat sockets.
type Server struct {
	hub  *chat.Hub
	log  *slog.Logger
	poll *poller
	ctx  context.Context // actions run under it; cancelled by Close
	stop context.CancelFunc

	mu     sync.Mutex
	conns  map[*conn]struct{}
	closed bool
	done   chan struct{}
}

// New starts the event loop.
func New(hub *chat.Hub, log *slog.Logger) (*Server, error) {
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{hub: hub, log: log, ctx: ctx, stop: stop, conns: map[*conn]struct{}{}, done: make(chan struct{})}
	p, err := newPoller(s.event)
	if err != nil {
		stop()
		return nil, fmt.Errorf("chat sockets: %w", err)
	}
	s.poll = p
	go s.pinger()
	return s, nil
}

// Connections counts the open sockets.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Accept upgrades the request to a WebSocket speaking the grant's room, with protocol (the
// token) echoed as the subprotocol, and hands it to the event loop. The upgrade's failures
// are answered to the client by the upgrader.
func (s *Server) Accept(w http.ResponseWriter, r *http.Request, g *chat.Grant, protocol, ip string) {
	up := ws.HTTPUpgrader{Protocol: func(p string) bool { return p == protocol }}
	nc, rw, _, err := up.Upgrade(r, w)
	if err != nil {
		return
	}
	sc, ok := nc.(syscall.Conn)
	var rc syscall.RawConn
	if ok {
		rc, err = sc.SyscallConn()
	}
	if !ok || err != nil {
		s.log.Error("chat socket without a file descriptor", "type", fmt.Sprintf("%T", nc))
		nc.Close()
		return
	}
	nc.SetDeadline(time.Time{}) // the HTTP server's deadlines would fail raw reads and writes
	c := &conn{s: s, nc: nc, rc: rc}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()

	c.hc = s.hub.Join(g, c, ip)
	c.expiry = time.AfterFunc(g.SessionDuration, func() { c.closeWith(ws.StatusNormalClosure, "session expired") })
	// A client may have sent frames before it read the handshake's answer; they are read
	// here, before the event loop knows the connection.
	if n := rw.Reader.Buffered(); n > 0 {
		early, _ := rw.Reader.Peek(n)
		if !c.consume(append([]byte(nil), early...)) {
			c.teardown()
			return
		}
	}
	if err := s.poll.add(c); err != nil {
		s.log.Error("chat socket", "err", err)
		c.teardown()
	}
}

// Close tells every client the server is going away and stops the event loop.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.closeWith(ws.StatusGoingAway, "server shutting down")
		c.teardown()
	}
	close(s.done)
	s.stop()
	s.poll.close()
}

// event is the loop's callback for one ready connection.
func (s *Server) event(c *conn, readable, writable, hangup bool, buf []byte) {
	if writable {
		c.flush()
	}
	if readable && !c.readable(buf) || hangup {
		c.teardown()
	}
}

// pinger pings every connection now and then, so proxies keep idle sockets open and dead
// peers show up as write errors.
func (s *Server) pinger() {
	ping := ws.MustCompileFrame(ws.NewPingFrame(nil))
	t := time.NewTicker(pingEvery)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		s.mu.Lock()
		conns := make([]*conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		for _, c := range conns {
			c.write(ping)
		}
	}
}

// conn is one WebSocket. Its read side belongs to the event loop; its write side is shared by
// every goroutine that sends to it, under mu.
type conn struct {
	s      *Server
	nc     net.Conn // holds the descriptor open
	rc     syscall.RawConn
	hc     *chat.Conn
	expiry *time.Timer
	id     uint32 // the poller's key, with the descriptor

	// read side: the event loop's
	partial []byte // an incomplete frame
	message []byte // a fragmented message so far
	inMsg   bool   // a fragmented message is open

	mu       sync.Mutex
	pending  [][]byte // frames the socket did not take yet
	started  bool     // the first pending frame is partly written
	closing  bool     // a close frame is queued: nothing more is sent
	shut     bool     // torn down
	watching bool     // the poller reports writability

	amu     sync.Mutex
	actions [][]byte
	busy    bool

	once sync.Once
}

// Send writes a frame: straight into the socket when nothing waits before it.
func (c *conn) Send(f *chat.Encoded) { c.write(f.Wire(textFrame)) }

// Close ends the connection for a policy reason: a moderator, a ban, a slow client.
func (c *conn) Close(reason string) { c.closeWith(ws.StatusPolicyViolation, reason) }

// write sends b after what is pending. A client that has maxPending frames waiting cannot
// keep up: what it has not started to receive is dropped, and it is told why and closed, so
// that it never slows the room.
func (c *conn) write(b []byte) {
	c.mu.Lock()
	if c.closing || c.shut {
		c.mu.Unlock()
		return
	}
	if len(c.pending) < maxPending {
		c.queueLocked(b)
		c.mu.Unlock()
		return
	}
	if c.started {
		c.pending = c.pending[:1]
	} else {
		c.pending = nil
	}
	c.mu.Unlock()
	c.closeWith(ws.StatusPolicyViolation, "too slow")
}

// queueLocked writes b after what is pending, keeping what the socket does not take.
func (c *conn) queueLocked(b []byte) {
	if len(c.pending) == 0 {
		n, err := c.tryWrite(b)
		if err != nil {
			c.shut = true
			go c.teardown()
			return
		}
		if n == len(b) {
			return
		}
		b, c.started = b[n:], n > 0
	}
	c.pending = append(c.pending, b)
	if !c.watching {
		c.watching = true
		c.s.poll.watchWrites(c, true)
	}
}

// flush writes what is pending, now that the socket has room.
func (c *conn) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.pending) > 0 {
		b := c.pending[0]
		n, err := c.tryWrite(b)
		if err != nil {
			c.shut = true
			go c.teardown()
			return
		}
		if n < len(b) {
			c.pending[0] = b[n:]
			c.started = c.started || n > 0
			return
		}
		c.pending[0] = nil
		c.pending, c.started = c.pending[1:], false
	}
	c.pending = nil
	if c.watching {
		c.watching = false
		c.s.poll.watchWrites(c, false)
	}
	if c.closing {
		c.rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_WR) })
	}
}

// closeWith queues a close frame and gives the client closeWait to answer it.
func (c *conn) closeWith(code ws.StatusCode, reason string) {
	c.mu.Lock()
	if c.closing || c.shut {
		c.mu.Unlock()
		return
	}
	c.closing = true
	c.queueLocked(ws.MustCompileFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(code, reason))))
	if len(c.pending) == 0 && !c.shut {
		c.rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_WR) })
	}
	c.mu.Unlock()
	time.AfterFunc(closeWait, c.teardown)
}

// teardown closes the socket and leaves the room, once.
func (c *conn) teardown() {
	c.once.Do(func() {
		c.mu.Lock()
		c.shut = true
		c.pending = nil
		c.mu.Unlock()
		if c.expiry != nil {
			c.expiry.Stop()
		}
		c.s.poll.remove(c)
		c.nc.Close()
		if c.hc != nil {
			c.s.hub.Leave(c.hc)
		}
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
}

// tryWrite writes what the socket takes now, without waiting.
func (c *conn) tryWrite(b []byte) (int, error) {
	n, err := nonblocking(c.rc.Write, unix.Write, b)
	if errors.Is(err, errWouldBlock) {
		return 0, nil
	}
	return n, err
}

// tryRead reads what has arrived, without waiting: 0 bytes and no error is the end of the
// stream, and errWouldBlock says nothing is there yet.
func (c *conn) tryRead(buf []byte) (int, error) { return nonblocking(c.rc.Read, unix.Read, buf) }

// nonblocking makes one read or write system call on the descriptor, through Go's raw
// connection (which keeps the descriptor from being closed under it), without waiting for
// readiness: that is the event loop's job.
func nonblocking(raw func(func(fd uintptr) bool) error, call func(fd int, b []byte) (int, error), b []byte) (int, error) {
	var n int
	var cerr error
	if err := raw(func(fd uintptr) bool {
		n, cerr = call(int(fd), b)
		return true
	}); err != nil {
		return 0, err
	}
	switch {
	case errors.Is(cerr, unix.EAGAIN) || errors.Is(cerr, unix.EINTR):
		return 0, errWouldBlock
	case cerr != nil:
		return 0, cerr
	}
	return n, nil
}

var errWouldBlock = errors.New("would block")

// readable reads everything the client sent; false ends the connection.
func (c *conn) readable(buf []byte) bool {
	for {
		n, err := c.tryRead(buf)
		if errors.Is(err, errWouldBlock) {
			return true
		}
		if err != nil || n == 0 {
			return false
		}
		if !c.consume(buf[:n]) {
			return false
		}
		if n < len(buf) {
			return true // drained; the loop reports more if more comes
		}
	}
}

// enqueue hands a client message to the hub, in order, off the event loop (a review hook may
// take its 200 ms).
func (c *conn) enqueue(msg []byte) {
	c.amu.Lock()
	if len(c.actions) >= maxActions {
		c.amu.Unlock()
		c.s.hub.Error(c.hc, "", 429, "Too many requests on this connection.")
		return
	}
	c.actions = append(c.actions, msg)
	if c.busy {
		c.amu.Unlock()
		return
	}
	c.busy = true
	c.amu.Unlock()
	go c.handle()
}

func (c *conn) handle() {
	for {
		c.amu.Lock()
		if len(c.actions) == 0 {
			c.actions, c.busy = nil, false
			c.amu.Unlock()
			return
		}
		msg := c.actions[0]
		c.actions = c.actions[1:]
		c.amu.Unlock()
		c.s.hub.HandleJSON(c.s.ctx, c.hc, msg)
	}
}
