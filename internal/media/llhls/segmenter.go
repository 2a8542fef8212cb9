package llhls

import "time"

// What a recorder takes from a muxer: its complete segments, as they complete, and their
// init sections. The recorder follows the live muxers, taking what they completed far more
// often than their window (SegmentCount) turns over, and stores each segment once.

// Segment is a complete segment of one track.
type Segment struct {
	Track    string // the track's name: video1, audio2, …
	MSN      uint64
	Start    int64 // decode time of its first sample on the fMP4 timeline (tfdt), in Timescale
	Duration int64 // in Timescale
	Scale    int64 // the track's timescale
	PDT      time.Time
	Init     int      // index of its init section (InitSection)
	Disc     bool     // a discontinuity comes before it (new parameters or missing media)
	Parts    [][]byte // its bytes, in order: pieces of the muxer's slabs, held until Release
	held     *Bytes
}

// Release gives the segment's bytes back to the muxer; Parts must not be used after it.
// Later calls do nothing.
func (s Segment) Release() {
	if s.held != nil {
		s.held.Release()
	}
}

// Size is the segment's length in bytes.
func (s Segment) Size() int {
	n := 0
	for _, p := range s.Parts {
		n += len(p)
	}
	return n
}

// Tracks returns the names of the muxer's tracks, video first.
func (m *Muxer) Tracks() []string {
	out := make([]string, len(m.tracks))
	for i, t := range m.tracks {
		out[i] = t.name
	}
	return out
}

// SegmentsAfter returns the track's complete segments with a sequence number above after (-1:
// all), oldest first, as far as the muxer's window still holds them. Segments for which the
// track had no media (gaps) are left out. The bytes are the muxer's own, not copies: each
// segment holds its slabs (as Open does) until the caller releases it, so that handing a
// recorder's segment to its store costs no copy and no garbage (a forgotten Release costs
// memory until the next collection).
func (m *Muxer) SegmentsAfter(track string, after int64) []Segment {
	t := m.trackByName(track)
	if t == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Segment
	for _, s := range t.segs {
		if int64(s.msn) <= after || s.gap || len(s.parts) == 0 {
			continue
		}
		held := &Bytes{}
		held.hold(s.parts...)
		out = append(out, Segment{Track: t.name, MSN: s.msn, Start: s.start + StartDTS*t.scale/VideoClock, Duration: s.dur, Scale: t.scale,
			PDT: s.pdt, Init: s.init, Disc: s.disc, Parts: held.Pieces, held: held})
	}
	return out
}

// Oldest is the sequence number of the oldest segment the track's window holds, gaps
// included (ok false: none yet): a reader whose newest segment taken is older than the one
// before it has missed segments.
func (m *Muxer) Oldest(track string) (msn uint64, ok bool) {
	t := m.trackByName(track)
	if t == nil {
		return 0, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(t.segs) == 0 {
		return 0, false
	}
	return t.segs[0].msn, true
}

// InitSection returns the track's init section of index n while a segment in the window uses
// it (or it is the current one).
func (m *Muxer) InitSection(track string, n int) []byte {
	t := m.trackByName(track)
	if t == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return t.inits[n]
}

// Codec is the track's RFC 6381 codec string (avc1.64001f, mp4a.40.2, opus).
func (m *Muxer) Codec(track string) string {
	t := m.trackByName(track)
	if t == nil {
		return ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return t.codec
}

func (m *Muxer) trackByName(name string) *track {
	for _, t := range m.tracks {
		if t.name == name {
			return t
		}
	}
	return nil
}
