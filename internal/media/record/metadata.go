package record

import "github.com/livehouse/livehouse/internal/media/cues"

// Timed metadata (stream actions) in recordings: the live output's cue timeline
// (internal/media/cues), keeping every cue of the recording, so that the player replays each
// action at the media time it was shown live, also after a seek: a fragment that starts with a
// keyframe announces again the action in force.

// Cue is one stream action as the live output got it; a nil Payload clears the active one.
type Cue = cues.Cue
