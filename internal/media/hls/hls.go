// Package hls is the Low-Latency HLS output: for each live stream, Livehouse's own packager
// (internal/media/llhls, in packager.go) makes fMP4 parts, segments and media playlists, and
// the Server serves them under /hls/{channelId}/ (blocking reloads through edges, edge.go and
// origin.go), or relays a channel packaged on another node (relay.go).
package hls

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/livehouse/livehouse/internal/media/llhls"
	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/playback"
	"github.com/livehouse/livehouse/internal/streams"
)

// Config shapes the output.
type Config struct {
	SegmentCount       int           // segments kept in the window (≥ 7 for LL-HLS)
	SegmentMinDuration time.Duration // segments are cut at the first keyframe after this
	PartMinDuration    time.Duration // LL-HLS part target

	Tokens  Tokens  // checks playback tokens (and mints the relay's own); nil refuses every request
	Origins Locator // finds the node that packages a channel live elsewhere; nil: no relaying
	Node    string  // this node's name, in the tokens it mints for its upstream requests
	Relay   RelayLimits
}

// Tokens checks the playback tokens viewers carry, and mints the ones a relaying node
// presents upstream. *playback.Signer is one.
type Tokens interface {
	Verify(token, channelID string) (playback.Claims, error)
	Mint(c playback.Claims) string
}

// DefaultConfig: about 2 s segments, 200 ms parts, 7 segments.
var DefaultConfig = Config{SegmentCount: 7, SegmentMinDuration: 2 * time.Second, PartMinDuration: 200 * time.Millisecond}

// segmentSlack lets a keyframe that comes a little short of SegmentMinDuration still begin a
// segment. Encoders commonly put a keyframe every 2 s (OBS's default), exactly the minimum,
// and the packager measures segments in the decode times it derives: RTMP's millisecond rounding
// makes some intervals a hair under 2 s, and with B-frames the first segment starts a couple
// of frames early. Such a segment ran on to the next keyframe, 4 s, which doubled the window
// kept in memory and fixed the playlist's target duration at 4 s for the whole stream.
const segmentSlack = 150 * time.Millisecond

// segmentMin is the segment length the packager cuts at.
func (c Config) segmentMin() time.Duration {
	return max(c.SegmentMinDuration-segmentSlack, c.SegmentMinDuration/2)
}

// Server holds a muxer per live channel and serves their playlists and media.
type Server struct {
	cfg Config
	log *slog.Logger

	now func() time.Time

	mu       sync.RWMutex
	channels map[string]*live             // by channel id
	ended    map[string]map[string][]byte // final playlists (with EXT-X-ENDLIST) of streams that just ended

	relays *relays

	unitHook func(channelID string, u *stream.Unit) // tests only: sees each unit before it is packaged

	playlistRequests prometheus.Counter
	playlistRenders  prometheus.Counter
	playlistTimeouts prometheus.Counter
}

// NewServer returns an HLS output with no streams. now and reg may be nil.
func NewServer(cfg Config, log *slog.Logger, now func() time.Time, reg prometheus.Registerer) *Server {
	if now == nil {
		now = time.Now
	}
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
		if reg != nil {
			reg.MustRegister(c)
		}
		return c
	}
	s := &Server{
		cfg: cfg, log: log, now: now, channels: map[string]*live{},
		ended:            map[string]map[string][]byte{},
		playlistRequests: counter("livehouse_hls_playlist_requests_total", "Media playlist requests, blocking or not."),
		playlistRenders:  counter("livehouse_hls_playlist_renders_total", "Media playlist renderings; identical waiting requests share one."),
		playlistTimeouts: counter("livehouse_hls_playlist_timeouts_total", "Blocking playlist requests answered 503 after three target durations."),
	}
	s.relays = newRelays(s, counter)
	if reg != nil {
		// The packager's own count of its parts, and of those published late (llhls.Parts).
		for _, c := range []struct {
			name, help string
			value      func(llhls.PartStats) int64
		}{
			{"livehouse_hls_parts_total", "LL-HLS parts made from live media.", func(p llhls.PartStats) int64 { return p.Made }},
			{"livehouse_hls_parts_late_total", "Parts published more than PART-TARGET after their newest frame arrived (the publisher's pauses included).", func(p llhls.PartStats) int64 { return p.Late }},
			{"livehouse_hls_parts_slow_total", "Parts published more than PART-TARGET after the unit that completed them arrived (the server's own delay).", func(p llhls.PartStats) int64 { return p.Slow }},
		} {
			reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help},
				func() float64 { return float64(c.value(llhls.Parts())) }))
		}
	}
	return s
}

