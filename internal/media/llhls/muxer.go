// Package llhls is a Low-Latency HLS packager: H.264 and AAC or Opus units in, fMP4 init
// sections, parts and segments and their media playlists out, per RFC 8216bis.
//
// Each track is its own rendition (video1_stream.m3u8, audio2_stream.m3u8): parts are cut
// at most PART-TARGET long, segments on keyframes once SegmentMinDuration has passed, and a
// new SPS/PPS starts a segment after EXT-X-DISCONTINUITY with a new EXT-X-MAP. Every part
// is stored once, at its exact size, with its timed metadata (emsg) already in it; a
// segment is the concatenation of its parts. Playlists are rendered once per change and the
// bytes shared by every reader.
//
// The renditions of one channel share a Schedule: the source leads, cutting segments where
// its keyframes fall, and the ladder's renditions follow, taking the same media sequence
// numbers (with EXT-X-GAP for segments they lack) so that their playlists can report each
// other (EXT-X-RENDITION-REPORT).
package llhls

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"
)

// Config shapes a muxer.
type Config struct {
	SegmentMinDuration time.Duration // a keyframe at least this far into a segment begins the next
	PartTarget         time.Duration // EXT-X-PART-INF PART-TARGET: no part is longer
	SegmentCount       int           // complete segments listed (≥ 7 for LL-HLS players)

	// Schedule is the channel's media-sequence timeline. The leader records its segments in
	// it; with Follow, the muxer cuts only where the leader did. nil: a timeline of its own.
	Schedule *Schedule
	Follow   bool

	// Metadata returns the boxes (emsg) to put in front of a video fragment whose samples
	// decode over [d0, d1) (90 kHz, on the fMP4 timeline); sync: it starts with a keyframe.
	Metadata func(d0, d1 int64, sync bool) [][]byte
	// Reports returns the EXT-X-RENDITION-REPORTs of a media playlist of this muxer. It is
	// called while the playlist renders, so it must not call into this muxer.
	Reports func(playlist string) []Report
}

// Report is one sibling rendition's live edge, for EXT-X-RENDITION-REPORT.
type Report struct {
	URI       string
	MSN, Part int64
}

// Tracks are the muxer's inputs: H.264 video (SPS and PPS), and AAC or Opus audio.
type Tracks struct {
	SPS, PPS     []byte // nil: no video
	AAC          *mpeg4audio.AudioSpecificConfig
	OpusChannels int // 0: no Opus
}

// StartDTS is added to every decode time in the fMP4 output, so that tfdt is never
// negative (B-frames put the first decode time before the first presentation time).
const StartDTS = 10 * 90000

// VideoClock is the timescale of video and of every time this package takes or gives.
const VideoClock = 90000

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("llhls: muxer closed")

// Muxer packages one rendition. Writes must be serialised; the reading methods may be
// called from any goroutine.
type Muxer struct {
	cfg    Config
	prefix string
	sched  *Schedule

	mu     sync.Mutex
	video  *track
	audio  *track
	tracks []*track
	clock  clock
	dtsx   *h264.DTSExtractor
	starts []Start // the video track's newest segment starts, for the audio track to follow
	closed bool
	// arriving: when the unit being written arrived (zero: unknown, or closing), for PartStats.
	arriving time.Time
}

