package whip

import (
	"context"
	"errors"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/safe"
	"github.com/livehouse/livehouse/internal/streams"
)

// pliGap is the shortest time between two keyframe requests made on demand (at the start and
// after lost packets), on top of the periodic ones.
const pliGap = 500 * time.Millisecond

// session is one publisher's peer connection. Its stream session (streams.Live) begins with
// the first keyframe that carries SPS and PPS, since HLS needs them to start.
type session struct {
	id       string
	key      string
	srv      *Server
	pc       *webrtc.PeerConnection
	ch       *streams.Channel
	encoder  string
	hasAudio bool

	begun     chan struct{} // closed once live is set
	done      chan struct{} // closed by close
	closeOnce sync.Once
	kicked    atomic.Bool // the streams domain ends the session itself

	clocks senderClocks

	mu      sync.Mutex
	live    *streams.Encoder
	st      *stream.Stream
	t0      time.Time // arrival of the first keyframe: PTS zero
	t0Clock time.Time // the first keyframe on the sender's clock (zero if it sent no report)

	lastPLI atomic.Int64 // unix nanoseconds
}

// negotiate answers the offer and waits for the server's candidates, so the answer is
// complete (no trickle ICE needed).
func (ss *session) negotiate(ctx context.Context, offer string, hasAudio bool) (string, error) {
	pc := ss.pc
	recv := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, recv); err != nil {
		return "", err
	}
	if hasAudio {
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, recv); err != nil {
			return "", err
		}
	}
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		// Pion runs this in a goroutine of its own: a panic reading the publisher's packets
		// ends this session (its connection closes), not the process.
		defer func() {
			if v := recover(); v != nil {
				ss.srv.log.Error("recovered from a panic", "in", "whip track reader", "whip", ss.id, "panic", v, "stack", string(debug.Stack()))
				go ss.close("internal error")
			}
		}()
		safe.Go(ss.srv.log, "whip rtcp reader", func() { ss.clocks.readRTCP(r) }) // the interceptors read RTCP through here
		switch t.Kind() {
		case webrtc.RTPCodecTypeVideo:
			ss.readVideo(t)
		case webrtc.RTPCodecTypeAudio:
			ss.readAudio(t)
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		ss.srv.log.Debug("whip connection state", "whip", ss.id, "state", s.String())
		if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed {
			go ss.close("publisher disconnected")
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", problem.Invalid("InvalidOffer", "", "The SDP offer cannot be used: "+err.Error())
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", problem.Invalid("InvalidOffer", "", "The SDP offer cannot be answered: "+err.Error())
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", ctx.Err()
	case <-ss.done:
		return "", errClosed
	}
	return pc.LocalDescription().SDP, nil
}

// run ends a session whose media never starts.
func (ss *session) run() {
	t := time.NewTimer(ss.srv.cfg.StartTimeout)
	defer t.Stop()
	select {
	case <-ss.begun:
	case <-ss.done:
	case <-t.C:
		ss.close("no keyframe arrived")
	}
	<-ss.done
}

// close ends the session once: the stream session with reason (unless the streams domain is
// ending it), then the peer connection.
func (ss *session) close(reason string) {
	ss.closeOnce.Do(func() {
		close(ss.done)
		ss.mu.Lock()
		live := ss.live
		ss.mu.Unlock()
		if live != nil && !ss.kicked.Load() {
			live.End(reason)
		}
		if err := ss.pc.Close(); err != nil {
			ss.srv.log.Debug("closing peer connection", "err", err)
		}
		ss.srv.forget(ss)
		ss.srv.log.Info("whip session closed", "whip", ss.id, "channel", ss.ch.ID, "reason", reason)
	})
}

// kick is how the streams domain disconnects the publisher (key reset, limit breach,
// shutdown); it ends the stream session itself, with its own reason.
func (ss *session) kick() {
	ss.kicked.Store(true)
	go ss.close("ended by the server")
}

// begin opens the stream session at the first usable keyframe; onClock is its time on the
// sender's clock, if known.
func (ss *session) begin(sps, pps []byte, at, onClock time.Time) error {
	tracks := stream.Tracks{H264: &stream.H264{SPS: sps, PPS: pps}}
	switch {
	case ss.hasAudio && ss.srv.cfg.HLSAudio == AudioOpus:
		tracks.Opus = &stream.Opus{ChannelCount: 2}
	case ss.hasAudio:
		c := aacConfig
		tracks.AAC = &c
	}
	st := stream.New(tracks)
	live, err := ss.srv.ingest.Begin(context.Background(), ss.ch, st, ss.kick)
	if err != nil {
		return err
	}
	live.SetIngestConfig(&streams.IngestConfig{Encoder: encoderName(ss.encoder)})
	ss.mu.Lock()
	ss.live, ss.st, ss.t0, ss.t0Clock = live, st, at, onClock
	ss.mu.Unlock()
	close(ss.begun)
	ss.srv.log.Info("whip publishing", "session", live.SessionID, "channel", ss.ch.ID, "audio", ss.hasAudio, "sender_clock", !onClock.IsZero())
	return nil
}

// started reports whether the stream session has begun.
func (ss *session) started() bool {
	select {
	case <-ss.begun:
		return true
	default:
		return false
	}
}

// current returns the stream and its time zero once the session has begun.
func (ss *session) current() (*stream.Stream, time.Time) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.st, ss.t0
}

// requestKeyframe sends a PLI for ssrc unless one went out less than pliGap ago.
func (ss *session) requestKeyframe(ssrc webrtc.SSRC) {
	now := time.Now().UnixNano()
	last := ss.lastPLI.Load()
	if now-last < int64(pliGap) || !ss.lastPLI.CompareAndSwap(last, now) {
		return
	}
	_ = ss.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(ssrc)}})
}

