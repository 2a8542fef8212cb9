package streams

import (
	"context"
	"time"
)

// sampler is one live session's measurement state: the session's goroutine counts every unit
// in it, and every second (Health's ticker) it measures a Point; every few seconds it writes
// the current minute of points, so that the health page of a live session is at most a few
// seconds behind on any node.
type sampler struct {
	h         *Health
	sessionID string
	channelID string
	m         *meter
	write     func(func()) // runs a store write; nil: at once

	start   time.Time // the session's first second
	last    time.Time // when the last point was measured
	seconds int64     // points measured so far (the next point's second from start)

	minute int64   // the minute buf holds
	buf    []Point // its points
	dirty  int     // points not yet written
}

func (h *Health) newSampler(sessionID, channelID string) *sampler {
	now := h.now()
	return &sampler{h: h, sessionID: sessionID, channelID: channelID, m: newMeter(),
		start: now.UTC().Truncate(time.Second), last: now, minute: -1}
}

// tick measures the second that just ended at now (the ticker's time); its point is stamped with that second's start.
// Points are one second apart from the session's start; a tick the ticker dropped (a stalled
// process) leaves its second out rather than doubling another.
func (s *sampler) tick(now time.Time) {
	k := max(s.seconds, int64(now.Sub(s.start)/time.Second)-1)
	s.seconds = k + 1
	p := s.m.sample(s.start.Add(time.Duration(k)*time.Second), now.Sub(s.last))
	s.last = now
	if s.h.viewers != nil {
		p.Views = s.h.viewers.Viewers(s.channelID)
	}
	s.add(p)
}

func (s *sampler) add(p Point) {
	if m := floorDiv(p.At.Unix(), 60); m != s.minute {
		s.flush()
		s.minute, s.buf = m, s.buf[:0]
	}
	s.buf = append(s.buf, p)
	s.dirty++
	if s.dirty >= s.h.flushEvery {
		s.flush()
	}
}

// flush writes the current minute, whole, over what was written of it before: through write
// when it is set (the session's recorder, apart from the session's goroutine), else now.
func (s *sampler) flush() {
	if s.dirty == 0 || len(s.buf) == 0 {
		return
	}
	minute, points := s.minute, EncodeMinute(s.buf)
	s.dirty = 0
	put := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.h.store.PutStreamMetrics(ctx, s.sessionID, minute, points); err != nil {
			s.h.log.Error("writing stream metrics", "session", s.sessionID, "err", err)
		}
	}
	if s.write != nil {
		s.write(put)
		return
	}
	put()
}
