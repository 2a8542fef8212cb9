package storage

import (
	"context"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// directFlag opens a file for direct I/O: its writes go from our memory to the disk, not
// through the page cache. A recorded object is written once and read rarely (a VOD viewer
// reads it from disk, through the cache, later); copying it into the page cache and writing
// the cache back cost a recording server most of what recording cost it.
const directFlag = unix.O_DIRECT

// directAlign is the alignment O_DIRECT wants of the memory, the offsets and the lengths of
// writes: the page size, which covers every logical block size.
const directAlign = 4096

// directChunk is the bytes of one direct write: a recorded object (about 2 MB for 6 s of a
// 3 Mb/s source) goes in a few writes, each a copy of the pieces into an aligned buffer.
const directChunk = 1 << 20

// directBuffers keeps aligned buffers between writes: a new one costs its zeroing and a page
// fault for each of its pages on first use, which came to a fifth of writing an object. Not a
// sync.Pool, which the garbage collector empties every cycle: a few are kept for good, and a
// write that finds none free (more than that many at once) makes its own.
var directBuffers = make(chan []byte, 4)

func directBuffer() []byte {
	select {
	case b := <-directBuffers:
		return b
	default:
	}
	b := make([]byte, directChunk+directAlign)
	off := int(-uintptr(unsafe.Pointer(&b[0])) & (directAlign - 1))
	return b[off : off+directChunk : off+directChunk]
}

func releaseDirectBuffer(b []byte) {
	select {
	case directBuffers <- b:
	default:
	}
}

// writeDirect writes bufs into file, opened with directFlag, through an aligned buffer; the
// last write is padded to directAlign and the file then cut to the object's size.
func writeDirect(ctx context.Context, file *os.File, bufs [][]byte) (int64, error) {
	buf := directBuffer()
	defer releaseDirectBuffer(buf)
	var total int64
	fill := 0
	flush := func() error {
		n := (fill + directAlign - 1) &^ (directAlign - 1)
		clear(buf[fill:n])
		_, err := file.Write(buf[:n])
		fill = 0
		return err
	}
	for _, b := range bufs {
		for len(b) > 0 {
			if err := ctx.Err(); err != nil {
				return total, err
			}
			k := copy(buf[fill:], b)
			fill, b, total = fill+k, b[k:], total+int64(k)
			if fill == len(buf) {
				if err := flush(); err != nil {
					return total, err
				}
			}
		}
	}
	if fill > 0 {
		if err := flush(); err != nil {
			return total, err
		}
	}
	if total%directAlign != 0 {
		if err := file.Truncate(total); err != nil {
			return total, err
		}
	}
	return total, nil
}
