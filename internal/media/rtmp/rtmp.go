// Package rtmp is the RTMP ingest adapter: it accepts publishers at
// rtmp://HOST:PORT/live/{streamKey} (or rtmps:// with a TLS configuration), checks the key
// with the streams domain and turns the FLV tags into units of a stream.Stream. The chunk
// protocol itself is gortmplib's.
package rtmp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortmplib"

	"github.com/livehouse/livehouse/internal/connlimit"
	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/safe"
	"github.com/livehouse/livehouse/internal/streams"
)

// Ingest is what the server needs from the streams domain.
type Ingest interface {
	Authorize(ctx context.Context, key string) (*streams.Channel, error)
	Begin(ctx context.Context, ch *streams.Channel, st *stream.Stream, kick func()) (*streams.Encoder, error)
}

// readTimeout ends a publisher that sends nothing for this long.
const readTimeout = 10 * time.Second

// Config configures the RTMP listener.
type Config struct {
	Addr string
	// MaxConnections and MaxConnectionsPerAddress cap the connections open at once, in all
	// and from one IP address; 0 = no cap.
	MaxConnections, MaxConnectionsPerAddress int
	// PublishTimeout is how long a connection has from connecting to having its publish
	// accepted (handshake, connect, publish with a valid key); 0 = readTimeout.
	PublishTimeout time.Duration
	// TLS, when set, makes this an RTMPS listener: the TLS handshake comes first, within
	// PublishTimeout like the rest, and the same guard, limits and sessions follow.
	TLS *tls.Config
}

// Server accepts RTMP publishers.
type Server struct {
	ingest  Ingest
	log     *slog.Logger
	ln      *connlimit.Listener
	publish time.Duration
	tls     *tls.Config
	name    string // "rtmp" or "rtmps", in logs

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// Listen opens the RTMP port.
func Listen(cfg Config, ingest Ingest, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("rtmp: %w", err)
	}
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = readTimeout
	}
	name := "rtmp"
	if cfg.TLS != nil {
		name = "rtmps"
	}
	return &Server{
		ingest: ingest, log: log, publish: cfg.PublishTimeout, conns: map[net.Conn]struct{}{}, tls: cfg.TLS, name: name,
		ln: connlimit.Wrap(ln, connlimit.Config{Total: cfg.MaxConnections, PerAddress: cfg.MaxConnectionsPerAddress}),
	}, nil
}

// Listener is the capped listener, for its counts.
func (s *Server) Listener() *connlimit.Listener { return s.ln }

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

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
		conn, err := s.ln.Accept()
		if err != nil {
			s.wg.Wait()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("%s accept: %w", s.name, err)
		}
		if s.tls != nil {
			// The handshake runs on the connection's first read, under its publish deadline.
			conn = tls.Server(conn, s.tls)
		}
		s.mu.Lock()
		s.conns[conn] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			// A panic ends this connection (and its session) only.
			err := safe.Run(s.log, s.name+" connection", func() error { return s.handle(ctx, conn) })
			conn.Close()
			s.mu.Lock()
			delete(s.conns, conn)
			s.mu.Unlock()
			s.log.Info(s.name+" connection closed", "remote", conn.RemoteAddr().String(), "reason", err)
		}()
	}
}

// streamKey takes the key from the publish URL: rtmp://host/live/{key}.
func streamKey(sc *gortmplib.ServerConn) (string, bool) {
	if sc.URL == nil {
		return "", false
	}
	app, key, ok := strings.Cut(strings.TrimPrefix(sc.URL.Path, "/"), "/")
	return key, ok && app == "live" && key != "" && !strings.Contains(key, "/")
}

func (s *Server) handle(ctx context.Context, conn net.Conn) error {
	// Until its publish is accepted a connection is anonymous: it has publish in all to get
	// there, and what it may send meanwhile is bounded (see guard).
	publish := s.publish
	if publish <= 0 {
		publish = readTimeout
	}
	conn.SetDeadline(time.Now().Add(publish))
	g := newGuard(conn)
	sc := &gortmplib.ServerConn{RW: g}
	if err := sc.Initialize(); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	if err := sc.AcceptConn(); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if !sc.Publish {
		sc.RejectAction()
		return errors.New("playback over RTMP is not offered; watch over HLS")
	}
	key, ok := streamKey(sc)
	if !ok {
		sc.RejectAction()
		return errors.New("publish URL is not rtmp://HOST/live/STREAM_KEY")
	}
	ch, err := s.ingest.Authorize(ctx, key)
	if err != nil {
		sc.RejectAction()
		return err
	}
	g.off.Store(true) // an accepted publisher sends media: gortmplib's own bounds apply
	conn.SetWriteDeadline(time.Time{})
	if err := sc.AcceptAction(); err != nil {
		return fmt.Errorf("accepting publish: %w", err)
	}
	mc := &metaConn{Conn: sc}
	tracks, early, err := findTracks(mc)
	if err != nil {
		if strings.Contains(err.Error(), "unsupported") {
			// Record the refusal as a session, so the streamer can see why in its events.
			_, _ = s.ingest.Begin(ctx, ch, stream.New(stream.Tracks{}), func() { conn.Close() })
			return fmt.Errorf("%w: %v", streams.ErrUnsupported, err)
		}
		return fmt.Errorf("reading tracks: %w", err)
	}
	st := stream.New(tracks)
	live, err := s.ingest.Begin(ctx, ch, st, func() { conn.Close() })
	if err != nil {
		return err
	}
	defer live.End("encoder disconnected") // also when reading panics; End runs once
	live.SetIngestConfig(mc.meta)
	s.log.Info(s.name+" publishing", "session", live.SessionID, "channel", ch.ID, "remote", conn.RemoteAddr().String(), "audio", tracks.AAC != nil)

	w := newMediaWriter(st, tracks)
	for _, m := range early {
		if err := w.write(m.msg, m.at); err != nil {
			live.End("encoder disconnected")
			return err
		}
	}
	for {
		conn.SetReadDeadline(time.Now().Add(readTimeout))
		msg, err := mc.Read()
		if err == nil {
			err = w.write(msg, time.Now())
		}
		if err != nil {
			live.End("encoder disconnected")
			return err
		}
	}
}