// New returns a muxer for the given tracks.
func New(cfg Config, t Tracks) (*Muxer, error) {
	if cfg.PartTarget <= 0 || cfg.SegmentMinDuration < cfg.PartTarget || cfg.SegmentCount < 1 {
		return nil, fmt.Errorf("llhls: bad config (part %v, segment %v, count %d)", cfg.PartTarget, cfg.SegmentMinDuration, cfg.SegmentCount)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	m := &Muxer{cfg: cfg, prefix: hex.EncodeToString(rnd[:]), sched: cfg.Schedule}
	if m.sched == nil {
		m.sched = &Schedule{}
	}
	n := 1
	if t.SPS != nil {
		m.video = m.newTrack("video"+strconv.Itoa(n), VideoClock)
		if err := m.video.setInit(&codecs.H264{SPS: t.SPS, PPS: t.PPS}); err != nil {
			return nil, err
		}
		m.video.sps, m.video.pps = t.SPS, t.PPS
		n++
	}
	switch {
	case t.AAC != nil:
		m.audio = m.newTrack("audio"+strconv.Itoa(n), int64(t.AAC.SampleRate))
		m.audio.frame = mpeg4audio.SamplesPerAccessUnit
		if err := m.audio.setInit(&codecs.MPEG4Audio{Config: *t.AAC}); err != nil {
			return nil, err
		}
		m.audio.codec = "mp4a.40." + strconv.Itoa(int(t.AAC.Type))
	case t.OpusChannels > 0:
		m.audio = m.newTrack("audio"+strconv.Itoa(n), 48000)
		if err := m.audio.setInit(&codecs.Opus{ChannelCount: t.OpusChannels}); err != nil {
			return nil, err
		}
		m.audio.codec = "opus"
	}
	if m.video != nil {
		m.tracks = append(m.tracks, m.video)
	}
	if m.audio != nil {
		m.tracks = append(m.tracks, m.audio)
	}
	if len(m.tracks) == 0 {
		return nil, errors.New("llhls: no tracks")
	}
	stores := make([]*store, len(m.tracks))
	for i, t := range m.tracks {
		stores[i] = t.st
	}
	// The part bytes are outside the Go heap: when the muxer is gone, so are they (unless
	// Free came first), except what readers still hold.
	runtime.AddCleanup(m, freeStores, stores)
	return m, nil
}

func (m *Muxer) newTrack(name string, scale int64) *track {
	return &track{
		m: m, name: name, scale: scale,
		partTarget: int64(m.cfg.PartTarget) * scale / int64(time.Second),
		segMin:     int64(m.cfg.SegmentMinDuration) * scale / int64(time.Second),
		hole:       int64(m.cfg.SegmentMinDuration) * scale / int64(time.Second),
		inits:      map[int][]byte{},
		target:     max(int64(math.Round(m.cfg.SegmentMinDuration.Seconds())), 1),
		partWait:   make(chan struct{}),
		changed:    make(chan struct{}),
		st:         &store{},
	}
}

// leads reports whether a track decides where segments begin.
func (m *Muxer) leads(t *track) bool {
	return !m.cfg.Follow && (t == m.video || m.video == nil)
}

// WriteH264 packages an access unit; pts is in 90 kHz ticks from the stream's start and ntp
// the wall-clock time it arrived. An IDR carrying SPS and PPS that differ from the current
// ones begins a new segment after a discontinuity, with a new init section.
func (m *Muxer) WriteH264(pts int64, ntp time.Time, au [][]byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	t := m.video
	if t == nil {
		return nil
	}
	var sps, pps []byte
	vcl := make([][]byte, 0, len(au))
	idr := false
	for _, nalu := range au {
		if len(nalu) == 0 {
			continue
		}
		switch typ := h264.NALUType(nalu[0] & 0x1f); typ {
		case h264.NALUTypeSPS:
			sps = nalu
		case h264.NALUTypePPS:
			pps = nalu
		case h264.NALUTypeAccessUnitDelimiter, h264.NALUTypeSEI:
			if typ == h264.NALUTypeSEI {
				vcl = append(vcl, nalu)
			}
		default:
			if typ == h264.NALUTypeIDR {
				idr = true
			}
			vcl = append(vcl, nalu)
		}
	}
	if !idr && !hasVCL(vcl) {
		return nil // parameter sets or SEI alone
	}
	newInit := false
	if idr && sps != nil && pps != nil && (!bytes.Equal(sps, t.sps) || !bytes.Equal(pps, t.pps)) {
		var s h264.SPS
		if err := s.Unmarshal(sps); err != nil {
			return fmt.Errorf("llhls: bad SPS: %w", err)
		}
		t.sps, t.pps = append([]byte(nil), sps...), append([]byte(nil), pps...)
		if err := t.setInit(&codecs.H264{SPS: t.sps, PPS: t.pps}); err != nil {
			return err
		}
		newInit = t.cur != nil || t.pending != nil
		m.dtsx = nil // a new sequence: decode order restarts
	}
	if m.dtsx == nil {
		if !idr {
			return nil // wait for a keyframe
		}
		m.dtsx = &h264.DTSExtractor{}
		m.dtsx.Initialize()
	}
	full := vcl
	if idr {
		full = append([][]byte{t.sps, t.pps}, vcl...) // the current parameter sets, new or not
	}
	dts, err := extractDTS(m.dtsx, full, pts)
	if err != nil {
		m.dtsx = nil
		return fmt.Errorf("llhls: decode time: %w", err)
	}
	if !m.cfg.Follow {
		m.clock.observe(pts, ntp)
	}
	m.arriving = ntp
	t.write(&sample{dts: dts, pts: pts, key: idr, nalus: vcl, arrived: ntp}, newInit)
	m.publish()
	return nil
}

func hasVCL(nalus [][]byte) bool {
	for _, n := range nalus {
		if typ := h264.NALUType(n[0] & 0x1f); typ >= h264.NALUTypeNonIDR && typ <= h264.NALUTypeIDR {
			return true
		}
	}
	return false
}

// WriteAAC packages AAC access units, the first at pts (90 kHz), each 1024 samples long.
func (m *Muxer) WriteAAC(pts int64, ntp time.Time, aus ...[]byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	t := m.audio
	if t == nil || t.frame == 0 {
		return nil
	}
	ts := pts * t.scale / VideoClock
	for _, au := range aus {
		m.writeAudio(t, ts, ntp, au, t.frame)
		ts += t.frame
	}
	m.publish()
	return nil
}

// WriteOpus packages an Opus packet at pts (90 kHz).
func (m *Muxer) WriteOpus(pts int64, ntp time.Time, packet []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	t := m.audio
	if t == nil || t.frame != 0 || len(packet) == 0 {
		return nil
	}
	m.writeAudio(t, pts*48000/VideoClock, ntp, packet, opus.PacketDuration2(packet))
	m.publish()
	return nil
}

// writeAudio smooths the timestamps of audio frames of known length: RTMP's milliseconds
// and network jitter would otherwise make every sample's duration different.
func (m *Muxer) writeAudio(t *track, ts int64, ntp time.Time, data []byte, frame int64) {
	if p := t.pending; p != nil && p.nominal > 0 {
		if want := p.dts + p.nominal; ts-want < p.nominal && want-ts < p.nominal {
			ts = want
		}
	}
	if m.video == nil && !m.cfg.Follow {
		m.clock.observe(ts*VideoClock/t.scale, ntp)
	}
	m.arriving = ntp
	t.write(&sample{dts: ts, pts: ts, key: true, data: data, nominal: frame, arrived: ntp}, false)
}

// publish renders what changed and wakes those waiting for it.
func (m *Muxer) publish() {
	for _, t := range m.tracks {
		if t.dirty {
			t.render()
		}
	}
}

// Close ends the muxer: the segment in progress is completed, and the playlists end with
// EXT-X-ENDLIST.
func (m *Muxer) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.closed = true
	m.arriving = time.Time{} // the last parts wait for the end, not for the packager
	for _, t := range m.tracks {
		t.finish()
	}
	m.publish()
	for _, t := range m.tracks {
		close(t.partWait)
	}
}