// Close stops relaying; streams packaged here end through Start's stop functions.
func (s *Server) Close() { s.relays.close() }

// Start opens the packaging of a live session's stream (see streams.Output). The units are
// packaged by the session's own goroutine, through a tap (one wake-up per unit for the
// session's bookkeeping and the packaging), which reports the stream started at its first
// keyframe; a unit that makes the packager panic ends the session, not the process. The run
// reports the source packaged, so that the transcoder's rungs may join it, and ends the
// packaging (the playlists get EXT-X-ENDLIST) once the session has ended.
func (s *Server) Start(v *streams.View) streams.Run {
	log := s.log.With("session", v.SessionID)
	lv, err := s.open(v.Channel.ID, v.Tracks, v.Channel.Transcoded())
	if err != nil {
		log.Error("starting the hls packager", "err", err)
		return nil
	}
	started := false
	v.Tap("HLS packager", func(u *stream.Unit) streams.Report {
		if s.unitHook != nil {
			s.unitHook(v.Channel.ID, u)
		}
		if err := lv.write(u); err != nil {
			log.Warn("hls write", "err", err)
		} else if u.Kind == stream.Video && u.Key && !started {
			started = true
			return streams.Report{Kind: streams.ReportStarted}
		}
		return streams.Report{}
	})
	return func(ctx context.Context, reports chan<- streams.Report) error {
		streams.Send(ctx, reports, streams.Report{Kind: streams.ReportPackaged})
		<-ctx.Done() // the session's last unit is tapped by now
		s.close(v.Channel.ID, lv)
		return nil
	}
}

// open starts packaging a channel's stream of the given tracks; ladder: the stream may get
// transcoded rungs (a STANDARD channel's).
func (s *Server) open(channelID string, t stream.Tracks, ladder bool) (*live, error) {
	lv, err := newLive(s.cfg, t, ladder)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.channels[channelID] = lv
	delete(s.ended, channelID)
	s.mu.Unlock()
	return lv, nil
}

// close ends a channel's packaging: its playlists are kept a while with EXT-X-ENDLIST.
func (s *Server) close(channelID string, lv *live) {
	lv.close()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.channels[channelID] == lv {
		delete(s.channels, channelID)
		s.ended[channelID] = lv.final()
		time.AfterFunc(EndedKeep, func() { s.forgetEnded(channelID) })
	}
}

// EndedKeep is how long the final playlists of an ended stream stay servable.
const EndedKeep = time.Minute

// endPlaylist turns a media playlist into a final one: no preload hint (nothing more will
// come) and EXT-X-ENDLIST.
func endPlaylist(body []byte) []byte {
	var b strings.Builder
	for _, line := range strings.SplitAfter(string(body), "\n") {
		if !strings.HasPrefix(line, "#EXT-X-PRELOAD-HINT") && !strings.HasPrefix(line, "#EXT-X-ENDLIST") {
			b.WriteString(line)
		}
	}
	return []byte(strings.TrimRight(b.String(), "\n") + "\n#EXT-X-ENDLIST\n")
}

func (s *Server) forgetEnded(channelID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.channels[channelID] == nil { // not live again meanwhile
		delete(s.ended, channelID)
	}
}

// ticks converts a duration to a clock rate's ticks.
func ticks(d time.Duration, rate int) int64 {
	return d.Nanoseconds() / 1000 * int64(rate) / 1_000_000
}

// ServeHTTP serves /hls/{channelId}/{file}: the multivariant playlist index.m3u8, media
// playlists (with blocking reloads), the init section, segments and parts; a transcoded
// channel's rungs under /hls/{channelId}/{rung}/{file}. A channel live on another node is
// relayed from it (relay.go).
//
// Every name in the path is checked against what exists before anything is made for it, and
// every request carries a playback token for the channel (see package playback).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range")
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Range, Authorization")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		fail(w, http.StatusMethodNotAllowed, "only GET and HEAD")
		return
	}
	if r.Header.Get(TokenCheckHeader) != "" {
		s.checkToken(w, r)
		return
	}
	req, ok := parsePath(r.URL.Path)
	if !ok {
		fail(w, http.StatusNotFound, "no such file")
		return
	}
	_, err := s.verify(r, req.channelID)
	if err != nil {
		fail(w, http.StatusForbidden, "a valid playback token for this channel is needed")
		return
	}
	s.mu.RLock()
	lv := s.channels[req.channelID]
	final, endedHere := s.ended[req.channelID]
	s.mu.RUnlock()
	switch {
	case lv != nil:
		s.serveLocal(w, r, lv, req)
	case endedHere && !s.liveElsewhere(r, req.channelID):
		// The stream has ended: players still on it learn so from EXT-X-ENDLIST.
		if body := final[req.key]; body != nil {
			writePlaylist(w, r, body, cacheShort)
			return
		}
		fail(w, http.StatusNotFound, "this channel is not live")
	default:
		s.serveRelay(w, r, req)
	}
}

