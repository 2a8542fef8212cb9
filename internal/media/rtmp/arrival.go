package rtmp

import (
	"time"

	"github.com/bluenviron/gortmplib/pkg/message"
)

// arrivals notes when each media message arrived while gortmplib's reader looks for the
// stream's tracks. The reader reads two seconds of media ahead before it hands any message
// over, then replays them all at once; the packager dates segments by arrival, so a replayed
// message must carry the time it came in, not the time it was replayed. Otherwise a stream's
// first two seconds look captured in one instant, and its segment dates jump back (each jump a
// discontinuity for the players that joined first) as the encoder's real pace shows.
type arrivals struct {
	noting       bool
	video, audio []arrival // in the order read
}

type arrival struct {
	dts time.Duration
	at  time.Time
}

// note records msg's arrival while noting.
func (a *arrivals) note(msg message.Message, at time.Time) {
	if !a.noting {
		return
	}
	switch m := msg.(type) {
	case *message.Video:
		a.video = append(a.video, arrival{m.DTS, at})
	case *message.VideoExCodedFrames:
		a.video = append(a.video, arrival{m.DTS, at})
	case *message.VideoExFramesX:
		a.video = append(a.video, arrival{m.DTS, at})
	case *message.Audio:
		a.audio = append(a.audio, arrival{m.DTS, at})
	case *message.AudioExCodedFrames:
		a.audio = append(a.audio, arrival{m.DTS, at})
	}
}

// videoAt and audioAt are when the message of decoding time dts arrived: as noted, for one
// the reader read ahead, else now. The reader replays in order, so the notes are consumed from
// the front and every replayed message finds its own.
func (a *arrivals) videoAt(dts time.Duration) time.Time { return take(&a.video, dts) }
func (a *arrivals) audioAt(dts time.Duration) time.Time { return take(&a.audio, dts) }

func take(notes *[]arrival, dts time.Duration) time.Time {
	q := *notes
	for len(q) > 0 && q[0].dts < dts {
		q = q[1:]
	}
	if len(q) == 0 || q[0].dts != dts {
		*notes = q
		return time.Now()
	}
	at := q[0].at
	*notes = q[1:]
	if len(*notes) == 0 {
		*notes = nil // let the read-ahead's notes go
	}
	return at
}
