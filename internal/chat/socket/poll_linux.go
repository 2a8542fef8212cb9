package socket

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// poller is one epoll instance and the goroutine that waits on it. Connections are keyed by
// descriptor and a sequence number, so an event for a closed descriptor that the kernel has
// already handed to a new connection is recognised and dropped.
type poller struct {
	epfd   int
	wake   int // an eventfd that ends the loop
	handle func(c *conn, readable, writable, hangup bool, buf []byte)

	mu    sync.Mutex
	conns map[int32]*conn
	seq   uint32
}

const (
	readEvents = unix.EPOLLIN | unix.EPOLLRDHUP
	wakeFD     = -1
)

func newPoller(handle func(c *conn, readable, writable, hangup bool, buf []byte)) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: wakeFD}); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, fmt.Errorf("epoll: %w", err)
	}
	p := &poller{epfd: epfd, wake: wake, handle: handle, conns: map[int32]*conn{}}
	go p.loop()
	return p, nil
}

func (p *poller) ctl(c *conn, op int, events uint32) error {
	var err error
	cerr := c.rc.Control(func(fd uintptr) {
		err = unix.EpollCtl(p.epfd, op, int(fd), &unix.EpollEvent{Events: events, Fd: int32(fd), Pad: int32(c.id)})
	})
	return errors.Join(cerr, err)
}

func (p *poller) add(c *conn) error {
	var fd int32
	c.rc.Control(func(f uintptr) { fd = int32(f) })
	p.mu.Lock()
	p.seq++
	c.id = p.seq
	p.conns[fd] = c
	p.mu.Unlock()
	return p.ctl(c, unix.EPOLL_CTL_ADD, readEvents)
}

// watchWrites turns reports of room in the socket's send buffer on or off.
func (p *poller) watchWrites(c *conn, on bool) {
	events := uint32(readEvents)
	if on {
		events |= unix.EPOLLOUT
	}
	p.ctl(c, unix.EPOLL_CTL_MOD, events)
}

// remove forgets a connection before its descriptor is closed.
func (p *poller) remove(c *conn) {
	var fd int32 = -1
	c.rc.Control(func(f uintptr) {
		fd = int32(f)
		unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(f), nil)
	})
	p.mu.Lock()
	if p.conns[fd] == c {
		delete(p.conns, fd)
	}
	p.mu.Unlock()
}

func (p *poller) close() {
	unix.Write(p.wake, []byte{1, 0, 0, 0, 0, 0, 0, 0})
}

func (p *poller) loop() {
	defer unix.Close(p.epfd)
	defer unix.Close(p.wake)
	events := make([]unix.EpollEvent, 256)
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return
		}
		for _, ev := range events[:n] {
			if ev.Fd == wakeFD {
				return
			}
			p.mu.Lock()
			c := p.conns[ev.Fd]
			p.mu.Unlock()
			if c == nil || c.id != uint32(ev.Pad) {
				continue
			}
			p.handle(c, ev.Events&unix.EPOLLIN != 0, ev.Events&unix.EPOLLOUT != 0,
				ev.Events&(unix.EPOLLHUP|unix.EPOLLERR) != 0 || ev.Events&unix.EPOLLRDHUP != 0 && ev.Events&unix.EPOLLIN == 0, buf)
		}
	}
}
