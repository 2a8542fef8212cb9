// Package connlimit caps the connections a listener keeps open, in total and per source
// address, so that one client cannot take every file descriptor of the process. A connection
// over a cap is accepted and closed at once (the kernel has already completed its handshake);
// the caller may answer it first, e.g. with an HTTP 503.
package connlimit

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/livehouse/livehouse/internal/clientaddr"
)

// Config sets the caps; 0 means no cap.
type Config struct {
	Total      int // connections open at once
	PerAddress int // connections open at once from one IP address (an IPv6 /64 being one)
	// Refuse, when set, is given a connection over a cap before it is closed. It must not
	// block: the accept loop waits for it.
	Refuse func(net.Conn)
}

// Listener is a net.Listener that keeps to a Config.
type Listener struct {
	net.Listener
	cfg Config

	mu      sync.Mutex
	total   int
	per     map[netip.Addr]int
	refused atomic.Int64
}

// Wrap caps the connections accepted from ln.
func Wrap(ln net.Listener, cfg Config) *Listener {
	return &Listener{Listener: ln, cfg: cfg, per: map[netip.Addr]int{}}
}

// Accept returns the next connection within the caps; connections over them are refused
// (and counted) without returning.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := addrOf(c.RemoteAddr())
		if !l.admit(addr) {
			l.refused.Add(1)
			if l.cfg.Refuse != nil {
				l.cfg.Refuse(c)
			}
			c.Close()
			continue
		}
		return &conn{Conn: c, release: sync.OnceFunc(func() { l.leave(addr) })}, nil
	}
}

// Caps returns the caps alone, for connections no net.Listener accepts (a UDP protocol's,
// such as SRT's), taken with Admit. Its Accept and Addr must not be used.
func Caps(cfg Config) *Listener { return Wrap(nil, cfg) }

// Admit takes a place for a connection from addr that Accept did not hand over; release
// gives it back (once, however often it is called). Over a cap it reports false and counts
// the refusal.
func (l *Listener) Admit(addr net.Addr) (release func(), ok bool) {
	a := addrOf(addr)
	if !l.admit(a) {
		l.refused.Add(1)
		return func() {}, false
	}
	return sync.OnceFunc(func() { l.leave(a) }), true
}

// Refused counts the connections refused since the listener was made.
func (l *Listener) Refused() int64 { return l.refused.Load() }

// Open is the number of connections open now.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

func (l *Listener) admit(addr netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.Total > 0 && l.total >= l.cfg.Total {
		return false
	}
	if l.cfg.PerAddress > 0 && addr.IsValid() && l.per[addr] >= l.cfg.PerAddress {
		return false
	}
	l.total++
	if addr.IsValid() {
		l.per[addr]++
	}
	return true
}

func (l *Listener) leave(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if !addr.IsValid() {
		return
	}
	if n := l.per[addr] - 1; n > 0 {
		l.per[addr] = n
	} else {
		delete(l.per, addr)
	}
}

// addrOf is what the per-address cap counts a remote address by (clientaddr.Block: an IPv4
// address, or an IPv6 address's /64, so that walking the addresses of one's own /64 opens no
// more connections); invalid for non-IP addresses (Unix sockets), which only the total cap
// counts.
func addrOf(a net.Addr) netip.Addr {
	if t, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(t.IP)
		return clientaddr.Block(ip)
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return clientaddr.Block(ap.Addr())
}

// conn gives its place back when closed, once.
type conn struct {
	net.Conn
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}

var errNoFD = errors.New("connection has no file descriptor")

// SyscallConn exposes the descriptor, for servers that poll it themselves (chat sockets).
func (c *conn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errNoFD
}

// CloseWrite half-closes, as net/http does before closing a connection it answered.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}

// http503 is the whole answer HTTP503 writes.
var http503 = func() []byte {
	body := `{"error":{"code":"TooManyConnections","message":"Too many connections. Try again shortly."}}` + "\n"
	return []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 5\r\nConnection: close\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()

// HTTP503 tells an HTTP client over the cap to come back later. The answer fits in a fresh
// socket's send buffer, so the write does not wait for the client.
func HTTP503(c net.Conn) {
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	c.Write(http503)
}
