// Package srt is the SRT ingest adapter: it accepts publishers at
// srt://HOST:PORT?streamid=publish:{streamKey} (the form OBS and ffmpeg use), checks the key
// with the streams domain during the SRT handshake, and demultiplexes the MPEG-TS they send
// (H.264 + AAC) into units of a stream.Stream. The SRT protocol is datarhei/gosrt's; the
// MPEG-TS reader is mediacommon's.
package srt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	gosrt "github.com/datarhei/gosrt"

	"github.com/livehouse/livehouse/internal/connlimit"
	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/safe"
	"github.com/livehouse/livehouse/internal/streams"
)

// Ingest is what the server needs from the streams domain.
type Ingest interface {
	Authorize(ctx context.Context, key string) (*streams.Channel, error)
	Begin(ctx context.Context, ch *streams.Channel, st *stream.Stream, kick func()) (*streams.Encoder, error)
	Refuse(ctx context.Context, ch *streams.Channel, reason string) error
}

// Bounds on one connection.
const (
	// readTimeout ends a publisher that sends no media for this long.
	readTimeout = 10 * time.Second
	// authorizeTimeout bounds the key check done during the handshake.
	authorizeTimeout = 5 * time.Second
)

// Config configures the SRT listener.
type Config struct {
	Addr string
	// Latency is the receiver's latency (SRT's TSBPD delay); the larger of it and the
	// encoder's own is used. 0 = 120 ms, SRT's default.
	Latency time.Duration
	// Passphrase, when set, is required of every publisher (AES encryption); when empty,
	// encrypted publishers are refused.
	Passphrase string
	// MaxConnections and MaxConnectionsPerAddress cap the connections open at once, in all
	// and from one IP address; 0 = no cap.
	MaxConnections, MaxConnectionsPerAddress int
	// PublishTimeout is how long an accepted connection has to send its first keyframe (with
	// the program tables before it); 0 = readTimeout.
	PublishTimeout time.Duration
}

// Server accepts SRT publishers.
type Server struct {
	cfg    Config
	ingest Ingest
	log    *slog.Logger
	ln     gosrt.Listener
	caps   *connlimit.Listener

	mu    sync.Mutex
	conns map[gosrt.Conn]struct{}
	wg    sync.WaitGroup
}

// Listen opens the SRT port (UDP).
func Listen(cfg Config, ingest Ingest, log *slog.Logger) (*Server, error) {
	if cfg.Latency <= 0 {
		cfg.Latency = 120 * time.Millisecond
	}
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = readTimeout
	}
	c := gosrt.DefaultConfig()
	c.ReceiverLatency, c.PeerLatency = cfg.Latency, cfg.Latency
	c.Logger = nil
	ln, err := gosrt.Listen("srt", cfg.Addr, c)
	if err != nil {
		return nil, fmt.Errorf("srt: %w", err)
	}
	return &Server{cfg: cfg, ingest: ingest, log: log, ln: ln, conns: map[gosrt.Conn]struct{}{},
		caps: connlimit.Caps(connlimit.Config{Total: cfg.MaxConnections, PerAddress: cfg.MaxConnectionsPerAddress})}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Caps is the connection caps, for their counts.
func (s *Server) Caps() *connlimit.Listener { return s.caps }

// Run accepts connections until ctx ends, then closes every connection and waits for them.
func (s *Server) Run(ctx context.Context) error {
	go func() {
		<-ctx.Done()
		s.ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	}()
	for {
		req, err := s.ln.Accept2()
		if err != nil {
			s.wg.Wait()
			if ctx.Err() != nil || errors.Is(err, gosrt.ErrListenerClosed) {
				return nil
			}
			return fmt.Errorf("srt accept: %w", err)
		}
		release, ok := s.caps.Admit(req.RemoteAddr())
		if !ok {
			req.Reject(gosrt.REJX_OVERLOAD)
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer release()
			// A panic ends this connection (and its session) only.
			err := safe.Run(s.log, "srt connection", func() error { return s.handle(ctx, req) })
			s.log.Info("srt connection closed", "remote", req.RemoteAddr().String(), "reason", err)
		}()
	}
}

// rejection is the SRT rejection code for an error of the streams domain.
func rejection(err error) gosrt.RejectionReason {
	switch {
	case errors.Is(err, streams.ErrUnknownKey):
		return gosrt.REJX_UNAUTHORIZED
	case errors.Is(err, streams.ErrAlreadyLive):
		return gosrt.REJX_CONFLICT
	case errors.Is(err, streams.ErrSuspended), errors.Is(err, streams.ErrNotVerified):
		return gosrt.REJX_FORBIDDEN
	case errors.Is(err, streams.ErrShuttingDown):
		return gosrt.REJX_DOWN
	}
	return gosrt.REJX_ISE
}

