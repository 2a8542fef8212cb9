package llhls

import "time"

// clock estimates the wall-clock time at which a stream's media times were captured, for
// EXT-X-PROGRAM-DATE-TIME.
//
// Each unit carries the time it arrived. Arrival = capture + delay, and the delay is never
// below the network's and encoder's least, so the smallest arrival-minus-media-time seen
// recently is the best estimate of the mapping. An encoder that connects with a backlog, or
// catches up after a stall, sends media faster than real time: those units arrived late,
// their offsets are larger, and the minimum ignores them. The minimum is taken over a
// window (clockWindow of media time) so that a drift between the encoder's clock and ours is
// followed.
type clock struct {
	points []clockPoint // a monotonic deque: offsets increase from front to back
}

type clockPoint struct {
	pts    int64 // 90 kHz
	offset time.Duration
	wall   time.Time
}

const clockWindow = 30 * 90000

func (c *clock) observe(pts int64, ntp time.Time) {
	if ntp.IsZero() {
		return
	}
	p := clockPoint{pts: pts, wall: ntp, offset: ntp.Sub(time.Unix(0, 0)) - time.Duration(pts)*time.Second/90000}
	for len(c.points) > 0 && c.points[len(c.points)-1].offset >= p.offset {
		c.points = c.points[:len(c.points)-1]
	}
	c.points = append(c.points, p)
	for len(c.points) > 1 && c.points[0].pts < pts-clockWindow {
		c.points = c.points[1:]
	}
}

// at is the estimated capture time of media time pts (90 kHz); ok is false before any unit.
func (c *clock) at(pts int64) (time.Time, bool) {
	if len(c.points) == 0 {
		return time.Time{}, false
	}
	off := c.points[0].offset
	return time.Unix(0, 0).Add(off + time.Duration(pts)*time.Second/90000), true
}
