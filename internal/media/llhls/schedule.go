package llhls

import (
	"sync"
	"time"
)

// Schedule is one channel's media-sequence timeline, shared by its renditions. The source
// rendition (the leader) records where each of its segments begins; the ladder's renditions
// (followers) cut their segments on the same keyframes and take the same media sequence
// numbers and program-date-times, so a player switching renditions finds the same segment
// under the same number, and EXT-X-RENDITION-REPORT means the same thing in every playlist.
type Schedule struct {
	mu     sync.Mutex
	starts []Start // newest last, at most scheduleKeep
}

// Start is where a segment of the leader begins.
type Start struct {
	MSN uint64
	PTS int64 // presentation time of its first keyframe, 90 kHz ticks from the stream's start
	PDT time.Time
	// Disc: a discontinuity begins the segment (a new SPS, missing media). Every rendition,
	// and the audio of each, marks it at the same number, so their discontinuity sequences
	// agree: hls.js matches audio to video fragments by it.
	Disc bool
}

const scheduleKeep = 128

func (s *Schedule) add(st Start) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts = append(s.starts, st)
	if len(s.starts) > scheduleKeep {
		s.starts = append(s.starts[:0], s.starts[len(s.starts)-scheduleKeep/2:]...)
	}
}

// Lookup returns the segment of the leader that begins at pts.
func (s *Schedule) Lookup(pts int64) (Start, bool) {
	if s == nil {
		return Start{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.starts) - 1; i >= 0; i-- {
		switch st := s.starts[i]; {
		case st.PTS == pts:
			return st, true
		case st.PTS < pts:
			return Start{}, false
		}
	}
	return Start{}, false
}

// at returns the start of segment msn.
func (s *Schedule) at(msn uint64) (Start, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.starts) - 1; i >= 0; i-- {
		if s.starts[i].MSN == msn {
			return s.starts[i], true
		}
	}
	return Start{}, false
}
