package llhls

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"
)

// track is one media playlist of a muxer and the segments and parts it lists.
type track struct {
	m          *Muxer
	name       string // video1, audio2, … (the playlist is name_stream.m3u8)
	scale      int64  // timescale
	partTarget int64  // in the timescale
	segMin     int64
	hole       int64 // a jump in decode time of a segment's length or more is missing media
	frame      int64 // AAC: samples per access unit; 0 otherwise
	codec      string

	sps, pps []byte
	inits    map[int][]byte // init sections still referenced, by index
	initN    int            // the current init section's index

	segs     []*segment // complete, oldest first, at most SegmentCount
	cur      *segment   // being built; nil before the first keyframe
	samples  []*sample  // of the part being built
	partDur  int64
	partN    uint64 // number of the part being built (its file name)
	pending  *sample
	lastDur  int64
	lastKey  int64  // decode time of the last keyframe
	waitKey  bool   // a follower that must wait for the leader's next segment start
	discSeq  uint64 // EXT-X-DISCONTINUITY-SEQUENCE: discontinuities before the first segment listed
	target   int64  // EXT-X-TARGETDURATION, seconds; never lowered
	partWait chan struct{}
	st       *store // the parts' bytes

	dirty   bool
	body    []byte
	changed chan struct{}
	edge    atomic.Pointer[edgeState]
}

type edgeState struct{ msn, part int64 }

// segment is a parent segment: its parts, in order, make its bytes.
type segment struct {
	msn   uint64
	start int64 // decode time of its first sample
	dur   int64
	pdt   time.Time
	parts []*part
	init  int
	disc  bool // EXT-X-DISCONTINUITY before it
	gap   bool // EXT-X-GAP: the rendition has no media for it
	size  int
}

type part struct {
	n     uint64
	data  [][]byte // its bytes, in order: pieces of the slabs in slabs
	slabs []*slab
	size  int
	// Room for the pieces and slabs of a part of up to three slabs, without an allocation.
	pieceBuf [3][]byte
	slabBuf  [3]*slab
	dur      int64
	indep    bool
}

func (t *track) setInit(c codecs.Codec) error {
	b, err := marshalInit(t.scale, c)
	if err != nil {
		return err
	}
	if t.inits[t.initN] != nil {
		t.initN++
	}
	t.inits[t.initN] = b
	if h, ok := c.(*codecs.H264); ok && len(h.SPS) >= 4 {
		t.codec = "avc1." + hex2(h.SPS[1]) + hex2(h.SPS[2]) + hex2(h.SPS[3])
	}
	return nil
}

func hex2(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}

// write takes the next sample in decode order: the previous one, whose duration is now
// known, goes into the part being built, and s may begin a segment.
func (t *track) write(s *sample, newInit bool) {
	hole := false
	if p := t.pending; p != nil {
		d := s.dts - p.dts
		switch {
		case d >= t.hole:
			hole = true // media is missing: give the last sample a usual length
			d = t.lastDur
		case d <= 0:
			d = t.lastDur
		}
		if p.nominal > 0 && hole {
			d = p.nominal
		}
		// A part never exceeds PART-TARGET: a sample longer than that (a stall shorter than
		// a hole) is shortened, which leaves a gap in the decode timeline players skip.
		d = min(max(d, 1), t.partTarget)
		p.dur, t.lastDur = d, d
		t.pending = nil
		t.add(p)
	}
	if hole && t.m.cfg.Follow {
		t.waitKey = true // resume on the leader's next segment start
	}
	started := t.cut(s, newInit, hole)
	if started {
		t.waitKey = false // the audio of a follower resumes with the segment its video began
	}
	if t.cur == nil || t.waitKey && !started {
		return // before the first segment, or under parameters no segment has yet: dropped
	}
	t.pending = s
}

// add puts a sample into the part being built, closing the part first if it would overrun
// PART-TARGET, and after it if the next one of the same length would.
func (t *track) add(s *sample) {
	if t.cur == nil {
		return
	}
	if len(t.samples) > 0 && t.partDur+s.dur > t.partTarget {
		t.flushPart()
	}
	t.samples = append(t.samples, s)
	t.partDur += s.dur
	if t.partDur+s.dur > t.partTarget {
		t.flushPart()
	}
}

