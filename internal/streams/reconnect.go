package streams

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/livehouse/livehouse/internal/media/stream"
)

// Reconnects. An encoder that drops and comes back on the same key within the grace period
// (Deps.ReconnectGrace; IVS keeps a session a few seconds for this) continues the SAME
// session: same session id, health measurement, events and outputs, and viewers keep their
// playlists. The session owns one stream (its fan-out, which every output reads); each encoder
// connection writes a stream of its own, and a reconnected encoder's units are forwarded into
// the session's stream by the session's goroutine, their times moved to go on from where the
// last encoder stopped (plus the time it was away), starting at its first keyframe. The
// packager so sees one continuous stream, with a new SPS in band when the encoder came back at
// another resolution (a "Resolution Change" event, with a "Stream Reconnected" one for the
// reconnect itself).

// Events of reconnects and encoder changes.
const (
	EventStreamReconnected = "Stream Reconnected"
	EventResolutionChange  = "Resolution Change"
)

// Encoder is one encoder connection's hold on a live session. The first encoder's Begin
// opens the session; a reconnecting encoder's Begin within the grace period continues it.
type Encoder struct {
	*Live
	st      *stream.Stream // what this encoder writes: the session's own stream for the first
	kick    func()
	endOnce sync.Once
}

// encoderEvent tells the session's goroutine that an encoder came or went.
type encoderEvent struct {
	enc    *Encoder
	fwd    *stream.Reader // a reconnected encoder's units, to forward
	gone   bool
	reason string
}

// End says this encoder has gone (its connection ended). Without a grace period, or when
// the session is ending anyway, the session ends with reason and End returns once it has;
// with one, the session waits that long for the encoder to come back and End returns at once.
func (e *Encoder) End(reason string) {
	e.endOnce.Do(func() {
		l := e.Live
		if l.svc.grace <= 0 {
			l.requestEnd(ending{reason: reason})
			<-l.done
			return
		}
		select {
		case l.encoders <- encoderEvent{enc: e, gone: true, reason: reason}:
		case <-l.done:
		}
		if e.st != l.Stream {
			e.st.Close() // the session forwards what is queued, then forgets it
		}
	})
}

// kickEncoder disconnects the session's current encoder, if any.
func (l *Live) kickEncoder() {
	l.svc.mu.Lock()
	e := l.enc
	l.svc.mu.Unlock()
	if e != nil && e.kick != nil {
		e.kick()
	}
}

// compatible reports whether a reconnecting encoder's tracks can continue a session's: the
// same kinds of track, and for AAC the same configuration (the packager's audio track is
// fixed); video may change its parameter sets (resolution, profile).
func compatible(was, now stream.Tracks) bool {
	if (was.H264 == nil) != (now.H264 == nil) || (was.AAC == nil) != (now.AAC == nil) || (was.Opus == nil) != (now.Opus == nil) {
		return false
	}
	if was.AAC != nil && (was.AAC.Type != now.AAC.Type || was.AAC.SampleRate != now.AAC.SampleRate || was.AAC.ChannelConfig != now.AAC.ChannelConfig) {
		return false
	}
	if was.Opus != nil && was.Opus.ChannelCount != now.Opus.ChannelCount {
		return false
	}
	return true
}

// forwarder moves a reconnected encoder's units into the session's stream, on the session's
// timeline.
type forwarder struct {
	r       *stream.Reader
	stream  *stream.Stream // the encoder's, which r reads
	base    time.Duration  // the session time of its first keyframe
	first   time.Duration  // that keyframe's time on the encoder's own timeline
	started bool
}

func (f *forwarder) unit(u *stream.Unit, to *stream.Stream) {
	if !f.started {
		if u.Kind != stream.Video || !u.Key {
			return // a stream resumes at a keyframe
		}
		f.started, f.first = true, u.PTS
	}
	v := *u
	v.PTS = u.PTS - f.first + f.base
	if v.PTS < 0 {
		return
	}
	to.Write(&v)
}

// spsOf returns the SPS a keyframe carries in band, or nil.
func spsOf(au [][]byte) []byte {
	for _, n := range au {
		if len(n) > 0 && n[0]&0x1f == 7 {
			return n
		}
	}
	return nil
}

// resolutionChange is the detail of a Resolution Change event.
func resolutionChange(fromW, fromH, toW, toH int) string {
	b, _ := json.Marshal(struct {
		From string `json:"from"`
		To   string `json:"to"`
	}{fmt.Sprintf("%dx%d", fromW, fromH), fmt.Sprintf("%dx%d", toW, toH)})
	return string(b)
}

// watchSPS notes the SPS of a keyframe the session's goroutine reads; a new picture size is
// a Resolution Change, checked against the channel type's limits (a breach ends the session,
// with its reason).
func (b *bookkeeping) watchSPS(u *stream.Unit) (reason string, over bool) {
	if u.Kind != stream.Video || !u.Key {
		return "", false
	}
	sps := spsOf(u.Payload)
	if sps == nil || bytes.Equal(sps, b.sps) {
		return "", false
	}
	l, s := b.l, b.l.svc
	fromW, fromH := resolution(b.sps)
	b.sps = sps
	w, h := resolution(sps)
	if w == 0 || (w == fromW && h == fromH) {
		return "", false
	}
	l.rec.do(func() {
		s.event(l, EventResolutionChange, "IVS Stream Health Change", resolutionChange(fromW, fromH, w, h))
	})
	s.log.Info("stream resolution changed", "session", l.SessionID, "from", fmt.Sprintf("%dx%d", fromW, fromH), "to", fmt.Sprintf("%dx%d", w, h))
	l.limits = LimitsFor(l.Channel.Type, w, h)
	if br, over := resolutionBreach(l.limits, w, h); over {
		l.rec.do(func() { s.event(l, EventLimitBreach, "IVS Limit Breach", br.detail()) })
		return br.reason(), true
	}
	return "", false
}
