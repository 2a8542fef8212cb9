// Package socket serves chat connections as WebSockets without a goroutine per connection:
// an idle connection is a registered file descriptor and a few hundred bytes of state. One
// event loop (epoll on Linux) reads what clients send; frames to clients are written straight
// to the socket by whoever fans them out, and only a client whose socket buffer is full gets
// a queue, bounded, past which it is disconnected. The protocol itself is the chat domain's.
package socket

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"

	"github.com/livehouse/livehouse/internal/chat"
	"github.com/livehouse/livehouse/internal/clientaddr"
	"github.com/livehouse/livehouse/internal/problem"
)

// Limits of one connection.
const (
	maxActions     = 32       // actions waiting to be handled; past it, 429
	maxActionBytes = 64 << 10 // bytes of actions waiting to be handled; past it, 429
	maxMessage     = 16 << 10 // bytes in one client message
	closeWait      = 3 * time.Second
	pingEvery      = 50 * time.Second // under common proxies' 60 s idle timeouts
)

// Config bounds what the sockets may hold. Zero fields take the defaults.
type Config struct {
	// MaxPendingBytes bounds the bytes queued for one client whose socket is full; past it the
	// client is "too slow" and dropped (close 1008). Bytes, not frames: one frame may be a
	// history of many messages. Default 256 KiB: several seconds of the busiest room.
	MaxPendingBytes int
	// MaxTotalPendingBytes bounds the bytes queued for all clients together; a client whose
	// frame would pass it is dropped as too slow. Default 64 MiB.
	MaxTotalPendingBytes int64
	// PerAddress bounds the sockets from one client address (an IPv6 address counts by its /64,
	// what one subscriber is given); PerUser those of one signed-in user. Past either, the
	// upgrade is refused with 429 and Retry-After. Defaults 100 and 10.
	PerAddress, PerUser int
	// SendBuffer, when set, is each socket's kernel send buffer (SO_SNDBUF), in bytes.
	SendBuffer int
}

// Defaults of Config: 100 sockets per address leaves a 20,000-descriptor process serving
// until 200 addresses each hold their whole share, while a household or a small office
// behind one address can still open many tabs; 10 per signed-in user is more tabs and
// devices than a person watches at once.
const (
	DefaultMaxPendingBytes      = 256 << 10
	DefaultMaxTotalPendingBytes = 64 << 20
	DefaultPerAddress           = 100
	DefaultPerUser              = 10
)

// RetryAfter is what a client over a socket cap is told to wait.
const RetryAfter = 10 * time.Second

// Server holds this node's chat sockets.
type Server struct {
	hub  *chat.Hub
	log  *slog.Logger
	cfg  Config
	poll *poller
	ctx  context.Context // actions run under it; cancelled by Close
	stop context.CancelFunc

	closeWait time.Duration // how long a client has to answer our close
	pending   atomic.Int64  // bytes queued for every client

	mu     sync.Mutex
	conns  map[*conn]struct{}
	byAddr map[string]int // sockets per client address (IPv6: per /64)
	byUser map[string]int // sockets per signed-in user
	closed bool
	done   chan struct{}
}

// New starts the event loop.
func New(hub *chat.Hub, log *slog.Logger, cfg Config) (*Server, error) {
	cfg.MaxPendingBytes = cmp.Or(cfg.MaxPendingBytes, DefaultMaxPendingBytes)
	cfg.MaxTotalPendingBytes = cmp.Or(cfg.MaxTotalPendingBytes, DefaultMaxTotalPendingBytes)
	cfg.PerAddress = cmp.Or(cfg.PerAddress, DefaultPerAddress)
	cfg.PerUser = cmp.Or(cfg.PerUser, DefaultPerUser)
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{hub: hub, log: log, cfg: cfg, ctx: ctx, stop: stop, closeWait: closeWait, conns: map[*conn]struct{}{},
		byAddr: map[string]int{}, byUser: map[string]int{}, done: make(chan struct{})}
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

// ErrTooManyConnections refuses a socket over the per-address or per-user cap.
var ErrTooManyConnections = problem.Throttled("TooManyConnections",
	"Too many chat connections from this address or account; close some and try again.", RetryAfter)

// ErrClosed refuses a socket while the server shuts down.
var ErrClosed = errors.New("chat sockets are closed")

// Accept upgrades the request to a WebSocket speaking the grant's room, with protocol (the
// token) echoed as the subprotocol, and hands it to the event loop. A client over its socket
// caps gets ErrTooManyConnections, and a grant voided since it was redeemed the hub's error,
// before anything is written: the caller answers those. The upgrade's own failures are
// answered to the client by the upgrader, and return nil.
func (s *Server) Accept(w http.ResponseWriter, r *http.Request, g *chat.Grant, protocol, ip string) error {
	addr, user := clientaddr.Key(ip), ""
	if g.SignedIn() {
		user = g.UserID
	}
	if err := s.reserve(addr, user); err != nil {
		return err
	}
	reserved := true
	defer func() {
		if reserved {
			s.release(addr, user)
		}
	}()
	up := ws.HTTPUpgrader{Protocol: func(p string) bool { return p == protocol }}
	nc, rw, _, err := up.Upgrade(r, w)
	if err != nil {
		return nil
	}
	sc, ok := nc.(syscall.Conn)
	var rc syscall.RawConn
	if ok {
		rc, err = sc.SyscallConn()
	}
	if !ok || err != nil {
		s.log.Error("chat socket without a file descriptor", "type", fmt.Sprintf("%T", nc))
		nc.Close()
		return nil
	}
	nc.SetDeadline(time.Time{}) // the HTTP server's deadlines would fail raw reads and writes
	if s.cfg.SendBuffer > 0 {
		rc.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, s.cfg.SendBuffer) })
	}
	c := &conn{s: s, nc: nc, rc: rc, addr: addr, user: user}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return nil
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	reserved = false // the connection's teardown releases it now

	hc, err := s.hub.Join(g, c, ip)
	if err != nil { // banned or ended since the token was redeemed
		c.closeWith(ws.StatusPolicyViolation, closeReason(err)) // torn down after closeWait
		return nil
	}
	c.setHub(hc)
	c.expiry = time.AfterFunc(g.SessionDuration, func() { c.closeWith(ws.StatusNormalClosure, "session expired") })
	// A client may have sent frames before it read the handshake's answer; they are read
	// here, before the event loop knows the connection.
	if n := rw.Reader.Buffered(); n > 0 {
		early, _ := rw.Reader.Peek(n)
		if !c.consume(append([]byte(nil), early...)) {
			c.teardown()
			return nil
		}
	}
	if err := s.poll.add(c); err != nil {
		s.log.Error("chat socket", "err", err)
		c.teardown()
	}
	return nil
}

