// Package cues is the timeline of a stream's timed metadata (stream actions), as the live
// output (internal/media/hls) writes it into its parts; the recorder stores those parts'
// segments, so a recording carries the same cues.
//
// Each cue is written into the fMP4 output as an emsg v1 box carrying an ID3v2.4 TXXX frame —
// the AOM convention that hls.js turns into cues on a "metadata" text track, fired when the
// playhead reaches them. A muxer asks the timeline for the boxes of each video fragment as it
// makes it (llhls.Config.Metadata): a cue is stamped with the media time of the next video
// frame before the frame is handed to the muxer, so it always falls in a fragment not yet made.
// Every fragment that starts with a keyframe announces the cue in force again, so a player
// that joins late, or seeks, sees it too.
package cues

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livehouse/livehouse/internal/media/llhls"
)

// Cue is one piece of timed metadata. Payload is a JSON value; a nil Payload clears the
// active cue.
type Cue struct {
	ID       string
	Payload  json.RawMessage
	Duration time.Duration // how long it stays active; 0: until cleared or replaced
}

// Envelope is what each emsg (and the live output's EXT-X-DATERANGE) carries: the cue, when it
// began, and how far into it this announcement is (0 at the start; more when announced again).
type Envelope struct {
	ID      string          `json:"id"`
	At      time.Time       `json:"at"`
	Elapsed int64           `json:"elapsedMs"`
	Event   json.RawMessage `json:"event"` // null when the cue is cleared
}

const clock = llhls.VideoClock // 90 kHz, the video track's timescale

// stamped is a Cue placed on the stream's timeline.
type stamped struct {
	Cue
	seq uint32
	pts int64 // on the fMP4 timeline (llhls.StartDTS added), 90 kHz
	at  time.Time
}

func (c *stamped) end() (int64, bool) {
	if c.Payload == nil || c.Duration <= 0 {
		return 0, false
	}
	return c.pts + c.Duration.Nanoseconds()*clock/int64(time.Second), true
}

// Timeline holds one stream's cues. Put may be called from any goroutine; Stamp comes from the
// goroutine that writes the video frames, Announcements from the muxer it feeds.
type Timeline struct {
	// Keep is how far back (90 kHz ticks) cues are kept besides the one in force: the live
	// window forgets what no playlist or part can refer to any more. Zero: DefaultKeep.
	Keep int64

	maxPTS int64       // latest video PTS stamped, fMP4 timeline; the writer's own
	busy   atomic.Bool // cues are pending or more than one is kept: Stamp has work under mu

	mu      sync.Mutex
	pending []Cue
	cues    []*stamped
	seq     uint32
}

// DefaultKeep is a minute of cues.
const DefaultKeep = 60 * clock

// maxPending bounds the cues waiting for the next video frame (a stream that sends no video
// for a while); more are dropped.
const maxPending = 64

// Put queues a cue for the next video frame.
func (t *Timeline) Put(c Cue) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pending) < maxPending {
		t.pending = append(t.pending, c)
	}
	t.busy.Store(true)
}

// Stamp gives pending cues the media time of the video frame about to be written (pts, on
// the source's timeline; ntp, its wall-clock time). With B-frames a frame's PTS may be below
// one already written; the cue then takes the latest, so that it never falls into a fragment
// that may already have been made. Most frames have nothing to stamp and take no lock.
func (t *Timeline) Stamp(pts int64, ntp time.Time) {
	pts += llhls.StartDTS
	if pts > t.maxPTS {
		t.maxPTS = pts
	}
	if !t.busy.Load() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.pending {
		t.seq++
		t.cues = append(t.cues, &stamped{Cue: c, seq: t.seq, pts: t.maxPTS, at: ntp})
	}
	t.pending = t.pending[:0]
	keep := t.Keep
	if keep <= 0 {
		keep = DefaultKeep
	}
	// Forget what is out of the window, but keep the cue in force.
	for len(t.cues) > 1 && t.cues[1].pts < t.maxPTS-keep {
		t.cues = t.cues[1:]
	}
	t.busy.Store(len(t.cues) > 1)
}

// Announcements are the emsg boxes for a fragment whose video covers [d0, d1) on the fMP4
// timeline: the cues that begin in it and, when it starts with a keyframe (sync), the cue in
// force at its start.
func (t *Timeline) Announcements(d0, d1 int64, sync bool) [][]byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out [][]byte
	var inForce *stamped
	superseded := false // a cue begins right at the fragment's start
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
			announce := emsgFor(inForce, d0, inForce.seq<<8|uint32(d0/clock)&0xff)
			out = append([][]byte{announce}, out...)
		}
	}
	return out
}

// DateRanges renders the EXT-X-DATERANGE tags of the cues kept, for native players of a live
// playlist. A cue that a later one cleared or replaced before its time was up ends there
// (END-DATE).
func (t *Timeline) DateRanges() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for i, c := range t.cues {
		if c.Payload == nil {
			continue
		}
		env, _ := json.Marshal(Envelope{ID: c.ID, At: c.at, Event: c.Payload})
		fmt.Fprintf(&b, "#EXT-X-DATERANGE:ID=%q,CLASS=\"net.livehouse.metadata\",START-DATE=%q", fmt.Sprintf("%s-%d", c.ID, c.seq), isoMillis(c.at))
		end, timed := c.end()
		switch {
		case i+1 < len(t.cues) && (!timed || t.cues[i+1].pts < end):
			fmt.Fprintf(&b, ",END-DATE=%q", isoMillis(t.cues[i+1].at))
		case timed:
			fmt.Fprintf(&b, ",DURATION=%.3f", c.Duration.Seconds())
		}
		fmt.Fprintf(&b, ",X-PAYLOAD=%q\n", base64.StdEncoding.EncodeToString(env))
	}
	return b.String()
}

func isoMillis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func emsgFor(c *stamped, at int64, id uint32) []byte {
	env := Envelope{ID: c.ID, At: c.at, Elapsed: (at - c.pts) * 1000 / clock, Event: c.Payload}
	if env.Event == nil {
		env.Event = json.RawMessage("null")
	}
	data, _ := json.Marshal(env)
	duration := uint32(0xFFFFFFFF) // until the next cue
	if end, timed := c.end(); timed {
		duration = uint32(end - at)
	} else if c.Payload == nil {
		duration = clock
	}
	return llhls.EmsgID3(uint64(at), duration, id, "livehouse", data)
}
