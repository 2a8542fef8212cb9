//go:build !linux

package storage

import (
	"context"
	"math"
	"net"
	"os"
)

// writeBuffers writes bufs into file a piece at a time (writev is Linux's, in writev_linux.go).
func writeBuffers(ctx context.Context, file *os.File, bufs [][]byte) (int64, error) {
	b := net.Buffers(bufs)
	return b.WriteTo(&fileWriter{ctx: ctx, file: file, left: math.MaxInt64})
}
