package record

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/livehouse/livehouse/internal/media/llhls"
)

// The ladder's rungs of a STANDARD channel are recorded beside the source: the transcoder
// hands each rung's access units (on the source's timeline, keyframes on the source's) to a
// Rung as it hands them to the live output, and the Rung packages them with a muxer of its
// own into the same queue of segments to store, under a folder named after the rung (720p/,
// 480p/ …). The rungs carry video only: every variant of the VOD plays the source's audio
// group (EXT-X-MEDIA), so a player that switches rungs keeps its sound.
//
// A Rung never waits: it is written from the transcoder's goroutine that reads ffmpeg, and a
// full store queue drops the rung's segment, counted like the source's. The writer adds a
// rung to meta.json before it stores the rung's first segment, so the multivariant playlist
// lists every rung with a segment stored, at the session's end and after a crash alike (a
// rung in meta.json with no segment yet is left out). When the session ends, the recorder
// closes every rung (what they still hold is stored).

// Rung records one rung of a session's ladder.
type Rung struct {
	s    *session
	name string

	mu     sync.Mutex
	mux    *llhls.Muxer // made on the first keyframe, which carries the parameter sets
	track  string       // the muxer's video track
	last   int64        // the newest segment handed on
	meta   TrackMeta
	closed bool
}

// Rung returns the recorder of a rung of the channel's session being recorded here, or nil
// when the session is not being recorded.
func (r *Recorder) Rung(channelID, name string) *Rung {
	if name == "" || name != safeName(name) {
		return nil
	}
	r.mu.Lock()
	s := r.live[channelID]
	r.mu.Unlock()
	if s == nil {
		return nil
	}
	s.rungMu.Lock()
	defer s.rungMu.Unlock()
	if s.rungsClosed || len(s.rungs) >= maxRungs {
		return nil
	}
	for _, g := range s.rungs {
		if g.name == name {
			return nil
		}
	}
	g := &Rung{s: s, name: name, last: -1}
	s.rungs = append(s.rungs, g)
	return g
}

// maxRungs bounds the rungs of one recording (the ladder has four at most).
const maxRungs = 8

// safeName keeps what a rung's folder name may hold (letters and digits).
func safeName(name string) string {
	out := make([]byte, 0, len(name))
	for i := 0; i < len(name) && i < 16; i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			out = append(out, c)
		}
	}
	return string(out)
}

// WriteVideo records an H.264 access unit of the rung; pts is in 90 kHz ticks on the source's
// timeline. It never waits.
func (g *Rung) WriteVideo(pts int64, au [][]byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	if g.mux == nil && !g.start(au) {
		return
	}
	_ = g.mux.WriteH264(pts, time.Time{}, au)
	for _, j := range g.completed() {
		select {
		case g.s.jobs <- j:
		default:
			j.seg.Release()
			g.s.r.dropped.Inc()
			atomic.AddInt64(&g.s.droppedTotal, 1)
		}
	}
}

// start makes the muxer on the first keyframe's parameter sets.
func (g *Rung) start(au [][]byte) bool {
	var sps, pps []byte
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			sps = n
		case h264.NALUTypePPS:
			pps = n
		}
	}
	if sps == nil || pps == nil {
		return false
	}
	cfg := g.s.r.cfg
	mux, err := llhls.New(llhls.Config{SegmentMinDuration: cfg.SegmentDuration, PartTarget: cfg.SegmentDuration, SegmentCount: 1, Uncounted: true,
		Metadata: g.s.cues.Announcements}, llhls.Tracks{SPS: sps, PPS: pps})
	if err != nil {
		return false
	}
	g.mux, g.track = mux, mux.Tracks()[0]
	g.meta = TrackMeta{Name: g.name, Kind: "video", Codec: mux.Codec(g.track), Rung: true}
	var p h264.SPS
	if p.Unmarshal(sps) == nil {
		g.meta.Width, g.meta.Height, g.meta.FPS = p.Width(), p.Height(), p.FPS()
	}
	g.s.mu.Lock()
	g.s.inits[g.name] = map[int]bool{}
	g.s.mu.Unlock()
	return true
}

// completed returns the rung's segments completed since the last call, as jobs for the
// writer. g.mu is held.
func (g *Rung) completed() []job {
	s := g.s
	var jobs []job
	for _, seg := range g.mux.SegmentsAfter(g.track, g.last) {
		g.last = int64(seg.MSN)
		j := job{track: g.name, key: s.rec.Prefix + g.name + "/" + segmentName(seg.MSN, seg.Start, seg.Duration, seg.Scale, seg.Init, seg.Disc),
			seg: seg, size: seg.Size(), initN: seg.Init, rung: &g.meta}
		s.mu.Lock()
		if !s.inits[g.name][seg.Init] {
			j.init = g.mux.InitSection(g.track, seg.Init)
		}
		s.mu.Unlock()
		jobs = append(jobs, j)
	}
	return jobs
}

// closeRungs ends the session's rungs: no more writes, what their muxers hold handed to the
// writer (waiting for room a while, the publisher being gone). Called once, by the
// finishing, before the writer's queue closes.
func (s *session) closeRungs() {
	s.rungMu.Lock()
	s.rungsClosed = true
	rungs := s.rungs
	s.rungMu.Unlock()
	for _, g := range rungs {
		g.mu.Lock()
		g.closed = true
		var jobs []job
		if g.mux != nil {
			g.mux.Close()
			jobs = g.completed()
			g.mux.Free() // the jobs hold their own bytes
		}
		g.mu.Unlock()
		// Outside the rung's lock: the transcoder's reader, still writing, never waits on
		// the store.
		for _, j := range jobs {
			t := time.NewTimer(s.r.cfg.PutTimeout)
			select {
			case s.jobs <- j:
			case <-t.C:
				j.seg.Release()
				s.r.dropped.Inc()
				atomic.AddInt64(&s.droppedTotal, 1)
			}
			t.Stop()
		}
	}
}

// describe adds a rung to meta.json, before its first segment is stored, so that the
// playlists list it also when a crash ends the recording. Called by the writer only, which
// owns s.meta until the finishing reads it.
func (s *session) describe(ctx context.Context, rung TrackMeta) error {
	m := s.meta
	m.Tracks = append(append([]TrackMeta(nil), m.Tracks...), rung)
	if err := putMeta(ctx, s.r.media, s.rec.Prefix, m); err != nil {
		return err
	}
	s.meta = m
	return nil
}
