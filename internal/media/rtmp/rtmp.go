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
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

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
	// Accept the publish here: the reader would, but it reads through metaConn, which keeps
	// the onMetaData the reader skips.
	if err := sc.AcceptAction(); err != nil {
		return fmt.Errorf("accepting publish: %w", err)
	}
	mc := &metaConn{Conn: sc}
	mc.noting = true
	r := &gortmplib.Reader{Conn: mc}
	err = r.Initialize()
	mc.noting = false
	if err != nil {
		if strings.Contains(err.Error(), "unsupported") {
			// Record the refusal as a session, so the streamer can see why in its events.
			_, _ = s.ingest.Begin(ctx, ch, stream.New(stream.Tracks{}), func() { conn.Close() })
			return fmt.Errorf("%w: %v", streams.ErrUnsupported, err)
		}
		return fmt.Errorf("reading tracks: %w", err)
	}

	var tracks stream.Tracks
	var video, audio *gortmplib.Track
	for _, t := range r.Tracks() {
		switch c := t.Codec.(type) {
		case *codecs.H264:
			if video == nil {
				video, tracks.H264 = t, &stream.H264{SPS: c.SPS, PPS: c.PPS}
			}
		case *codecs.MPEG4Audio:
			if audio == nil && c.Config != nil {
				audio, tracks.AAC = t, c.Config
			}
		}
	}
	st := stream.New(tracks)
	live, err := s.ingest.Begin(ctx, ch, st, func() { conn.Close() })
	if err != nil {
		return err
	}
	defer live.End("encoder disconnected") // also when reading panics; End runs once
	live.SetIngestConfig(mc.meta)
	s.log.Info(s.name+" publishing", "session", live.SessionID, "channel", ch.ID, "remote", conn.RemoteAddr().String(), "audio", audio != nil)

	if video != nil {
		sps, pps := tracks.H264.SPS, tracks.H264.PPS
		r.OnDataH264(video, func(pts, dts time.Duration, au [][]byte) {
			if s, p, ok := sequenceHeader(au); ok {
				// A new AVC sequence header mid-stream (an encoder that changed its canvas
				// size): the keyframes from here on carry the new parameter sets, and the
				// packager starts a discontinuity with a new init section at the first.
				sps, pps = s, p
				return
			}
			key := h264.IsRandomAccess(au)
			if key {
				// FLV carries the parameter sets out of band; players need them in band.
				au = append([][]byte{sps, pps}, au...)
			}
			st.Write(&stream.Unit{Kind: stream.Video, PTS: pts, NTP: mc.videoAt(dts), Payload: au, Key: key})
		})
	}
	if audio != nil {
		r.OnDataMPEG4Audio(audio, func(pts time.Duration, au []byte) {
			st.Write(&stream.Unit{Kind: stream.Audio, PTS: pts, NTP: mc.audioAt(pts), Payload: [][]byte{au}})
		})
	}
	for {
		conn.SetReadDeadline(time.Now().Add(readTimeout))
		if err := r.Read(); err != nil {
			live.End("encoder disconnected")
			return err
		}
	}
}

// sequenceHeader reports whether an access unit is only parameter sets (gortmplib hands an
// AVC sequence header over as the SPS and PPS), and returns them.
func sequenceHeader(au [][]byte) (sps, pps []byte, ok bool) {
	for _, nalu := range au {
		if len(nalu) == 0 {
			continue
		}
		switch h264.NALUType(nalu[0] & 0x1f) {
		case h264.NALUTypeSPS:
			sps = nalu
		case h264.NALUTypePPS:
			pps = nalu
		default:
			return nil, nil, false
		}
	}
	if sps == nil || pps == nil {
		return nil, nil, false
	}
	var s h264.SPS
	if err := s.Unmarshal(sps); err != nil {
		return nil, nil, false // not one the packager could use: keep the old ones
	}
	return append([]byte(nil), sps...), append([]byte(nil), pps...), true
}
