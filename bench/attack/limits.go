package main

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// slowBodies (5b): 300 sign-in POSTs (10 per source address) that declare 1,000 bytes of body
// and send one byte every 10 s; how long until the server closes each.
func slowBodies(ctx context.Context, e *env, r *result) error {
	const n, wait = 300, 75 * time.Second
	addr := strings.TrimPrefix(e.Base, "http://")
	t0 := time.Now()
	closedAfter := make([]time.Duration, n)
	var mu sync.Mutex
	refused, answered := 0, 0
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src(51, i%30)}, Timeout: 10 * time.Second}
			c, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				mu.Lock()
				refused++
				mu.Unlock()
				return
			}
			defer c.Close()
			start := time.Now()
			_, err = io.WriteString(c, "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
			buf := make([]byte, 512)
			for err == nil && time.Since(t0) < wait {
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				var k int
				k, err = c.Read(buf)
				var ne net.Error
				switch {
				case err == nil && k > 0:
					mu.Lock()
					answered++ // an answer (408, 400 …) before the close
					mu.Unlock()
				case errors.As(err, &ne) && ne.Timeout():
					_, err = io.WriteString(c, " ")
				}
			}
			if err != nil {
				closedAfter[i] = time.Since(start)
			}
		})
	}
	wg.Wait()
	var closed []float64
	for _, d := range closedAfter {
		if d > 0 {
			closed = append(closed, d.Seconds())
		}
	}
	slices.Sort(closed)
	open := n - refused - len(closed)
	msg := fmt.Sprintf("%d refused at connect, %d closed by the server", refused, len(closed))
	if len(closed) > 0 {
		msg += fmt.Sprintf(" (after %.1f s median, %.1f s at most; %d answered first)", closed[len(closed)/2], closed[len(closed)-1], answered)
	}
	r.check(open == 0, "%s, %d still open after %v (bound: none)", msg, open, wait)
	return nil
}

// pngBombs (6): 8 users upload, at once, a 6000×6000 16-bit RGBA PNG of zeros (about 280 KB,
// 288 MB decoded) as their avatar.
func pngBombs(ctx context.Context, e *env, r *result) error {
	bomb, err := pngBomb(6000, 6000)
	if err != nil {
		return err
	}
	sessions := make([]string, 8)
	for i := range sessions {
		if sessions[i], err = register(http.DefaultClient, e.Server, fmt.Sprintf("avatar%02d", i), fmt.Sprintf("avatar%02d@attack.example", i)); err != nil {
			return err
		}
	}
	var got statuses
	together(len(sessions), func(i int) {
		c := clientFrom(src(60, i))
		defer c.CloseIdleConnections()
		status, _, err := call(c, "PUT", e.Base+"/api/me/assets/avatar", sessions[i], raw{data: bomb, contentType: "image/png"})
		got.add(status, err)
	})
	growth := e.smp.growthMiB()
	bad := got.count("500", "no answer", "timeout")
	r.check(growth < 600 && bad == 0, "8 uploads of a %d KB PNG: %s; RSS %+.0f MiB (bound 600, under two decodes)", len(bomb)/1000, got.String(), growth)
	return nil
}

// pngBomb writes a PNG of w×h 16-bit RGBA pixels, all zero, compressed as far as zlib goes.
func pngBomb(w, h int) ([]byte, error) {
	var idat bytes.Buffer
	z, _ := zlib.NewWriterLevel(&idat, zlib.BestCompression)
	row := make([]byte, 1+w*8) // filter byte 0, then the pixels
	for range h {
		if _, err := z.Write(row); err != nil {
			return nil, err
		}
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(kind string, data []byte) {
		binary.Write(&out, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		io.WriteString(crc, kind)
		crc.Write(data)
		out.WriteString(kind)
		out.Write(data)
		binary.Write(&out, binary.BigEndian, crc.Sum32())
	}
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 16, 6, 0, 0, 0) // 16 bits, RGBA, deflate, adaptive filters, no interlace
	chunk("IHDR", ihdr)
	data := idat.Bytes()
	for len(data) > 0 {
		k := min(len(data), 1<<16)
		chunk("IDAT", data[:k])
		data = data[k:]
	}
	chunk("IEND", nil)
	return out.Bytes(), nil
}
