// Package hls is the Low-Latency HLS output. The Packager (packager.go) is the live sessions'
// output: for each live stream, Livehouse's own packager (internal/media/llhls) makes fMP4
// parts, segments and media playlists. The Server is the HTTP handler: it serves them under
// /hls/{channelId}/ (blocking reloads through edges, edge.go and origin.go), or relays a
// channel packaged on another node (relay.go). Viewers are counted elsewhere
// (internal/viewers), from beacons.
package hls

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/livehouse/livehouse/internal/playback"
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

// Server is the HTTP handler of /hls/: it serves what the Packager of this node makes, and
// relays channels packaged on other nodes. It only serves: the session's wiring starts the
// packaging (the Packager is the streams output), and the transcoder and the cues write to
// the Packager.
type Server struct {
	cfg Config
	log *slog.Logger
	pkg *Packager

	relays *relays

	playlistRequests prometheus.Counter
	playlistRenders  prometheus.Counter
	playlistTimeouts prometheus.Counter
}

// NewServer returns the HTTP handler serving pkg's channels (and relaying others). reg may be
// nil.
func NewServer(cfg Config, pkg *Packager, log *slog.Logger, reg prometheus.Registerer) *Server {
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
		if reg != nil {
			reg.MustRegister(c)
		}
		return c
	}
	s := &Server{
		cfg: cfg, log: log, pkg: pkg,
		playlistRequests: counter("livehouse_hls_playlist_requests_total", "Media playlist requests, blocking or not."),
		playlistRenders:  counter("livehouse_hls_playlist_renders_total", "Media playlist renderings; identical waiting requests share one."),
		playlistTimeouts: counter("livehouse_hls_playlist_timeouts_total", "Blocking playlist requests answered 503 after three target durations."),
	}
	s.relays = newRelays(s, counter)
	return s
}

// Close stops relaying; streams packaged here end with their sessions (Packager.Start).
func (s *Server) Close() { s.relays.close() }

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
	lv, final, endedHere := s.pkg.lookup(req.channelID)
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