// Free closes the muxer if it is open and gives back the memory of its media now, rather than
// when the muxer is collected: what readers hold stays theirs until they release it, and
// nothing more is served (Open and Media find nothing; Playlist answers as before).
func (m *Muxer) Free() {
	m.Close()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.tracks {
		t.segs, t.cur = nil, nil
		t.st.free()
	}
}

// Playlists are the names of the muxer's media playlists.
func (m *Muxer) Playlists() []string {
	out := make([]string, len(m.tracks))
	for i, t := range m.tracks {
		out[i] = t.name + "_stream.m3u8"
	}
	return out
}

func (m *Muxer) trackOf(playlist string) *track {
	for _, t := range m.tracks {
		if playlist == t.name+"_stream.m3u8" {
			return t
		}
	}
	return nil
}

// Playlist returns a media playlist as last rendered (nil before its first segment is
// complete), a channel closed at its next change, and whether it is final (EXT-X-ENDLIST).
func (m *Muxer) Playlist(name string) (body []byte, changed <-chan struct{}, final, ok bool) {
	t := m.trackOf(name)
	if t == nil {
		return nil, nil, false, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return t.body, t.changed, m.closed, true
}

// Edge is a media playlist's live edge, for sibling renditions' reports: the sequence number
// of its last segment, complete or not, and the index of that segment's last part.
func (m *Muxer) Edge(playlist string) (msn, part int64, ok bool) {
	t := m.trackOf(playlist)
	if t == nil {
		return 0, 0, false
	}
	e := t.edge.Load()
	if e == nil {
		return 0, 0, false
	}
	return e.msn, e.part, true
}

// Media returns the bytes of an init section, segment or part by its file name, as the
// pieces to write in order. A request for the part the playlist hints at waits for it, up to
// wait or until ctx ends.
//
// The bytes are a copy on the Go heap, the caller's to keep: serving should use Open, which
// hands out the packager's own bytes without copying.
func (m *Muxer) Media(ctx context.Context, name string, wait time.Duration) ([][]byte, bool) {
	b, ok := m.Open(ctx, name, wait)
	if !ok {
		return nil, false
	}
	defer b.Release()
	n := 0
	for _, p := range b.Pieces {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range b.Pieces {
		out = append(out, p...)
	}
	return [][]byte{out}, true
}

// Bytes are an init section's, segment's or part's bytes held for a reader: Pieces, to be
// written in order, stay as they are until Release (and must not be used after it), even if
// the media leaves the window meanwhile.
type Bytes struct {
	Pieces [][]byte
	h      *holding
}

// holding is the slabs a Bytes references. It is apart from the Bytes so that a cleanup can
// release them should the caller drop the Bytes without Release: a forgotten Release costs
// memory until the next collection, not for ever.
type holding struct {
	mu    sync.Mutex // the cleanup runs on a goroutine of its own
	slabs []*slab
}

func (h *holding) add(s *slab) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := len(h.slabs); n > 0 && h.slabs[n-1] == s {
		return // a part goes on in the slab the previous one ended in
	}
	s.retain()
	h.slabs = append(h.slabs, s)
}

func (h *holding) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.slabs {
		s.release()
	}
	h.slabs = nil
}

