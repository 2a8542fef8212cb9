package record

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/livehouse/livehouse/internal/media/llhls"
)

// Timed metadata (stream actions) in recordings: the same emsg v1 boxes carrying an ID3
// TXXX frame with the same JSON envelope as the live output writes (internal/media/hls), so
// that the player replays each action at the media time it was shown live, also after a
// seek: a fragment that starts with a keyframe announces again the action in force.

// Cue is one stream action as the live output got it; a nil Payload clears the active one.
type Cue struct {
	ID       string
	Payload  json.RawMessage
	Duration time.Duration // 0: until cleared or replaced
}

// envelope is the JSON each emsg carries (the live output's Envelope).
type envelope struct {
	ID      string          `json:"id"`
	At      time.Time       `json:"at"`
	Elapsed int64           `json:"elapsedMs"`
	Event   json.RawMessage `json:"event"`
}

type stampedCue struct {
	Cue
	seq uint32
	pts int64 // on the fMP4 timeline (llhls.StartDTS added), 90 kHz
	at  time.Time
}

func (c *stampedCue) end() (int64, bool) {
	if c.Payload == nil || c.Duration <= 0 {
		return 0, false
	}
	return c.pts + c.Duration.Nanoseconds()*llhls.VideoClock/int64(time.Second), true
}

// timeline is one recording's cues. put comes from the actions' goroutines; stamp and
// announcements from the recorder's.
type timeline struct {
	mu      sync.Mutex
	pending []Cue
	cues    []*stampedCue // in order; a recording keeps them all (5 per second at most)
	seq     uint32
	maxPTS  int64
}

// maxCues bounds a recording's cues: 5 a second for 8 hours.
const maxCues = 5 * 3600 * 8

func (t *timeline) put(c Cue) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pending) < 64 {
		t.pending = append(t.pending, c)
	}
}

// stamp gives pending cues the media time of the video frame about to be written (never
// below one written already).
func (t *timeline) stamp(pts int64, ntp time.Time) {
	pts += llhls.StartDTS
	t.mu.Lock()
	defer t.mu.Unlock()
	t.maxPTS = max(t.maxPTS, pts)
	for _, c := range t.pending {
		if len(t.cues) >= maxCues {
			break
		}
		t.seq++
		t.cues = append(t.cues, &stampedCue{Cue: c, seq: t.seq, pts: t.maxPTS, at: ntp})
	}
	t.pending = t.pending[:0]
}

// announcements are the emsg boxes for a video fragment over [d0, d1): the cues that begin
// in it and, when it starts with a keyframe, the cue in force at its start.
func (t *timeline) announcements(d0, d1 int64, sync bool) [][]byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out [][]byte
	var inForce *stampedCue
	superseded := false
	for _, c := range t.cues {
		switch {
		case c.pts < d0:
			inForce = c
		case c.pts < d1:
			out = append(out, emsgFor(c, c.pts, c.seq<<8))
			superseded = superseded || c.pts == d0
		}
	}
	if sync && !superseded && inForce != nil && inForce.Payload != nil {
		if end, timed := inForce.end(); !timed || d0 < end {
			out = append([][]byte{emsgFor(inForce, d0, inForce.seq<<8|uint32(d0/llhls.VideoClock)&0xff)}, out...)
		}
	}
	return out
}

func emsgFor(c *stampedCue, at int64, id uint32) []byte {
	env := envelope{ID: c.ID, At: c.at, Elapsed: (at - c.pts) * 1000 / llhls.VideoClock, Event: c.Payload}
	if env.Event == nil {
		env.Event = json.RawMessage("null")
	}
	data, _ := json.Marshal(env)
	duration := uint32(0xFFFFFFFF) // until the next cue
	if end, timed := c.end(); timed {
		duration = uint32(end - at)
	} else if c.Payload == nil {
		duration = llhls.VideoClock
	}
	return llhls.EmsgID3(uint64(at), duration, id, "livehouse", data)
}
