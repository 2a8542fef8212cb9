package hls

import (
	"errors"

	"github.com/livehouse/livehouse/internal/media/cues"
	"github.com/livehouse/livehouse/internal/media/llhls"
)

// Timed metadata: a live stream's cues (stream actions, for instance) are written into the
// fMP4 output as emsg boxes by the channel's cue timeline (internal/media/cues, shared with the
// recorder), and into the media playlists as EXT-X-DATERANGE for native players. The rungs'
// fragments ask the same timeline, on the same media times.

// ErrNotLive is returned when metadata is put on a channel that is not live here.
var ErrNotLive = errors.New("the channel is not live")

// Metadata is one cue. Payload is a JSON value; a nil Payload clears the active cue.
type Metadata = cues.Cue

// Envelope is what each emsg and DATERANGE carries.
type Envelope = cues.Envelope

const (
	videoClock    = 90000
	muxerStartDTS = llhls.StartDTS  // the packager starts fMP4 timestamps there
	dateRangeKeep = 60 * videoClock // DATERANGEs older than this leave the playlist
)

// timeline is one live stream's cues: a window of dateRangeKeep, and the cue in force.
type timeline = cues.Timeline

func newTimeline() *timeline { return &cues.Timeline{Keep: dateRangeKeep} }