// closeReason is the close frame's reason for a grant the hub refused.
func closeReason(err error) string {
	switch {
	case errors.Is(err, chat.ErrBanned):
		return "banned"
	case errors.Is(err, chat.ErrPrivate):
		return "channel is private"
	}
	return "account unavailable"
}

// reserve counts a socket against its address's and user's caps, or refuses it.
func (s *Server) reserve(addr, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.byAddr[addr] >= s.cfg.PerAddress || user != "" && s.byUser[user] >= s.cfg.PerUser {
		return ErrTooManyConnections
	}
	s.byAddr[addr]++
	if user != "" {
		s.byUser[user]++
	}
	return nil
}

func (s *Server) release(addr, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byAddr[addr]--; s.byAddr[addr] <= 0 {
		delete(s.byAddr, addr)
	}
	if user != "" {
		if s.byUser[user]--; s.byUser[user] <= 0 {
			delete(s.byUser, user)
		}
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
	// One loop serves every socket: a frame that makes its handling panic ends that
	// connection only (closed off the loop: the panic may have left its locks held).
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("recovered from a panic", "in", "chat socket", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			go c.teardown()
		}
	}()
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
	hc     atomic.Pointer[chat.Conn] // set once joined
	expiry *time.Timer
	id     uint32 // the poller's key, with the descriptor
	addr   string // what the caps count it under
	user   string

	// read side: the event loop's
	partial []byte // an incomplete frame
	message []byte // a fragmented message so far
	inMsg   bool   // a fragmented message is open

	mu       sync.Mutex
	pending  [][]byte // frames the socket did not take yet
	queued   int      // bytes in pending
	started  bool     // the first pending frame is partly written
	closing  bool     // a close frame is queued: nothing more is sent
	shut     bool     // torn down
	watching bool     // the poller reports writability

	amu         sync.Mutex
	actions     [][]byte
	actionBytes int
	busy        bool

	once sync.Once
}

// Send writes a frame: straight into the socket when nothing waits before it.
func (c *conn) Send(f *chat.Encoded) { c.write(f.Wire(textFrame)) }

// Close ends the connection for a policy reason: a moderator, a ban, a slow client.
func (c *conn) Close(reason string) { c.closeWith(ws.StatusPolicyViolation, reason) }

// write sends b after what is pending. A client that would have more than MaxPendingBytes
// waiting (or whose frame would take the server past MaxTotalPendingBytes) cannot keep up:
// what it has not started to receive is dropped, and it is told why and closed, so that it
// never slows the room nor holds its memory.
func (c *conn) write(b []byte) {
	c.mu.Lock()
	if c.closing || c.shut {
		c.mu.Unlock()
		return
	}
	if c.queueLocked(b, true) {
		c.mu.Unlock()
		return
	}
	keep := 0
	if c.started {
		keep = 1
	}
	for i := keep; i < len(c.pending); i++ {
		c.account(-len(c.pending[i]))
		c.pending[i] = nil
	}
	c.pending = c.pending[:keep]
	if keep == 0 {
		c.pending = nil
	}
	c.mu.Unlock()
	c.closeWith(ws.StatusPolicyViolation, "too slow")
}

// account adds n bytes (or takes them, negative) to what is queued for this client and the
// server. Under c.mu.
func (c *conn) account(n int) {
	c.queued += n
	c.s.pending.Add(int64(n))
}

