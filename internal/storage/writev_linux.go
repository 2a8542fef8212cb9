package storage

import (
	"context"
	"errors"
	"io"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// iovMax is how many pieces one writev takes on Linux (IOV_MAX).
const iovMax = 1024

// writeChunk bounds the bytes of one writev: copying 64 KiB into the page cache takes some
// 15 µs, so the call ends before the Go runtime's monitor sees the goroutine's P sitting in a
// system call (it looks every 20 µs) and hands the P to another thread, waking one, which a
// longer write makes happen for every object (with the monitor polling fast for a while after).
const writeChunk = 64 << 10

// writeBuffers writes bufs into file with one writev per writeChunk bytes (at most iovMax
// pieces), rather than a write per piece: each write to a file also takes its inode's lock
// and updates its times, and a recorded object is some sixty pieces (its parts' boxes). A
// short write goes on from where it stopped.
func writeBuffers(ctx context.Context, file *os.File, bufs [][]byte) (int64, error) {
	raw, err := file.SyscallConn()
	if err != nil {
		return 0, err
	}
	bufs = slices.Clone(bufs) // advanced below: the caller's stay as they were
	var total int64
	var batch [][]byte // the next writev's pieces, reused
	for len(bufs) > 0 {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		batch = batch[:0]
		size := 0
		for _, b := range bufs[:min(len(bufs), iovMax)] {
			if size+len(b) > writeChunk && len(batch) > 0 {
				break
			}
			batch = append(batch, b[:min(len(b), writeChunk)])
			size += len(batch[len(batch)-1])
		}
		var n int
		var werr error
		if err := raw.Write(func(fd uintptr) bool {
			n, werr = unix.Writev(int(fd), batch)
			return true
		}); err != nil {
			return total, err
		}
		if errors.Is(werr, unix.EINTR) {
			continue
		}
		if werr != nil {
			return total, werr
		}
		if n == 0 && len(bufs[0]) > 0 {
			return total, io.ErrShortWrite
		}
		total += int64(n)
		for n > 0 || (len(bufs) > 0 && len(bufs[0]) == 0) {
			if k := min(n, len(bufs[0])); k < len(bufs[0]) {
				bufs[0] = bufs[0][k:]
				n = 0
			} else {
				n -= k
				bufs = bufs[1:]
			}
		}
	}
	return total, nil
}
