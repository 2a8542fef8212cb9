// Package stream is the in-process fan-out of one live stream: the publisher writes units,
// every reader (the live session's own goroutine, which also packages HLS; the transcoder's
// feed; later a recorder, …) gets them through its own bounded queue. A reader that falls
// behind loses units, counted, and never slows the publisher.
package stream

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// Kinds of unit.
const (
	Video = 1
	Audio = 2
)

// Unit is one access unit of one track.
type Unit struct {
	Kind int
	// PTS is the presentation time from the stream's start.
	PTS time.Duration
	// NTP is the wall-clock time the unit arrived, for program-date-time.
	NTP time.Time
	// Payload is the NAL units of an H.264 access unit, one AAC access unit, or one Opus
	// packet.
	Payload [][]byte
	// Key marks an H.264 IDR access unit (which carries SPS and PPS in front).
	Key bool
}

// Tracks describes what a stream carries.
type Tracks struct {
	H264 *H264 // nil without video
	AAC  *mpeg4audio.AudioSpecificConfig
	Opus *Opus // from WebRTC publishers; at most one of AAC and Opus is set
}

// Opus is an Opus audio track (48 kHz).
type Opus struct {
	ChannelCount int
}

// H264 is the video track's parameter sets.
type H264 struct {
	SPS, PPS []byte
}

// Stream fans units out to readers.
type Stream struct {
	Tracks Tracks

	mu      sync.RWMutex
	readers map[*Reader]struct{}
	closed  bool
}

// New returns a stream of the given tracks.
func New(t Tracks) *Stream { return &Stream{Tracks: t, readers: map[*Reader]struct{}{}} }

// Reader receives a stream's units in order, minus those dropped when its queue was full.
type Reader struct {
	Name    string
	C       <-chan *Unit
	c       chan *Unit
	dropped atomic.Uint64
}

// Dropped counts the units this reader lost because it was too slow.
func (r *Reader) Dropped() uint64 { return r.dropped.Load() }

// NewReader adds a reader with a queue of size units. Its channel closes when the stream
// closes or the reader is removed.
func (s *Stream) NewReader(name string, size int) *Reader {
	c := make(chan *Unit, size)
	r := &Reader{Name: name, C: c, c: c}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		close(c)
		return r
	}
	s.readers[r] = struct{}{}
	return r
}

// RemoveReader stops delivering to r and closes its channel.
func (s *Stream) RemoveReader(r *Reader) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.readers[r]; ok {
		delete(s.readers, r)
		close(r.c)
	}
}

// Write hands u to every reader without waiting: a full queue drops u for that reader.
// Units are shared between readers and must not be modified after Write.
func (s *Stream) Write(u *Unit) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for r := range s.readers {
		select {
		case r.c <- u:
		default:
			r.dropped.Add(1)
		}
	}
}

// Close ends the stream: every reader's channel closes after its queued units.
func (s *Stream) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for r := range s.readers {
		close(r.c)
		delete(s.readers, r)
	}
}
