// Package hls is the Low-Latency HLS output: for each live stream, a gohlslib muxer packages
// the units into fMP4/CMAF segments and parts, and serves them under /hls/{channelId}/.
package hls

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/prometheus/client_golang/prometheus"

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
// and gohlslib measures segments in the decode times it derives: RTMP's millisecond rounding
// makes some intervals a hair under 2 s, and with B-frames the first segment starts a couple
// of frames early. Such a segment ran on to the next keyframe, 4 s, which doubled the window
// kept in memory and fixed the playlist's target duration at 4 s for the whole stream.
const segmentSlack = 150 * time.Millisecond

// segmentMin is the segment length gohlslib and the ladder's schedule cut at.
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
	var audioBitrate func() int // nil: a passthrough stream, which has no ladder to describe
	if v.Channel.Transcoded() {
		audioBitrate = v.AudioBitrate
	}
	lv, err := s.open(v.Channel.ID, v.Tracks, audioBitrate, log)
	if err != nil {
		log.Error("starting hls muxer", "err", err)
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

// open starts packaging a channel's stream of the given tracks. A stream that may get a
// ladder (a STANDARD channel's) has audioBitrate, the measured bitrate of its audio for the
// multivariant playlist's bandwidths; the others skip the ladder's bookkeeping on every frame.
func (s *Server) open(channelID string, t stream.Tracks, audioBitrate func() int, log *slog.Logger) (*live, error) {
	lv := &live{tl: &timeline{}, rungs: map[string]*Rung{}, edges: map[string]*localEdge{}, audioBitrate: audioBitrate}
	if audioBitrate != nil {
		lv.sched = &schedule{minTicks: ticks(s.cfg.segmentMin(), videoClock)}
	}
	var tracks []*gohlslib.Track
	if h := t.H264; h != nil {
		lv.video = &gohlslib.Track{Codec: &codecs.H264{SPS: h.SPS, PPS: h.PPS}, ClockRate: videoClock}
		tracks = append(tracks, lv.video)
	}
	if a := t.AAC; a != nil {
		lv.audioTrack = &gohlslib.Track{Codec: &codecs.MPEG4Audio{Config: *a}, ClockRate: a.SampleRate, Name: "main", IsDefault: true}
		tracks = append(tracks, lv.audioTrack)
	}
	if o := t.Opus; o != nil && lv.audioTrack == nil {
		lv.audioTrack = &gohlslib.Track{Codec: &codecs.Opus{ChannelCount: o.ChannelCount}, ClockRate: 48000, Name: "main", IsDefault: true}
		tracks = append(tracks, lv.audioTrack)
	}
	lv.source = s.newMuxer(tracks, log)
	if err := lv.source.Start(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.channels[channelID] = lv
	delete(s.ended, channelID)
	s.mu.Unlock()
	return lv, nil
}

// write packages one unit of the source; the calls must be serialised.
func (lv *live) write(u *stream.Unit) error {
	switch {
	case u.Kind == stream.Video && lv.video != nil:
		pts := ticks(u.PTS, videoClock)
		lv.tl.stamp(pts, u.NTP)
		if lv.sched != nil {
			lv.sched.video(pts, u.NTP, u.Key)
		}
		return lv.source.WriteH264(lv.video, u.NTP, pts, u.Payload)
	case u.Kind == stream.Audio && lv.audioTrack != nil:
		if _, opus := lv.audioTrack.Codec.(*codecs.Opus); opus {
			return lv.source.WriteOpus(lv.audioTrack, u.NTP, ticks(u.PTS, 48000), u.Payload)
		}
		return lv.source.WriteMPEG4Audio(lv.audioTrack, u.NTP, ticks(u.PTS, lv.audioTrack.ClockRate), u.Payload)
	}
	return nil
}

// close ends a channel's packaging: its playlists are kept a while with EXT-X-ENDLIST.
func (s *Server) close(channelID string, lv *live) {
	lv.mu.Lock()
	rungs := make([]*Rung, 0, len(lv.rungs))
	for _, r := range lv.rungs {
		rungs = append(rungs, r)
	}
	lv.mu.Unlock()
	s.mu.Lock()
	if s.channels[channelID] == lv {
		delete(s.channels, channelID)
		last := map[string][]byte{}
		lv.mu.Lock()
		for key, le := range lv.edges {
			le.e.mu.Lock()
			if le.e.body != nil {
				last[key] = le.e.body
			}
			le.e.mu.Unlock()
		}
		lv.mu.Unlock()
		s.ended[channelID] = endPlaylists(last)
		time.AfterFunc(EndedKeep, func() { s.forgetEnded(channelID) })
	}
	s.mu.Unlock()
	lv.source.Close()
	for _, r := range rungs {
		r.Close()
	}
}

// EndedKeep is how long the final playlists of an ended stream stay servable.
const EndedKeep = time.Minute

// endPlaylists turns the newest media playlists into final ones.
func endPlaylists(last map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for file, body := range last {
		out[file] = endPlaylist(body)
	}
	return out
}

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

// newMuxer returns an LL-HLS muxer of the server's shape, not started.
func (s *Server) newMuxer(tracks []*gohlslib.Track, log *slog.Logger) *gohlslib.Muxer {
	return &gohlslib.Muxer{
		Variant:            gohlslib.MuxerVariantLowLatency,
		SegmentCount:       s.cfg.SegmentCount,
		SegmentMinDuration: s.cfg.segmentMin(),
		PartMinDuration:    s.cfg.PartMinDuration,
		Tracks:             tracks,
		OnEncodeError:      func(err error) { log.Warn("hls encode", "err", err) },
	}
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
		serveMuxerIndex(w, r, m)
	case slices.Contains(mediaPlaylists(m), req.file):
		e := s.localEdge(req.channelID, lv, m, req.key, req.file)
		s.servePlaylist(w, r, e, s.blockLimit(), r.URL.Query())
	case !mediaFileRE.MatchString(req.file):
		fail(w, http.StatusNotFound, "no such file")
	case isMedia(req.file) && !lv.tl.empty():
		serveWithMetadata(w, r, m, lv.tl, req.key)
	default:
		serveMuxerFile(w, r, m)
	}
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
	lv.tl.put(md)
	return nil
}

// isMedia reports whether a file is a part or a segment (not the init section).
func isMedia(file string) bool {
	return strings.HasSuffix(file, ".mp4") && !strings.HasSuffix(file, "_init.mp4")
}

// serveWithMetadata serves a part or segment with the stream's cues in it. The whole body is
// rewritten, so range requests are answered with all of it (which a 200 allows).
func serveWithMetadata(w http.ResponseWriter, r *http.Request, m *gohlslib.Muxer, tl *timeline, key string) {
	var rec *recorder
	body, ok := tl.rewritten(key, func() ([]byte, bool) {
		get := r.Clone(r.Context())
		get.Method = http.MethodGet
		get.Header.Del("Range")
		rec = &recorder{header: http.Header{}}
		m.Handle(rec, get)
		return rec.body.Bytes(), rec.status == http.StatusOK
	})
	if !ok {
		fail(w, http.StatusNotFound, "no such file")
		return
	}
	writeMedia(w, r, body)
}