// cut decides whether s begins a segment, and begins it; false: it does not.
func (t *track) cut(s *sample, newInit, hole bool) bool {
	m := t.m
	var st Start
	switch {
	case m.cfg.Follow && t == m.video:
		if !s.key {
			return false
		}
		var ok bool
		if st, ok = m.sched.Lookup(s.pts); !ok || t.cur != nil && st.MSN <= t.cur.msn {
			if newInit {
				t.waitKey = true // its frames cannot go under the old init section
			}
			return false
		}
		t.waitKey = false
		st.Disc = st.Disc || newInit // its own new parameters: its audio marks it too
		m.starts = appendStart(m.starts, st)
	case m.leads(t):
		if !s.key {
			return false
		}
		gop := s.dts - t.lastKey
		t.lastKey = s.dts
		if t.cur != nil && !newInit && !hole && s.dts-t.cur.start < t.segMin && !t.overruns(s.dts-t.cur.start+gop) {
			return false
		}
		st = Start{MSN: 0, PTS: s.pts * VideoClock / t.scale}
		if t.cur != nil {
			st.MSN = t.cur.msn + 1
		}
		st.Disc = t.cur != nil && (newInit || hole)
		var moved bool
		st.PDT, moved = t.pdtFor(st.PTS, st.Disc)
		st.Disc = st.Disc || moved
		m.sched.add(st)
		m.starts = appendStart(m.starts, st)
	default: // audio follows the video track of its muxer
		at := s.dts * VideoClock / t.scale
		found := false
		for _, c := range m.starts {
			if c.PTS <= at && (t.cur == nil || c.MSN > t.cur.msn) {
				st, found = c, true
			}
		}
		if !found {
			return false
		}
		st.PDT = st.PDT.Add(time.Duration(at-st.PTS) * time.Second / VideoClock)
	}
	t.flushPart()
	disc := newInit || st.Disc
	if t.cur != nil {
		t.finishSegment()
		// Segments this rendition has no media for keep the channel's numbering.
		for msn := t.cur.msn + 1; msn < st.MSN; msn++ {
			t.addGap(msn, st)
		}
	}
	t.cur = &segment{msn: st.MSN, start: s.dts, pdt: st.PDT, init: t.initN, disc: disc}
	t.dirty = true
	return true
}

// overruns reports whether a segment of d would round above the target duration. A
// segment cut short (by a new SPS) would otherwise run on to the keyframe after next.
func (t *track) overruns(d int64) bool {
	return t.target > 0 && 2*d >= (2*t.target+1)*t.scale
}

func appendStart(starts []Start, st Start) []Start {
	starts = append(starts, st)
	if len(starts) > 8 {
		starts = append(starts[:0], starts[len(starts)-4:]...)
	}
	return starts
}

// pdtFor is the program-date-time of a leader's segment beginning at media time pts (90
// kHz), and whether it begins a new mapping of media time to dates (the segment must then
// follow a discontinuity).
//
// Within a discontinuity the dates follow the media: a segment's date is the previous one's
// plus the media time between them, so that the dates and the EXTINF durations of a playlist
// agree. Players rely on that: hls.js aligns a reloaded playlist, or another rendition's, by
// the dates of two different segments, and a date that disagreed with the durations (the
// clock's estimate improving by a second between two segments, as it does while an encoder's
// connection backlog drains) moved its whole timeline by that second, and a viewer started a
// keyframe early.
//
// The clock's estimate is taken at the first segment, after each discontinuity, and when it
// has moved more than pdtSlack away from the dates' mapping (a backlog has drained, or the
// encoder's clock has drifted from ours): then the segment begins a new mapping, after a
// discontinuity, so the dates stay the capture times without a player seeing them disagree
// with the durations. A new date is never before half the previous segment's length after it.
func (t *track) pdtFor(pts int64, disc bool) (time.Time, bool) {
	at, ok := t.m.clock.at(pts)
	if !ok {
		at = time.Now()
	}
	c := t.cur
	if c == nil {
		return at, false
	}
	moved := false
	if n := len(t.m.starts); n > 0 && !disc {
		prev := t.m.starts[n-1]
		follow := prev.PDT.Add(time.Duration(pts-prev.PTS) * time.Second / VideoClock)
		if d := at.Sub(follow); d >= -pdtSlack && d <= pdtSlack {
			return follow, false
		}
		moved = true
	}
	floor := c.pdt.Add(time.Duration(max(c.durSoFar(t)/2, 1)) * time.Second / time.Duration(t.scale))
	if at.Before(floor) {
		at = floor
	}
	return at, moved
}

// pdtSlack is how far the clock's estimate may move from the dates' mapping before a segment
// begins a new one.
const pdtSlack = 250 * time.Millisecond

func (c *segment) durSoFar(t *track) int64 {
	d := c.dur
	for _, p := range c.parts {
		d += p.dur
	}
	return d + t.partDur
}