func (ss *session) readVideo(t *webrtc.TrackRemote) {
	dec := &rtph264.Decoder{PacketizationMode: 1}
	if err := dec.Init(); err != nil {
		ss.close(err.Error())
		return
	}
	var sps, pps []byte
	var clock timeline
	var pending bool // the decoder holds part of an access unit
	var pendingTS uint32
	var waitUntil time.Time // for the first sender report, from the first usable keyframe
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			ss.srv.log.Debug("whip video read", "whip", ss.id, "err", err)
			ss.close("publisher disconnected")
			return
		}
		arrival := time.Now()
		au, err := dec.Decode(pkt)
		ts := pkt.Timestamp
		if pending && pendingTS != pkt.Timestamp {
			ts = pendingTS // the access unit was completed by a packet of the next one
		}
		switch {
		case errors.Is(err, rtph264.ErrMorePacketsNeeded):
			pending, pendingTS = true, pkt.Timestamp
			continue
		case err != nil:
			pending = false
			ss.requestKeyframe(t.SSRC()) // a lost packet broke the picture
			continue
		}
		pending = false

		hasParams := false
		for _, n := range au {
			switch h264.NALUType(n[0] & 0x1f) {
			case h264.NALUTypeSPS:
				sps, hasParams = n, true
			case h264.NALUTypePPS:
				pps = n
			}
		}
		key := h264.IsRandomAccess(au)
		st, t0 := ss.current()
		if st == nil {
			if !key || sps == nil || pps == nil {
				ss.requestKeyframe(t.SSRC())
				continue
			}
			// Start at a keyframe the sender's clock can place, so audio starts in sync.
			onClock, ok := ss.clocks.at(t.SSRC(), ts, 90000)
			if waitUntil.IsZero() {
				waitUntil = arrival.Add(syncWait)
			}
			if !ok && arrival.Before(waitUntil) {
				ss.requestKeyframe(t.SSRC())
				continue
			}
			if err := ss.begin(sps, pps, arrival, onClock); err != nil {
				ss.srv.log.Info("whip publish refused", "channel", ss.ch.ID, "err", err)
				ss.close(err.Error())
				return
			}
			st, t0 = ss.current()
		}
		if key && !hasParams {
			// Players need the parameter sets in band at every keyframe.
			au = append([][]byte{sps, pps}, au...)
		}
		st.Write(&stream.Unit{Kind: stream.Video, PTS: clock.pts(ts, arrival.Sub(t0), 90000), NTP: arrival, Payload: au, Key: key})
	}
}

func (ss *session) readAudio(t *webrtc.TrackRemote) {
	var clock timeline
	var tc *transcoder
	defer func() {
		if tc != nil {
			tc.close()
		}
	}()
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			ss.srv.log.Debug("whip audio read", "whip", ss.id, "err", err)
			ss.close("publisher disconnected")
			return
		}
		st, t0 := ss.current()
		if st == nil || len(pkt.Payload) == 0 {
			continue // audio before the first keyframe has nothing to go with
		}
		arrival := time.Now()
		since := arrival.Sub(t0)
		if !clock.started {
			// Place the first packet by the sender's clock when both tracks have one.
			ss.mu.Lock()
			videoClock := ss.t0Clock
			ss.mu.Unlock()
			onClock, ok := ss.clocks.at(t.SSRC(), pkt.Timestamp, 48000)
			switch {
			case !videoClock.IsZero() && ok:
				if since = onClock.Sub(videoClock); since < 0 {
					continue // captured before the first picture
				}
			case !videoClock.IsZero() && since < syncWait:
				continue // wait a little for the audio's sender report
			}
		}
		pts := clock.pts(pkt.Timestamp, since, 48000)
		if st.Tracks.Opus != nil {
			st.Write(&stream.Unit{Kind: stream.Audio, PTS: pts, NTP: arrival, Payload: [][]byte{pkt.Payload}})
			continue
		}
		if tc == nil {
			tc, err = startTranscoder(context.Background(), ss.srv.log, pts, func(pts time.Duration, au []byte) {
				st.Write(&stream.Unit{Kind: stream.Audio, PTS: pts, NTP: t0.Add(pts), Payload: [][]byte{au}})
			})
			if err != nil {
				ss.srv.log.Error("whip audio transcoder", "whip", ss.id, "err", err)
				ss.close("audio transcoder failed")
				return
			}
		}
		if err := tc.write(pkt); err != nil {
			ss.srv.log.Warn("whip audio transcoder", "whip", ss.id, "err", err)
		}
	}
}

// timeline turns one track's RTP timestamps into presentation times: the track's first
// packet is placed at its arrival (relative to the stream's time zero), later ones by their
// RTP timestamp difference, across 32-bit wrap-arounds.
type timeline struct {
	started bool
	base    time.Duration
	last    uint32
	ticks   int64
}

func (c *timeline) pts(ts uint32, since time.Duration, rate int64) time.Duration {
	if !c.started {
		c.started, c.base, c.last = true, max(since, 0), ts
		return c.base
	}
	c.ticks += int64(int32(ts - c.last))
	c.last = ts
	return c.base + time.Duration(c.ticks*int64(time.Second)/rate)
}

// encoderName is what the session's health page shows as the encoder: OBS and other tools
// name themselves in User-Agent; a browser's long agent string becomes "Web broadcast".
func encoderName(userAgent string) string {
	switch {
	case strings.HasPrefix(userAgent, "Mozilla/"):
		return "Web broadcast"
	case len(userAgent) > 64:
		return userAgent[:64]
	}
	return userAgent
}
