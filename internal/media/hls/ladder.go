package hls

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// An adaptive-bitrate ladder: a STANDARD channel's transcoded renditions (rungs) are packaged
// here like the source, one gohlslib muxer each, served under /hls/{channelId}/{rung}/, and
// listed with the source in a multivariant playlist that Livehouse renders itself from what
// each muxer reports (bandwidth, codecs, resolution, frame rate).
//
// Segments line up across renditions by construction: the transcoder puts a keyframe on every
// source keyframe (same media times), and a rung's muxer starts on a keyframe that began one
// of the source's segments. gohlslib cuts a segment at the first keyframe at least
// SegmentMinDuration after the segment's start, so from the same start on the same keyframes
// every rendition cuts at the same media times. Timed metadata follows for free: every rung
// shares the source's timeline, whose cues are stamped in the source's media time.

// ErrNoRung is returned for a rung name that the ladder does not know.
var ErrNoRung = errors.New("no such rendition")

// ErrNoLadder is returned when rungs are added to a stream that was not opened for a ladder.
var ErrNoLadder = errors.New("no ladder")

// live is one channel's output on this node: the source rendition, its rungs and its cues.
type live struct {
	source            *gohlslib.Muxer
	video, audioTrack *gohlslib.Track
	tl                *timeline
	sched             *schedule  // nil unless the stream may get a ladder
	audioBitrate      func() int // the source's audio, shared by the upper rungs; nil with sched

	mu     sync.Mutex
	ladder bool                  // the channel is transcoded: the multivariant playlist is ours
	rungs  map[string]*Rung      // by name
	edges  map[string]*localEdge // followers of the media playlists, by key ({rung}/file)
}

func (lv *live) rung(name string) *Rung {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	return lv.rungs[name]
}

// meter measures a track's bitrate from the bytes and media time written.
type meter struct {
	bytes      int64
	first, end time.Duration
	started    bool
}

func (m *meter) add(n int, pts, dur time.Duration) {
	if !m.started {
		m.started, m.first = true, pts
	}
	m.bytes += int64(n)
	m.end = max(m.end, pts+dur)
}

func (m *meter) bps() int {
	if span := m.end - m.first; span > 0 {
		return int(float64(m.bytes*8) / span.Seconds())
	}
	return 0
}

// schedule records, from the source rendition, where its segments begin and the wall clock of
// its frames, for the rungs to start on the same boundaries and carry the same
// program-date-time.
type schedule struct {
	minTicks int64

	mu     sync.Mutex
	starts []int64 // the newest segment starts, 90 kHz ticks from the stream's start
	clock  []clockPoint
}

type clockPoint struct {
	pts int64
	ntp time.Time
}

const (
	scheduleStarts = 64
	scheduleClock  = 1024
)

// video records a source video frame; key marks a keyframe.
func (s *schedule) video(pts int64, ntp time.Time, key bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if key && (len(s.starts) == 0 || pts-s.starts[len(s.starts)-1] >= s.minTicks) {
		s.starts = append(s.starts, pts)
		if len(s.starts) > scheduleStarts {
			s.starts = s.starts[1:]
		}
	}
	s.clock = append(s.clock, clockPoint{pts, ntp})
	if len(s.clock) > scheduleClock {
		s.clock = s.clock[len(s.clock)-scheduleClock/2:]
	}
}

// isStart reports whether the source began a segment at pts.
func (s *schedule) isStart(pts int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.starts, pts)
}

// ntp is the wall clock of the source frame at pts, extrapolated from the nearest earlier one.
func (s *schedule) ntp(pts int64) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := sort.Search(len(s.clock), func(i int) bool { return s.clock[i].pts > pts })
	if i == 0 {
		if len(s.clock) == 0 {
			return time.Now()
		}
		i = 1
	}
	p := s.clock[i-1]
	return p.ntp.Add(time.Duration((pts - p.pts) * int64(time.Second) / videoClock))
}

// Rung is one transcoded rendition of a live channel, written by the transcoder.
type Rung struct {
	Name string

	s     *Server
	lv    *live
	audio *mpeg4audio.AudioSpecificConfig // its own (transcoded) audio; nil: it plays the source's

	mu         sync.Mutex
	m          *gohlslib.Muxer
	vt, at     *gohlslib.Track
	sps, pps   []byte
	aligned    bool  // writing: started on, or resynchronised to, a source segment start
	segStart   int64 // where the muxer's current segment began, as gohlslib decides it
	segments   int   // segments the muxer completed; listed from the first
	started    bool
	closed     bool
	audioMeter meter
}