// liveElsewhere reports whether a channel that ended here is live again on another node (its
// streamer reconnected there), so that its viewers get the new stream rather than the end of
// the old one.
func (s *Server) liveElsewhere(r *http.Request, channelID string) bool {
	if s.cfg.Origins == nil {
		return false
	}
	_, err := s.relays.get(r.Context(), channelID)
	return err == nil
}

// TokenCheckHeader on a request asks only whether its playback token is good for the channel
// its path names: 204 or 403, nothing served. A caching edge asks so (nginx's auth_request)
// before it answers from its cache, which does not hold the token.
const TokenCheckHeader = "X-Livehouse-Token-Check"

func (s *Server) checkToken(w http.ResponseWriter, r *http.Request) {
	channelID, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/hls/"), "/")
	if !idRE.MatchString(channelID) {
		fail(w, http.StatusForbidden, "no channel")
		return
	}
	if _, err := s.verify(r, channelID); err != nil {
		fail(w, http.StatusForbidden, "a valid playback token for this channel is needed")
		return
	}
	w.Header().Set("Cache-Control", cacheNone)
	w.WriteHeader(http.StatusNoContent)
}

// NodeUserPrefix starts the UserID of the tokens a node mints for its own upstream requests
// when it relays a channel; those are not viewers.
const NodeUserPrefix = "node:"

// verify checks the request's playback token: the `token` query parameter, or an
// Authorization bearer token (for tools such as ffprobe).
func (s *Server) verify(r *http.Request, channelID string) (playback.Claims, error) {
	if s.cfg.Tokens == nil {
		return playback.Claims{}, playback.ErrInvalid
	}
	token := r.URL.Query().Get(playback.Param)
	if token == "" {
		token, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	return s.cfg.Tokens.Verify(token, channelID)
}

// serveLocal answers a request for a channel packaged on this node.
func (s *Server) serveLocal(w http.ResponseWriter, r *http.Request, lv *live, req hlsRequest) {
	m := lv.source
	if req.rung != "" {
		rg := lv.rung(req.rung)
		if rg == nil {
			fail(w, http.StatusNotFound, "no such rendition")
			return
		}
		if m = rg.muxer(); m == nil {
			fail(w, http.StatusNotFound, "no such rendition")
			return
		}
	}
	switch {
	case req.file == "index.m3u8" && req.rung == "" && lv.transcoded():
		s.serveMultivariant(w, r, lv)
	case req.file == "index.m3u8":
		serveMuxerIndex(w, r, m, s.blockLimit())
	case slices.Contains(m.Playlists(), req.file):
		e := s.localEdge(lv, m, req.key, req.file)
		s.servePlaylist(w, r, e, s.blockLimit(), r.URL.Query())
	case !mediaFileRE.MatchString(req.file):
		fail(w, http.StatusNotFound, "no such file")
	default:
		serveMuxerFile(w, r, m, req.file, s.blockLimit())
	}
}

// serveMultivariant answers index.m3u8 of a transcoded channel. Rungs come and go (a
// transcoder restart), so it is not cached for long.
func (s *Server) serveMultivariant(w http.ResponseWriter, r *http.Request, lv *live) {
	waitReady(r.Context(), lv.source, s.blockLimit())
	body, ok := lv.multivariant()
	if !ok {
		w.Header().Set("Retry-After", "1")
		fail(w, http.StatusServiceUnavailable, "the stream is not ready")
		return
	}
	writePlaylist(w, r, body, cacheShort)
}

// PutMetadata writes a cue into a live channel's output at the media time of its next video
// frame.
func (s *Server) PutMetadata(channelID string, md Metadata) error {
	s.mu.RLock()
	lv := s.channels[channelID]
	s.mu.RUnlock()
	if lv == nil {
		return ErrNotLive
	}
	lv.tl.Put(md)
	return nil
}