// Release gives the bytes back; the second and later calls do nothing.
func (b *Bytes) Release() {
	if b.h != nil {
		b.h.release()
	}
	b.Pieces = nil
}

// hold references the slabs of parts for a reader.
func (b *Bytes) hold(parts ...*part) {
	if b.h == nil {
		b.h = &holding{}
		runtime.AddCleanup(b, (*holding).release, b.h)
	}
	for _, p := range parts {
		b.Pieces = append(b.Pieces, p.data...)
		for _, s := range p.slabs {
			b.h.add(s)
		}
	}
}

// Open returns the bytes of an init section, segment or part by its file name, held until
// the caller releases them. A request for the part the playlist hints at waits for it, up to
// wait or until ctx ends.
func (m *Muxer) Open(ctx context.Context, name string, wait time.Duration) (*Bytes, bool) {
	rest, ok := strings.CutPrefix(name, m.prefix+"_")
	if !ok {
		return nil, false
	}
	trackName, file, ok := strings.Cut(rest, "_")
	if !ok {
		return nil, false
	}
	file, ok = strings.CutSuffix(file, ".mp4")
	if !ok {
		return nil, false
	}
	var t *track
	for _, c := range m.tracks {
		if c.name == trackName {
			t = c
		}
	}
	if t == nil {
		return nil, false
	}
	kind := strings.TrimRight(file, "0123456789")
	num, err := strconv.ParseUint(file[len(kind):], 10, 63)
	if err != nil {
		return nil, false
	}
	var timer *time.Timer
	for {
		m.mu.Lock()
		var out *Bytes
		var next <-chan struct{}
		switch kind {
		case "init":
			if b := t.inits[int(num)]; b != nil {
				out = &Bytes{Pieces: [][]byte{b}} // on the heap: nothing to hold
			}
		case "seg":
			if s := t.findSegment(num); s != nil {
				out = &Bytes{}
				out.hold(s.parts...)
			}
		case "part":
			if p := t.findPart(num); p != nil {
				out = &Bytes{}
				out.hold(p)
			} else if num == t.partN && !m.closed {
				next = t.partWait
			}
		}
		m.mu.Unlock()
		if out != nil || next == nil {
			return out, out != nil
		}
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		}
		select {
		case <-next:
		case <-timer.C:
			return nil, false
		case <-ctx.Done():
			return nil, false
		}
	}
}

// Info describes a track for the multivariant playlist.
type Info struct {
	Codec         string // RFC 6381, e.g. avc1.64001f, mp4a.40.2, opus
	Width, Height int
	FPS           float64
	Peak, Average int // bits per second over the complete segments listed; 0 before one
}

// Info describes the video (or, without video, the audio) track and the audio track.
func (m *Muxer) Info() (video, audio Info) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.video != nil {
		video = m.video.info()
	}
	if m.audio != nil {
		audio = m.audio.info()
	}
	return video, audio
}

// Ready reports whether every playlist of the muxer lists a complete segment.
func (m *Muxer) Ready() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.tracks {
		if t.body == nil {
			return false
		}
	}
	return true
}

// extractDTS derives a frame's decode time. mediacommon's extractor parses slice headers of
// media from the network; a malformed one must fail the frame, not the process.
func extractDTS(x *h264.DTSExtractor, au [][]byte, pts int64) (dts int64, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("malformed access unit: %v", v)
		}
	}()
	return x.Extract(au, pts)
}

// Resync makes a follower's tracks wait for the leader's next segment start, as after its
// input restarted (a transcoder's): the segments it misses meanwhile are listed as gaps.
func (m *Muxer) Resync() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.cfg.Follow {
		return
	}
	for _, t := range m.tracks {
		t.waitKey = true
	}
}
