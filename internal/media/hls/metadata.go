package hls

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livehouse/livehouse/internal/media/llhls"
)

// Timed metadata: a live stream's cues (stream actions, for instance) are written into the
// fMP4 output as emsg v1 boxes carrying an ID3v2.4 TXXX frame — the AOM convention that hls.js
// turns into cues on a "metadata" text track, fired when the playhead reaches them — and into
// the media playlists as EXT-X-DATERANGE for native players.
//
// The packager asks the timeline for the boxes of each video fragment as it makes it
// (llhls.Config.Metadata), so parts and segments are written once, with their cues: a cue
// is stamped with the media time of the next video frame, before the frame is handed to the
// muxer, so it always falls in a fragment not yet made. Every part that starts with a
// keyframe announces the active cue again, so a player that joins late sees it too. The
// rungs' fragments ask the same timeline, on the same media times.

// ErrNotLive is returned when metadata is put on a channel that is not live here.
var ErrNotLive = errors.New("the channel is not live")

// Metadata is one cue. Payload is a JSON value; a nil Payload clears the active cue.
type Metadata struct {
	ID       string
	Payload  json.RawMessage
	Duration time.Duration // how long it stays active; 0: until cleared or replaced
}

// Envelope is what each emsg and DATERANGE carries: the cue, when it began, and how far into
// it this announcement is (0 at the start; more when announced again to late joiners).
type Envelope struct {
	ID      string          `json:"id"`
	At      time.Time       `json:"at"`
	Elapsed int64           `json:"elapsedMs"`
	Event   json.RawMessage `json:"event"` // null when the cue is cleared
}

const (
	videoClock    = 90000
	muxerStartDTS = llhls.StartDTS  // the packager starts fMP4 timestamps there
	dateRangeKeep = 60 * videoClock // DATERANGEs older than this leave the playlist
)

// cue is a Metadata stamped onto the stream's timeline.
type cue struct {
	Metadata
	seq uint32
	pts int64 // on the fMP4 timeline, in 90 kHz ticks
	at  time.Time
}

func (c *cue) end() (int64, bool) {
	if c.Payload == nil || c.Duration <= 0 {
		return 0, false
	}
	return c.pts + ticks(c.Duration, videoClock), true
}

// timeline holds one live stream's cues.
type timeline struct {
	maxPTS int64       // latest video PTS handed to the muxer, fMP4 timeline; the writer's own
	busy   atomic.Bool // cues are pending or more than one is kept: stamp has work under mu

	mu      sync.Mutex
	pending []Metadata
	cues    []*cue
	seq     uint32
}

func (t *timeline) put(m Metadata) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending = append(t.pending, m)
	t.busy.Store(true)
}

// stamp gives pending cues the media time of the video frame about to be written. With
// B-frames a frame's PTS may be below one already written; the cue then takes the latest, so
// that it never falls into a part that may already have been served. It is called for every
// video frame, from the goroutine that writes them; most frames have nothing to stamp and take
// no lock.
func (t *timeline) stamp(pts int64, ntp time.Time) {
	pts += muxerStartDTS
	if pts > t.maxPTS {
		t.maxPTS = pts
	}
	if !t.busy.Load() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range t.pending {
		t.seq++
		t.cues = append(t.cues, &cue{Metadata: m, seq: t.seq, pts: t.maxPTS, at: ntp})
	}
	t.pending = nil
	// Forget what no playlist or part can refer to any more, but keep the cue in force.
	for len(t.cues) > 1 && t.cues[1].pts < t.maxPTS-dateRangeKeep {
		t.cues = t.cues[1:]
	}
	t.busy.Store(len(t.cues) > 1)
}

// announcements are the emsg boxes for a fragment whose video covers [d0, d1): the cues that
// begin in it, and, when it starts with a keyframe, the cue in force at its start.
func (t *timeline) announcements(d0, d1 int64, sync bool) [][]byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out [][]byte
	var inForce *cue
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
			announce := emsgFor(inForce, d0, inForce.seq<<8|uint32(d0/videoClock)&0xff)
			out = append([][]byte{announce}, out...)
		}
	}
	return out
}

// dateRanges renders the EXT-X-DATERANGE tags of the cues still worth listing. A cue that a
// later one cleared or replaced before its time was up ends there (END-DATE).
func (t *timeline) dateRanges() string {
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

func emsgFor(c *cue, at int64, id uint32) []byte {
	env := Envelope{ID: c.ID, At: c.at, Elapsed: (at - c.pts) * 1000 / videoClock, Event: c.Payload}
	if env.Event == nil {
		env.Event = json.RawMessage("null")
	}
	data, _ := json.Marshal(env)
	duration := uint32(0xFFFFFFFF) // until the next cue
	if end, timed := c.end(); timed {
		duration = uint32(end - at)
	} else if c.Payload == nil {
		duration = videoClock
	}
	return llhls.EmsgID3(uint64(at), duration, id, "livehouse", data)
}
