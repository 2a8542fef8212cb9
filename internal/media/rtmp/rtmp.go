// Package rtmp is the RTMP ingest adapter: it accepts publishers at
// rtmp://HOST:PORT/live/{streamKey}, checks the key with the streams domain and turns the
// FLV tags into units of a stream.Stream. The chunk protocol itself is gortmplib's.
package rtmp

import (
	"context"
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

	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/streams"
)

// Ingest is what the server needs from the streams domain.
type Ingest interface {
	Authorize(ctx context.Context, key string) (*streams.Channel, error)
	Begin(ctx context.Context, ch *streams.Channel, st *stream.Stream, kick func()) (*streams.Live, error)
}

// readTimeout ends a publisher that sends nothing for this long.
const readTimeout = 10 * time.Second

// Server accepts RTMP publishers.
type Server struct {
	ingest Ingest
	log    *slog.Logger
	ln     net.Listener

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// Listen opens the RTMP port.
func Listen(addr string, ingest Ingest, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("rtmp: %w", err)
	}
	return &Server{ingest: ingest, log: log, ln: ln, conns: map[net.Conn]struct{}{}}, nil
}

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
			return fmt.Errorf("rtmp accept: %w", err)
		}
		s.mu.Lock()
		s.conns[conn] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			err := s.handle(ctx, conn)
			conn.Close()
			s.mu.Lock()
			delete(s.conns, conn)
			s.mu.Unlock()
			s.log.Info("rtmp connection closed", "remote", conn.RemoteAddr().String(), "reason", err)
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
	conn.SetReadDeadline(time.Now().Add(readTimeout))
	sc := &gortmplib.ServerConn{RW: conn}
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
	// Accept the publish here: the reader would, but it reads through metaConn, which keeps
	// the onMetaData the reader skips.
	if err := sc.AcceptAction(); err != nil {
		return fmt.Errorf("accepting publish: %w", err)
	}
	mc := &metaConn{Conn: sc}
	r := &gortmplib.Reader{Conn: mc}
	if err := r.Initialize(); err != nil {
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
	live.SetIngestConfig(mc.meta)
	s.log.Info("rtmp publishing", "session", live.SessionID, "channel", ch.ID, "remote", conn.RemoteAddr().String(), "audio", audio != nil)

	if video != nil {
		sps, pps := tracks.H264.SPS, tracks.H264.PPS
		r.OnDataH264(video, func(pts, _ time.Duration, au [][]byte) {
			key := h264.IsRandomAccess(au)
			if key {
				// FLV carries the parameter sets out of band; players need them in band.
				au = append([][]byte{sps, pps}, au...)
			}
			st.Write(&stream.Unit{Kind: stream.Video, PTS: pts, NTP: time.Now(), Payload: au, Key: key})
		})
	}
	if audio != nil {
		r.OnDataMPEG4Audio(audio, func(pts time.Duration, au []byte) {
			st.Write(&stream.Unit{Kind: stream.Audio, PTS: pts, NTP: time.Now(), Payload: [][]byte{au}})
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