// AddRung adds a rendition to a live channel's ladder; audio is its own audio track's
// configuration, or nil for the source's audio. The channel's multivariant playlist lists
// it once its first segment is complete.
func (s *Server) AddRung(channelID, name string, audio *mpeg4audio.AudioSpecificConfig) (*Rung, error) {
	if name == "" || strings.ContainsAny(name, "/?.") {
		return nil, fmt.Errorf("bad rendition name %q", name)
	}
	s.mu.RLock()
	lv := s.channels[channelID]
	s.mu.RUnlock()
	if lv == nil {
		return nil, ErrNotLive
	}
	if lv.sched == nil {
		return nil, fmt.Errorf("%w: the channel is not transcoded", ErrNoLadder)
	}
	lv.mu.Lock()
	defer lv.mu.Unlock()
	if lv.rungs[name] != nil {
		return nil, fmt.Errorf("rendition %q already exists", name)
	}
	r := &Rung{Name: name, s: s, lv: lv, audio: audio}
	lv.rungs[name] = r
	return r, nil
}

// SetLadder marks a live channel as transcoded (or not), so that its multivariant playlist
// is Livehouse's, listing the rungs, rather than gohlslib's.
func (s *Server) SetLadder(channelID string, on bool) error {
	s.mu.RLock()
	lv := s.channels[channelID]
	s.mu.RUnlock()
	if lv == nil {
		return ErrNotLive
	}
	if on && lv.sched == nil {
		return fmt.Errorf("%w: the channel is not transcoded", ErrNoLadder)
	}
	lv.mu.Lock()
	lv.ladder = on
	lv.mu.Unlock()
	return nil
}

// Resync makes the rung wait for the next keyframe that starts a source segment, as after
// its transcoder restarts: the gap stays inside one segment and boundaries stay aligned.
func (r *Rung) Resync() {
	r.mu.Lock()
	r.aligned = false
	r.mu.Unlock()
}

// WriteVideo writes an H.264 access unit; pts is in 90 kHz ticks from the stream's start, on
// the source's timeline.
func (r *Rung) WriteVideo(pts int64, au [][]byte) error {
	key := h264.IsRandomAccess(au)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrNotLive
	}
	start := key && r.lv.sched.isStart(pts)
	if !r.aligned {
		if !start {
			return nil
		}
		r.aligned = true
	}
	if key {
		if err := r.params(au); err != nil {
			return err
		}
	}
	if r.m == nil {
		return nil
	}
	if err := r.m.WriteH264(r.vt, r.lv.sched.ntp(pts), pts, au); err != nil {
		return err
	}
	// gohlslib's rule (no B-frames here, so decode times are these): a keyframe at least
	// SegmentMinDuration after the segment's start begins the next one.
	switch {
	case !r.started:
		r.started, r.segStart = true, pts
	case key && pts-r.segStart >= r.lv.sched.minTicks:
		r.segStart = pts
		r.segments++
	}
	return nil
}

// params starts the muxer on the first keyframe's parameter sets.
func (r *Rung) params(au [][]byte) error {
	var sps, pps []byte
	for _, nalu := range au {
		switch h264.NALUType(nalu[0] & 0x1f) {
		case h264.NALUTypeSPS:
			sps = nalu
		case h264.NALUTypePPS:
			pps = nalu
		}
	}
	if r.m != nil || sps == nil || pps == nil {
		return nil
	}
	r.sps, r.pps = sps, pps
	r.vt = &gohlslib.Track{Codec: &codecs.H264{SPS: sps, PPS: pps}, ClockRate: videoClock}
	tracks := []*gohlslib.Track{r.vt}
	if r.audio != nil {
		r.at = &gohlslib.Track{Codec: &codecs.MPEG4Audio{Config: *r.audio}, ClockRate: r.audio.SampleRate, Name: "main", IsDefault: true}
		tracks = append(tracks, r.at)
	}
	m := r.s.newMuxer(tracks, r.s.log.With("rendition", r.Name))
	if err := m.Start(); err != nil {
		return fmt.Errorf("starting the %s muxer: %w", r.Name, err)
	}
	r.m = m
	return nil
}

// WriteAudio writes AAC access units of the rung's own audio; pts is in 90 kHz ticks.
func (r *Rung) WriteAudio(pts int64, aus [][]byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.m == nil || r.at == nil || !r.aligned {
		return nil
	}
	rate := int64(r.audio.SampleRate)
	for _, au := range aus {
		r.audioMeter.add(len(au), time.Duration(pts*int64(time.Second)/videoClock), time.Duration(1024*int64(time.Second)/rate))
		pts += 1024 * videoClock / rate
	}
	pts -= int64(len(aus)) * 1024 * videoClock / rate
	return r.m.WriteMPEG4Audio(r.at, r.lv.sched.ntp(pts), pts*rate/videoClock, aus)
}

// muxer returns the rung's muxer once its first segment is complete.
func (r *Rung) ready() *gohlslib.Muxer {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.segments < 1 {
		return nil
	}
	return r.m
}

func (r *Rung) muxer() *gohlslib.Muxer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m
}