// addGap lists a segment the rendition has no media for, with the leader's duration.
func (t *track) addGap(msn uint64, next Start) {
	st, ok := t.m.sched.at(msn)
	end, okEnd := t.m.sched.at(msn + 1)
	if !okEnd {
		end = next
	}
	dur := int64(0)
	if ok {
		dur = (end.PTS - st.PTS) * t.scale / VideoClock
	}
	if dur <= 0 {
		dur = t.segMin
	}
	g := &segment{msn: msn, dur: dur, pdt: st.PDT, gap: true, init: t.initN, disc: st.Disc}
	if !ok {
		g.pdt = t.cur.pdt.Add(time.Duration(t.cur.dur) * time.Second / time.Duration(t.scale))
	}
	t.pushSegment(g)
}

// flushPart closes the part being built.
func (t *track) flushPart() {
	if len(t.samples) == 0 || t.cur == nil {
		return
	}
	base := uint64(t.samples[0].dts + StartDTS*t.scale/VideoClock)
	var pre [][]byte
	if t == t.m.video && t.m.cfg.Metadata != nil {
		pre = t.m.cfg.Metadata(int64(base), int64(base)+t.partDur, t.samples[0].key)
	}
	countPart(t.samples[len(t.samples)-1].arrived, t.m.arriving, t.m.cfg.PartTarget)
	l := layoutPart(t.samples, pre)
	p := &part{n: t.partN, dur: t.partDur, indep: t.samples[0].key, size: l.size()}
	p.data, p.slabs = t.st.alloc(p.size, t.cur.msn, p.pieceBuf[:0], p.slabBuf[:0])
	writePart(&span{pieces: p.data}, &l, uint32(t.partN), 1, base, t.samples, pre)
	t.cur.parts = append(t.cur.parts, p)
	t.cur.size += p.size
	t.partN++
	clear(t.samples)
	t.samples, t.partDur = t.samples[:0], 0
	close(t.partWait)
	t.partWait = make(chan struct{})
	t.dirty = true
}

// finishSegment completes the segment in progress.
func (t *track) finishSegment() {
	c := t.cur
	if c == nil || len(c.parts) == 0 {
		return
	}
	for _, p := range c.parts {
		c.dur += p.dur
	}
	t.pushSegment(c)
}

func (t *track) pushSegment(c *segment) {
	t.segs = append(t.segs, c)
	if secs := int64(math.Round(float64(c.dur) / float64(t.scale))); secs > t.target {
		t.target = secs
	}
	for len(t.segs) > t.m.cfg.SegmentCount {
		if t.segs[0].disc {
			t.discSeq++
		}
		t.st.drop(t.segs[0].msn, t.segs[0].size)
		t.segs[0] = nil
		t.segs = t.segs[1:]
	}
	// Forget init sections no listed segment uses.
	for k := range t.inits {
		if k != t.initN && k < t.segs[0].init {
			delete(t.inits, k)
		}
	}
	t.dirty = true
}

// finish completes the track at the end of the stream.
func (t *track) finish() {
	if p := t.pending; p != nil && t.cur != nil {
		p.dur = t.lastDur
		if p.nominal > 0 {
			p.dur = p.nominal
		}
		p.dur = min(max(p.dur, 1), t.partTarget)
		t.pending = nil
		t.add(p)
	}
	t.flushPart()
	if t.cur != nil && len(t.cur.parts) > 0 {
		t.finishSegment()
		t.cur = nil
	}
	t.dirty = true
}

func (t *track) findPart(n uint64) *part {
	if t.cur != nil {
		for _, p := range t.cur.parts {
			if p.n == n {
				return p
			}
		}
	}
	for i := len(t.segs) - 1; i >= 0; i-- {
		ps := t.segs[i].parts
		if len(ps) > 0 && ps[0].n <= n && n <= ps[len(ps)-1].n {
			return ps[n-ps[0].n]
		}
	}
	return nil
}

func (t *track) findSegment(msn uint64) *segment {
	for _, s := range t.segs {
		if s.msn == msn && !s.gap {
			return s
		}
	}
	return nil
}

func (t *track) info() Info {
	in := Info{Codec: t.codec}
	if t.sps != nil {
		var s h264.SPS
		if s.Unmarshal(t.sps) == nil {
			in.Width, in.Height, in.FPS = s.Width(), s.Height(), s.FPS()
		}
	}
	var bytes, dur int64
	for _, s := range t.segs {
		if s.gap || s.dur <= 0 {
			continue
		}
		bytes += int64(s.size)
		dur += s.dur
		in.Peak = max(in.Peak, int(int64(s.size)*8*t.scale/s.dur))
	}
	if dur > 0 {
		in.Average = int(bytes * 8 * t.scale / dur)
	}
	return in
}
