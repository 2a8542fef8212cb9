//go:build !linux

package storage

import (
	"context"
	"os"
)

// directFlag is 0 where direct I/O is not offered here: objects go through the page cache.
const directFlag = 0

func writeDirect(ctx context.Context, file *os.File, bufs [][]byte) (int64, error) {
	return writeBuffers(ctx, file, bufs)
}
