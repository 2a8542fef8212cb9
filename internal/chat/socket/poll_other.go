//go:build unix && !linux

package socket

import (
	"errors"

	"golang.org/x/sys/unix"
)

// poller, where there is no epoll, waits on each connection with a goroutine of its own
// through Go's network poller: simpler and heavier, for development machines.
type poller struct {
	handle func(c *conn, readable, writable, hangup bool, buf []byte)
}

func newPoller(handle func(c *conn, readable, writable, hangup bool, buf []byte)) (*poller, error) {
	return &poller{handle: handle}, nil
}

func (p *poller) add(c *conn) error {
	go func() {
		buf := make([]byte, 4<<10)
		for {
			var ready bool
			err := c.rc.Read(func(fd uintptr) bool {
				var b [1]byte
				_, _, rerr := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK)
				ready = !errors.Is(rerr, unix.EAGAIN)
				return ready
			})
			if err != nil {
				p.handle(c, false, false, true, buf)
				return
			}
			p.handle(c, true, false, false, buf)
			c.mu.Lock()
			shut := c.shut
			c.mu.Unlock()
			if shut {
				return
			}
		}
	}()
	return nil
}

func (p *poller) watchWrites(c *conn, on bool) {
	if !on {
		return
	}
	go func() {
		for {
			var fd int
			c.rc.Control(func(f uintptr) { fd = int(f) })
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
			if _, err := unix.Poll(fds, 1000); err == nil && fds[0].Revents != 0 {
				p.handle(c, false, true, false, nil)
			}
			c.mu.Lock()
			done := !c.watching || c.shut
			c.mu.Unlock()
			if done {
				return
			}
		}
	}()
}

func (p *poller) remove(*conn) {}

func (p *poller) close() {}
