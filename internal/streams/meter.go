package streams

import (
	"slices"
	"time"

	"github.com/livehouse/livehouse/internal/media/stream"
)

// reorderDepth is how many video frames the meter holds back to put B-frames, which arrive
// ahead of the frames they come after, back in presentation order. x264 uses at most 16
// B-frames; its presets use 3.
const reorderDepth = 8

// meter measures a stream's health from its units: bitrates, frame rate and keyframe
// interval. Rates are taken over the media time the units span, not over wall-clock time, so
// network jitter (units arriving in bursts) and backlogs after a stall do not distort them;
// a second in which nothing arrives measures zero. It is not safe for concurrent use.
type meter struct {
	video, audio track

	lastKey     time.Duration
	haveKey     bool
	keyInterval time.Duration
}

// track accumulates one kind of unit between samples.
type track struct {
	depth   int
	pending []pending // held back for reordering, sorted by PTS
	onKey   func(pts time.Duration)
	arrived int // units added since the last sample

	// Since the last sample, in presentation order:
	n        int
	bytes    int
	first    time.Duration // PTS of the first unit
	last     time.Duration // PTS of the last unit
	minDelta time.Duration // smallest positive step between units

	sampled  bool          // a sample has counted units before
	prevLast time.Duration // PTS of the last unit counted by the previous sample
	step     time.Duration // the units' usual spacing, as last measured
}

type pending struct {
	pts  time.Duration
	size int
	key  bool
}

func newMeter() *meter {
	m := &meter{video: track{depth: reorderDepth}}
	m.video.onKey = m.settleKey
	return m
}

// add counts a unit as it arrives.
func (m *meter) add(u *stream.Unit) {
	size := 0
	for _, p := range u.Payload {
		size += len(p)
	}
	m.addSized(u, size)
}

// addSized counts a unit whose payload is size bytes.
func (m *meter) addSized(u *stream.Unit, size int) {
	switch u.Kind {
	case stream.Video:
		m.video.add(pending{pts: u.PTS, size: size, key: u.Key})
	case stream.Audio:
		m.audio.add(pending{pts: u.PTS, size: size})
	}
}

// settleKey sees each keyframe in presentation order.
func (m *meter) settleKey(pts time.Duration) {
	if m.haveKey && pts > m.lastKey {
		m.keyInterval = pts - m.lastKey
	}
	m.lastKey, m.haveKey = pts, true
}

func (t *track) add(p pending) {
	t.arrived++
	i, _ := slices.BinarySearchFunc(t.pending, p.pts, func(q pending, pts time.Duration) int { return cmpDuration(q.pts, pts) })
	// Equal timestamps keep their arrival order.
	for i < len(t.pending) && t.pending[i].pts == p.pts {
		i++
	}
	t.pending = slices.Insert(t.pending, i, p)
	t.settle(t.depth)
}

// settle counts pending units, in presentation order, until at most keep are left.
func (t *track) settle(keep int) {
	for len(t.pending) > keep {
		q := t.pending[0]
		t.pending = slices.Delete(t.pending, 0, 1)
		t.count(q)
		if q.key && t.onKey != nil {
			t.onKey(q.pts)
		}
	}
}

func cmpDuration(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// count takes a unit, in presentation order, into the current sample.
func (t *track) count(p pending) {
	if t.n == 0 {
		t.first, t.minDelta = p.pts, 0
	} else if d := p.pts - t.last; d > 0 && (t.minDelta == 0 || d < t.minDelta) {
		t.minDelta = d
	}
	t.n++
	t.bytes += p.size
	t.last = p.pts
}

// take returns the units per second and bits per second since the last sample, and starts
// the next. The rates are over the media time the units span: from the last unit of the
// previous sample (or, after a gap in the timestamps, one step before the first unit) to the
// last unit. When nothing arrived since the last sample, the units held back for reordering
// are counted now. wall is the time since the last sample, used when the media time is unusable
// (a single unit, or timestamps that went backwards).
func (t *track) take(wall time.Duration) (rate, bitrate float64) {
	if t.arrived == 0 {
		t.settle(0) // the stream stalled: nothing more will come to reorder
	}
	defer func() { t.n, t.bytes, t.arrived = 0, 0, 0 }()
	if t.n == 0 {
		return 0, 0
	}
	if t.minDelta > 0 {
		t.step = t.minDelta
	}
	base := t.first - t.step
	if t.sampled && t.prevLast > base && t.prevLast < t.first {
		base = t.prevLast // continuous with the previous sample
	}
	span := t.last - base
	if t.step == 0 || span <= 0 {
		span = wall
	}
	t.sampled, t.prevLast = true, t.last
	secs := span.Seconds()
	return float64(t.n) / secs, float64(t.bytes*8) / secs
}

// sample returns the measurements since the last sample, for the second at at.
func (m *meter) sample(at time.Time, wall time.Duration) Point {
	fps, vbits := m.video.take(wall)
	_, abits := m.audio.take(wall)
	return Point{
		At:               at.UTC().Truncate(time.Second),
		VideoBitrate:     int(vbits + 0.5),
		AudioBitrate:     int(abits + 0.5),
		Framerate:        fps,
		KeyframeInterval: m.keyInterval.Seconds(),
	}
}
