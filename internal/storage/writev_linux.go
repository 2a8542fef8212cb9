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

// writeBuffers writes bufs into file with one writev per iovMax pieces, rather than a write
// per piece: each write to a file also takes its inode's lock and updates its times, and a
// recorded object is some sixty pieces (its parts' boxes). A short write goes on from where
// it stopped.
func writeBuffers(ctx context.Context, file *os.File, bufs [][]byte) (int64, error) {
	raw, err := file.SyscallConn()
	if err != nil {
		return 0, err
	}
	bufs = slices.Clone(bufs) // advanced below: the caller's stay as they were
	var total int64
	for len(bufs) > 0 {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		batch := bufs[:min(len(bufs), iovMax)]
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