// handle answers a connection request, then reads the accepted connection until it ends.
func (s *Server) handle(ctx context.Context, req gosrt.ConnRequest) error {
	key, err := streamKey(req.StreamId())
	if err != nil {
		req.Reject(gosrt.REJX_BAD_REQUEST)
		return err
	}
	switch {
	case s.cfg.Passphrase == "" && req.IsEncrypted():
		req.Reject(gosrt.REJ_UNSECURE)
		return errors.New("encrypted SRT, but no srt_passphrase is set")
	case s.cfg.Passphrase != "" && !req.IsEncrypted():
		req.Reject(gosrt.REJ_UNSECURE)
		return errors.New("unencrypted SRT, but srt_passphrase is set")
	case s.cfg.Passphrase != "":
		if err := req.SetPassphrase(s.cfg.Passphrase); err != nil {
			req.Reject(gosrt.REJ_BADSECRET)
			return errors.New("wrong SRT passphrase")
		}
	}
	actx, cancel := context.WithTimeout(ctx, authorizeTimeout)
	ch, err := s.ingest.Authorize(actx, key)
	cancel()
	if err != nil {
		req.Reject(rejection(err))
		return err
	}
	conn, err := req.Accept()
	if err != nil {
		return fmt.Errorf("accepting: %w", err)
	}
	s.mu.Lock()
	s.conns[conn] = struct{}{}
	s.mu.Unlock()
	defer func() {
		conn.Close()
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
	}()
	return s.read(ctx, conn, ch)
}

// read demultiplexes an accepted connection into a live session. gosrt's read deadlines do
// nothing, so a watchdog closes a connection that has not begun its stream within
// PublishTimeout, or that sends nothing for readTimeout.
func (s *Server) read(ctx context.Context, conn gosrt.Conn, ch *streams.Channel) error {
	var live *streams.Encoder
	var begun atomic.Bool
	wr := &watchedReader{r: conn}
	wr.last.Store(time.Now().UnixNano())
	stopWatch := make(chan struct{})
	watchDone := make(chan struct{})
	var why atomic.Value
	go func() {
		defer close(watchDone)
		connected := time.Now()
		tick := time.NewTicker(time.Second / 2)
		defer tick.Stop()
		for {
			select {
			case <-stopWatch:
				return
			case now := <-tick.C:
				switch {
				case !begun.Load() && now.Sub(connected) > s.cfg.PublishTimeout:
					why.Store(fmt.Sprintf("no H.264 keyframe within %v of connecting", s.cfg.PublishTimeout))
				case now.Sub(time.Unix(0, wr.last.Load())) > readTimeout:
					why.Store(fmt.Sprintf("no media for %v", readTimeout))
				default:
					continue
				}
				conn.Close()
				return
			}
		}
	}()
	defer func() { close(stopWatch); <-watchDone }()

	err := demux(wr, func(tracks stream.Tracks) (*stream.Stream, error) {
		st := stream.New(tracks)
		l, err := s.ingest.Begin(ctx, ch, st, func() { conn.Close() })
		if err != nil {
			return nil, err
		}
		live = l
		begun.Store(true)
		l.SetIngestConfig(&streams.IngestConfig{})
		s.log.Info("srt publishing", "session", l.SessionID, "channel", ch.ID, "remote", conn.RemoteAddr().String(), "audio", tracks.AAC != nil)
		return st, nil
	})
	if w, ok := why.Load().(string); ok {
		err = fmt.Errorf("%s: %w", w, err)
	}
	if live != nil {
		live.End("encoder disconnected")
		return err
	}
	if errors.Is(err, streams.ErrUnsupported) {
		// Refused, but on the record: the streamer sees why in the session's events.
		s.log.Warn("srt stream refused", "channel", ch.ID, "reason", err)
		_ = s.ingest.Refuse(ctx, ch, err.Error())
	}
	return err
}

// watchedReader notes when it last read something.
type watchedReader struct {
	r    interface{ Read([]byte) (int, error) }
	last atomic.Int64 // unix nanoseconds
}

func (w *watchedReader) Read(b []byte) (int, error) {
	n, err := w.r.Read(b)
	if n > 0 {
		w.last.Store(time.Now().UnixNano())
	}
	return n, err
}