// queueLocked writes b after what is pending, keeping what the socket does not take. With
// budget, it refuses (false) to keep more than the budgets allow.
func (c *conn) queueLocked(b []byte, budget bool) bool {
	if len(c.pending) == 0 {
		n, err := c.tryWrite(b)
		if err != nil {
			c.shut = true
			go c.teardown()
			return true
		}
		if n == len(b) {
			return true
		}
		if budget && c.overBudget(len(b)-n) {
			if n > 0 { // a frame is started: keep its rest, or the client's framing breaks
				c.pending, c.started = [][]byte{b[n:frameEnd(b, n)]}, true
				c.account(len(c.pending[0]))
				c.watchLocked()
			}
			return false
		}
		c.pending, c.started = splitStarted(b, n), n > 0
		for _, p := range c.pending {
			c.account(len(p))
		}
		c.watchLocked()
		return true
	} else if budget && c.overBudget(len(b)) {
		return false
	}
	c.pending = append(c.pending, b)
	c.account(len(b))
	c.watchLocked()
	return true
}

// watchLocked has the poller report when the socket takes more.
func (c *conn) watchLocked() {
	if !c.watching {
		c.watching = true
		c.s.poll.watchWrites(c, true)
	}
}

// splitStarted returns what is left of b, whole frames that the socket took n bytes of, as
// the rest of the started frame and then the frames after it: dropping a slow client's queue
// then keeps only the one frame it must finish.
func splitStarted(b []byte, n int) [][]byte {
	if n == 0 {
		return [][]byte{b}
	}
	end := frameEnd(b, n)
	if end == len(b) {
		return [][]byte{b[n:]}
	}
	return [][]byte{b[n:end], b[end:]}
}

// frameEnd returns where the frame holding byte n of b ends; b is whole server frames, as
// every queued entry is.
func frameEnd(b []byte, n int) int {
	for pos := 0; pos < len(b); {
		r := bytes.NewReader(b[pos:])
		h, err := ws.ReadHeader(r)
		if err != nil {
			return len(b)
		}
		end := pos + (len(b) - pos - r.Len()) + int(h.Length)
		if end > n {
			return min(end, len(b))
		}
		pos = end
	}
	return len(b)
}

// overBudget reports whether n more bytes would pass the client's or the server's budget.
func (c *conn) overBudget(n int) bool {
	return c.queued+n > c.s.cfg.MaxPendingBytes || c.s.pending.Load()+int64(n) > c.s.cfg.MaxTotalPendingBytes
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
		c.account(-n)
		if n < len(b) {
			if n > 0 && !c.started { // b is whole frames: split off the one now started
				c.pending = append(splitStarted(b, n), c.pending[1:]...)
			} else {
				c.pending[0] = b[n:]
			}
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
	c.queueLocked(closeFrame(code, reason), false)
	if len(c.pending) == 0 && !c.shut {
		c.rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_WR) })
	}
	c.mu.Unlock()
	time.AfterFunc(c.s.closeWait, c.teardown)
}

// setHub records the hub's side of the connection, once joined.
func (c *conn) setHub(hc *chat.Conn) { c.hc.Store(hc) }

// teardown closes the socket and leaves the room, once.
func (c *conn) teardown() {
	c.once.Do(func() {
		c.mu.Lock()
		c.shut = true
		c.account(-c.queued)
		c.pending = nil
		c.mu.Unlock()
		if c.expiry != nil {
			c.expiry.Stop()
		}
		c.s.poll.remove(c)
		c.nc.Close()
		if hc := c.hc.Load(); hc != nil {
			c.s.hub.Leave(hc)
		}
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
		c.s.release(c.addr, c.user)
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
// take its 200 ms). What waits is bounded in count and in bytes.
func (c *conn) enqueue(msg []byte) {
	hc := c.hc.Load()
	if hc == nil {
		return
	}
	c.amu.Lock()
	if len(c.actions) >= maxActions || c.actionBytes+len(msg) > maxActionBytes {
		c.amu.Unlock()
		c.s.hub.Error(hc, "", 429, "Too many requests on this connection.")
		return
	}
	c.actions = append(c.actions, msg)
	c.actionBytes += len(msg)
	if c.busy {
		c.amu.Unlock()
		return
	}
	c.busy = true
	c.amu.Unlock()
	go c.handle(hc)
}

func (c *conn) handle(hc *chat.Conn) {
	defer func() {
		if v := recover(); v != nil { // an action that panics ends its connection only
			c.s.log.Error("recovered from a panic", "in", "chat action", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			c.teardown()
		}
	}()
	for {
		c.amu.Lock()
		if len(c.actions) == 0 {
			c.actions, c.actionBytes, c.busy = nil, 0, false
			c.amu.Unlock()
			return
		}
		msg := c.actions[0]
		c.actions[0] = nil
		c.actions = c.actions[1:]
		c.actionBytes -= len(msg)
		c.amu.Unlock()
		c.s.hub.HandleJSON(c.s.ctx, hc, msg)
	}
}
