package rtmp

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/handshake"

	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/streams"
	"github.com/livehouse/livehouse/internal/streams/streamstest"
)

// listenTest runs a server on a free loopback port.
func listenTest(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	box, _ := channels.NewKeyBox(make([]byte, 32))
	s, err := Listen(cfg, streams.NewService(streams.Deps{Store: streamstest.New(testChannel), Box: box, Log: log}), log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

func dialRTMP(t *testing.T, s *Server, from string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitClosedByServer reads (and drops) whatever the server sends until it closes c.
func waitClosedByServer(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(2 * time.Minute)) // a safety net far beyond the work
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept the connection open")
	}
}

// chunk0 is a format-0 chunk header on chunk stream 2 declaring a message of length bytes.
func chunk0(length uint32, typ byte) []byte {
	b := []byte{0x02, 0, 0, 0, byte(length >> 16), byte(length >> 8), byte(length), typ, 0, 0, 0, 0}
	return b
}

// setChunkSize is a complete Set Chunk Size message.
func setChunkSize(v uint32) []byte {
	return binary.BigEndian.AppendUint32(chunk0(4, 1), v)
}

func TestPublishDeadline(t *testing.T) {
	s := listenTest(t, Config{PublishTimeout: 200 * time.Millisecond})
	silent := dialRTMP(t, s, "127.0.0.1")
	waitClosedByServer(t, silent) // sends nothing at all

	shaken := dialRTMP(t, s, "127.0.0.1")
	if _, _, err := handshake.DoClient(shaken, false, false); err != nil {
		t.Fatal(err)
	}
	waitClosedByServer(t, shaken) // handshakes, then never asks to publish
}

// TestPreAuthMemoryBounded: anonymous connections that declare huge messages are closed
// before the server allocates them, and ones that stall mid-command hold little.
func TestPreAuthMemoryBounded(t *testing.T) {
	s := listenTest(t, Config{PublishTimeout: 10 * time.Minute})
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	const n = 50
	var wg sync.WaitGroup
	stalled := make([]net.Conn, n)
	for i := range n {
		big := dialRTMP(t, s, "127.0.0.1")
		stalled[i] = dialRTMP(t, s, "127.0.0.2")
		wg.Go(func() {
			if _, _, err := handshake.DoClient(big, false, false); err != nil {
				t.Error(err)
				return
			}
			// gortmplib alone would take a 10 MB chunk size and allocate the 9 MB body
			// at once, then wait for it.
			big.Write(append(setChunkSize(10<<20), chunk0(9<<20, 20)...))
			waitClosedByServer(t, big)
		})
		wg.Go(func() {
			if _, _, err := handshake.DoClient(stalled[i], false, false); err != nil {
				t.Error(err)
				return
			}
			// A command message that never finishes: legal, held until the deadline.
			stalled[i].Write(append(setChunkSize(10<<20), chunk0(8<<10, 20)...))
			stalled[i].Write(bytes.Repeat([]byte{5}, 4<<10))
		})
	}
	wg.Wait()
	// The stalled ones are all open, each with its half message read.
	for _, c := range stalled {
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		if _, err := c.Read(make([]byte, 1<<16)); err == io.EOF {
			t.Fatal("a stalled connection was closed before its deadline")
		}
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	// Each open connection holds its buffers and at most a 16 KB message; without the
	// bounds, each big one would have held 9 MB.
	grew := int64(after.HeapAlloc) - int64(base.HeapAlloc)
	t.Logf("heap after GC grew by %d KB with %d stalled anonymous connections open", grew>>10, n)
	if grew > n*256<<10 {
		t.Errorf("heap grew by %d KB for %d anonymous connections, want under %d KB", grew>>10, 2*n, n*256)
	}
}

func TestConnectionCaps(t *testing.T) {
	s := listenTest(t, Config{MaxConnectionsPerAddress: 2, PublishTimeout: 10 * time.Minute})
	var held []net.Conn
	for range 2 {
		c := dialRTMP(t, s, "127.0.0.1")
		if _, _, err := handshake.DoClient(c, false, false); err != nil { // served
			t.Fatal(err)
		}
		held = append(held, c)
	}
	waitClosedByServer(t, dialRTMP(t, s, "127.0.0.1")) // the third from one address
	other := dialRTMP(t, s, "127.0.0.2")
	if _, _, err := handshake.DoClient(other, false, false); err != nil {
		t.Fatalf("another address refused: %v", err)
	}
	if got := s.Listener().Refused(); got != 1 {
		t.Errorf("refused %d, want 1", got)
	}
	_ = held
}

func TestGuardRefusesRTMPE(t *testing.T) {
	g := newGuard(&replayConn{r: bytes.NewReader([]byte{6, 0, 0, 0})})
	if _, err := g.Read(make([]byte, 4)); !errors.Is(err, errPreAuth) {
		t.Errorf("RTMPE: err = %v, want errPreAuth", err)
	}
}

// panickyIngest panics when asked to authorize a key.
type panickyIngest struct{ Ingest }

func (panickyIngest) Authorize(context.Context, string) (*streams.Channel, error) {
	panic("injected")
}

// TestPanicEndsOnlyItsConnection: a panic while handling one publisher closes that
// connection; the server goes on accepting others.
func TestPanicEndsOnlyItsConnection(t *testing.T) {
	rec, err := os.ReadFile("testdata/ffmpeg-publish.bin")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := Listen(Config{Addr: "127.0.0.1:0", PublishTimeout: 10 * time.Minute}, panickyIngest{}, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	c := dialRTMP(t, s, "127.0.0.1")
	go c.Write(rec) // the recorded publish reaches Authorize, which panics
	waitClosedByServer(t, c)

	next := dialRTMP(t, s, "127.0.0.1")
	if _, _, err := handshake.DoClient(next, false, false); err != nil {
		t.Fatalf("after the panic: %v", err)
	}
}