// Close takes the rung off the ladder and ends its playlists.
func (r *Rung) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	m := r.m
	r.mu.Unlock()
	r.lv.mu.Lock()
	if r.lv.rungs[r.Name] == r {
		delete(r.lv.rungs, r.Name)
	}
	r.lv.mu.Unlock()
	if m != nil {
		m.Close()
	}
}

// variantOf reads what gohlslib knows of a muxer's output: bandwidth from its segments, and
// the codecs, resolution and frame rate of its tracks.
func variantOf(m *gohlslib.Muxer) (*playlist.MultivariantVariant, error) {
	req, _ := http.NewRequest(http.MethodGet, "/index.m3u8", nil)
	rec := &recorder{header: http.Header{}}
	m.Handle(rec, req)
	if rec.status != http.StatusOK {
		return nil, fmt.Errorf("multivariant playlist: status %d", rec.status)
	}
	var mv playlist.Multivariant
	if err := mv.Unmarshal(rec.body.Bytes()); err != nil {
		return nil, err
	}
	if len(mv.Variants) != 1 {
		return nil, fmt.Errorf("multivariant playlist with %d variants", len(mv.Variants))
	}
	return mv.Variants[0], nil
}

// multivariant renders a transcoded channel's multivariant playlist: the source first (hls.js
// starts on the first listed), then each rung that has a whole segment, highest first. The
// URIs carry no query: every viewer loads the same ones.
func (lv *live) multivariant() ([]byte, error) {
	const suffix = ""
	src, err := variantOf(lv.source)
	if err != nil {
		return nil, err
	}
	lv.mu.Lock()
	rungs := make([]*Rung, 0, len(lv.rungs))
	for _, r := range lv.rungs {
		rungs = append(rungs, r)
	}
	lv.mu.Unlock()
	sourceAudio := lv.audioBitrate()

	pl := &playlist.Multivariant{Version: 10, IndependentSegments: true}
	sourceCodec := "" // the source's audio codec (AAC from RTMP, Opus from WebRTC), shared by the upper rungs
	for _, c := range src.Codecs {
		if !strings.HasPrefix(c, "avc1.") {
			sourceCodec = c
		}
	}
	hasAudio := sourceCodec != ""
	if hasAudio {
		uri := "audio2_stream.m3u8" + suffix
		pl.Renditions = append(pl.Renditions, &playlist.MultivariantRendition{
			Type: playlist.MultivariantRenditionTypeAudio, GroupID: "audio", Name: "source", Autoselect: true, Default: true, URI: &uri,
		})
		src.Audio = "audio"
		src.Bandwidth += sourceAudio
		if src.AverageBandwidth != nil {
			*src.AverageBandwidth += sourceAudio
		}
	}
	src.URI = "video1_stream.m3u8" + suffix
	pl.Variants = append(pl.Variants, src)

	type entry struct {
		v      *playlist.MultivariantVariant
		height int
	}
	var entries []entry
	for _, r := range rungs {
		m := r.ready()
		if m == nil {
			continue
		}
		v, err := variantOf(m)
		if err != nil {
			continue
		}
		v.URI = r.Name + "/video1_stream.m3u8" + suffix
		audio := sourceAudio
		switch {
		case r.audio != nil:
			group := "audio-" + r.Name
			uri := r.Name + "/audio2_stream.m3u8" + suffix
			pl.Renditions = append(pl.Renditions, &playlist.MultivariantRendition{
				Type: playlist.MultivariantRenditionTypeAudio, GroupID: group, Name: r.Name, Autoselect: true, Default: true, URI: &uri,
			})
			v.Audio = group
			audio = r.audioBitrate() // gohlslib's bandwidth counts the video stream only
		case hasAudio:
			v.Audio = "audio"
			if !slices.Contains(v.Codecs, sourceCodec) {
				v.Codecs = append(v.Codecs, sourceCodec)
			}
		}
		v.Bandwidth += audio
		if v.AverageBandwidth != nil {
			*v.AverageBandwidth += audio
		}
		var w, h int
		fmt.Sscanf(v.Resolution, "%dx%d", &w, &h)
		entries = append(entries, entry{v, h})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].height > entries[j].height })
	for _, e := range entries {
		pl.Variants = append(pl.Variants, e.v)
	}
	return pl.Marshal()
}

// audioBitrate is the measured bitrate of a rung's own audio.
func (r *Rung) audioBitrate() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.audioMeter.bps()
}

func (lv *live) transcoded() bool {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	return lv.ladder
}

// serveMultivariant answers index.m3u8 of a transcoded channel. Rungs come and go (a
// transcoder restart), so it is not cached for long.
func (s *Server) serveMultivariant(w http.ResponseWriter, r *http.Request, lv *live) {
	body, err := lv.multivariant()
	if err != nil {
		s.log.Warn("rendering the multivariant playlist", "err", err)
		w.Header().Set("Retry-After", "1")
		fail(w, http.StatusServiceUnavailable, "the stream is not ready")
		return
	}
	writePlaylist(w, r, body, cacheShort)
}
