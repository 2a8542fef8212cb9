package connlimit

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serve accepts from l and hands each connection over on the returned channel.
func serve(t *testing.T, l *Listener) <-chan net.Conn {
	t.Helper()
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() { l.Close() })
	return accepted
}

func listen(t *testing.T, cfg Config) *Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return Wrap(ln, cfg)
}

// dialFrom connects from the given loopback address.
func dialFrom(t *testing.T, from string, l *Listener) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitAccepted waits for the server to accept a connection.
func waitAccepted(t *testing.T, accepted <-chan net.Conn) net.Conn {
	t.Helper()
	select {
	case c := <-accepted:
		return c
	case <-time.After(time.Minute):
		t.Fatal("no connection accepted")
		return nil
	}
}

// waitClosed reads until the server closes c, returning what it sent.
func waitClosed(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(time.Minute)) // a safety net far beyond the work
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept the connection open")
	}
	return string(b)
}

func TestPerAddressCap(t *testing.T) {
	l := listen(t, Config{PerAddress: 3})
	accepted := serve(t, l)
	var first []net.Conn
	for range 3 {
		dialFrom(t, "127.0.0.1", l)
		first = append(first, waitAccepted(t, accepted))
	}
	over := dialFrom(t, "127.0.0.1", l)
	waitClosed(t, over) // the fourth from the same address is closed
	if got := l.Refused(); got != 1 {
		t.Errorf("refused = %d, want 1", got)
	}

	// Another address is still served while the first is at its cap.
	dialFrom(t, "127.0.0.2", l)
	waitAccepted(t, accepted)

	// A closed connection gives its place back, once however often it is closed.
	first[0].Close()
	first[0].Close()
	dialFrom(t, "127.0.0.1", l)
	waitAccepted(t, accepted)
	if got, want := l.Open(), 4; got != want {
		t.Errorf("open = %d, want %d", got, want)
	}
}

func TestTotalCapAnswers503(t *testing.T) {
	l := listen(t, Config{Total: 2, Refuse: HTTP503})
	accepted := serve(t, l)
	dialFrom(t, "127.0.0.1", l)
	waitAccepted(t, accepted)
	dialFrom(t, "127.0.0.2", l)
	waitAccepted(t, accepted)

	over := dialFrom(t, "127.0.0.3", l)
	resp, err := http.ReadResponse(bufio.NewReader(over), nil)
	if err != nil {
		t.Fatalf("reading the refusal: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("got %d Retry-After %q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if want := `"TooManyConnections"`; !strings.Contains(string(body), want) {
		t.Errorf("body %q lacks %s", body, want)
	}
}

// TestKeepsTheDescriptor: chat sockets poll the descriptor of a hijacked connection.
func TestKeepsTheDescriptor(t *testing.T) {
	l := listen(t, Config{Total: 1})
	accepted := serve(t, l)
	dialFrom(t, "127.0.0.1", l)
	c := waitAccepted(t, accepted)
	sc, ok := c.(syscall.Conn)
	if !ok {
		t.Fatalf("connection %T is not a syscall.Conn", c)
	}
	if _, err := sc.SyscallConn(); err != nil {
		t.Errorf("SyscallConn: %v", err)
	}
	if _, ok := c.(interface{ CloseWrite() error }); !ok {
		t.Errorf("connection %T must offer CloseWrite", c)
	}
}

// TestAdmitOutsideAccept: connections no listener accepts (SRT's, over UDP) take and give
// back places under the same caps.
func TestAdmitOutsideAccept(t *testing.T) {
	caps := Caps(Config{Total: 3, PerAddress: 2})
	a := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1}
	b := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 1}
	r1, ok1 := caps.Admit(a)
	_, ok2 := caps.Admit(a)
	_, ok3 := caps.Admit(a)
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("one address: admitted %v %v %v, want true true false", ok1, ok2, ok3)
	}
	_, ok4 := caps.Admit(b)
	_, ok5 := caps.Admit(b)
	if !ok4 || ok5 {
		t.Fatalf("over the total: admitted %v %v, want true false", ok4, ok5)
	}
	r1()
	r1() // once only
	if got := caps.Open(); got != 2 {
		t.Errorf("open = %d after one release, want 2", got)
	}
	if got := caps.Refused(); got != 2 {
		t.Errorf("refused = %d, want 2", got)
	}
}

// TestIPv6CountsByItsSlash64: the addresses of one IPv6 /64 share one per-address count, as
// an IPv4 address and its IPv4-mapped form do; the next /64 has its own.
func TestIPv6CountsByItsSlash64(t *testing.T) {
	caps := Caps(Config{PerAddress: 2})
	admit := func(ip string) bool {
		_, ok := caps.Admit(&net.TCPAddr{IP: net.ParseIP(ip), Port: 1})
		return ok
	}
	if !admit("2001:db8:1:2::1") || !admit("2001:db8:1:2::2") {
		t.Fatal("the first two of a /64 refused")
	}
	if admit("2001:db8:1:2:ffff:ffff:ffff:ffff") {
		t.Error("a third address of the same /64 admitted over the per-address cap of 2")
	}
	if !admit("2001:db8:1:3::1") {
		t.Error("an address of the next /64 refused")
	}
	if !admit("192.0.2.7") || !admit("::ffff:192.0.2.7") || admit("192.0.2.7") {
		t.Error("an IPv4 address and its mapped form do not share one count of 2")
	}
}
