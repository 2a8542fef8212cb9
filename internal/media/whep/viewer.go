package whep

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/livehouse/livehouse/internal/media/rtc"
	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/safe"
)

// viewerQueue bounds what a viewer may have waiting: the group of pictures it joins with
// (maxGOPUnits at most) and a few seconds of live units.
const viewerQueue = maxGOPUnits + 512

// rtpMTU is the payload size RTP packets are cut to, well inside a 1500-byte path with the
// SRTP and UDP overhead.
const rtpMTU = 1200

// burstStep is the spacing given to the frames a viewer is sent at once when it starts (the
// group of pictures up to the live edge): they are decoded as fast as they come, and the
// player's clock starts at the live edge instead of a keyframe interval behind it.
const burstStep = time.Millisecond

// viewer is one WebRTC viewer: its peer connection, its queue and the goroutine that sends.
type viewer struct {
	id    string
	srv   *Server
	feed  *feed
	addr  string // the per-address cap's key
	raw   string // the source address, for beacons
	token string
	renew time.Duration

	pc    *webrtc.PeerConnection
	video *webrtc.TrackLocalStaticRTP
	audio *webrtc.TrackLocalStaticRTP // nil when the viewer or the stream has no audio

	queue   chan item
	waitKey bool // the feed's lock: units are skipped until the next keyframe
	joined  bool // the feed's lock
	dropped int  // the feed's lock

	done      chan struct{} // closed by close
	closeOnce sync.Once
	connected chan struct{}
	connOnce  sync.Once
	finished  chan struct{} // closed when run has cleaned up
	reason    string
}

// offerVideo queues a video unit unless the queue is full; after a loss the viewer waits for
// the next keyframe. Called with the feed's lock held.
func (v *viewer) offerVideo(u *stream.Unit) {
	if v.waitKey && !u.Key {
		v.dropped++
		return
	}
	select {
	case v.queue <- item{video: true, key: u.Key, pts: u.PTS, au: u.Payload}:
		v.waitKey = false
	default:
		v.waitKey = true
		v.dropped++
	}
}

// offerAudio queues an Opus packet unless the queue is full. Called with the feed's lock
// held.
func (v *viewer) offerAudio(it item) {
	if v.audio == nil {
		return
	}
	select {
	case v.queue <- it:
	default:
		v.dropped++
	}
}

// negotiate answers the offer with send-only tracks and waits for the server's candidates,
// so the answer is complete (no trickle ICE).
func (v *viewer) negotiate(ctx context.Context, offer string, wantsAudio bool) (string, error) {
	pc, err := v.srv.newPeerConnection()
	if err != nil {
		return "", err
	}
	v.pc = pc
	v.video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
	}, "video", "livehouse")
	if err != nil {
		return "", err
	}
	send := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}
	senders := []*webrtc.RTPSender{}
	tr, err := pc.AddTransceiverFromTrack(v.video, send)
	if err != nil {
		return "", err
	}
	senders = append(senders, tr.Sender())
	if wantsAudio && v.feed.hasAudio() {
		v.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "livehouse")
		if err != nil {
			return "", err
		}
		tr, err := pc.AddTransceiverFromTrack(v.audio, send)
		if err != nil {
			return "", err
		}
		senders = append(senders, tr.Sender())
	}
	for _, s := range senders {
		// Reading RTCP is what runs the interceptors' NACK and report handling; it ends
		// when the connection closes.
		v.srv.wg.Add(1)
		go func() {
			defer v.srv.wg.Done()
			defer safe.Recover(v.srv.log, "whep rtcp reader")
			buf := make([]byte, 1500)
			for {
				if _, _, err := s.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			v.connOnce.Do(func() { close(v.connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			go v.close("viewer disconnected")
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
	case <-v.done:
		return "", errors.New("whep session closed")
	}
	return pc.LocalDescription().SDP, nil
}

// newPeerConnection builds a send-only peer connection on the shared UDP port: H.264
// (packetization mode 1) and Opus, with Pion's default interceptors (NACK responses, RTCP
// sender reports, TWCC). Each connection gets its own engine and interceptors.
func (s *Server) newPeerConnection() (*webrtc.PeerConnection, error) {
	return rtc.NewPeerConnection(rtc.Config{Engine: s.cfg.Engine, STUNServers: s.cfg.STUNServers, Log: s.log})
}

// close ends the viewer once; run cleans up.
func (v *viewer) close(reason string) {
	v.closeOnce.Do(func() {
		v.reason = reason
		close(v.done)
		if v.pc != nil {
			_ = v.pc.Close()
		}
	})
}

// wait returns once run has cleaned up.
func (v *viewer) wait() { <-v.finished }

// run sends the viewer's queue once its connection is up, renews its playback session (a
// viewer banned since is ended) and cleans up when the viewer ends.
func (v *viewer) run() {
	defer close(v.finished)
	defer func() {
		v.close("ended")
		v.srv.forget(v)
		v.feed.leave(v)
		_ = v.srv.views.Leave(v.feed.channel, v.token)
		v.srv.log.Debug("whep session closed", "whep", v.id, "channel", v.feed.channel, "reason", v.reason)
	}()
	start := time.NewTimer(v.srv.cfg.StartTimeout)
	defer start.Stop()
	select {
	case <-v.connected:
	case <-v.done:
		return
	case <-start.C:
		v.close("the connection did not come up")
		return
	}
	renew := time.NewTicker(max(v.renew, time.Second))
	defer renew.Stop()
	s := newSender(v.video, v.audio)
	s.burst = len(v.queue)
	for {
		select {
		case it := <-v.queue:
			if err := s.send(it); err != nil {
				v.srv.log.Debug("whep send", "whep", v.id, "err", err)
			}
		case <-renew.C:
			if !v.beacon() {
				return
			}
		case <-v.done:
			return
		}
	}
}

// beacon renews the viewer's playback session; it reports false when the viewer is refused
// (banned since, or the token no longer good), which ends the viewer.
func (v *viewer) beacon() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	t, err := v.srv.views.Beacon(ctx, v.feed.channel, v.token, v.raw)
	if err != nil {
		if p, ok := problem.As(err); ok && errors.Is(p, problem.ErrForbidden) {
			v.close("playback refused: " + p.Message)
			return false
		}
		v.srv.log.Warn("whep viewer beacon", "whep", v.id, "err", err)
		return true // a store that does not answer does not end playback
	}
	v.token = t.Token
	return true
}

// sender turns items into RTP on the viewer's tracks. The viewer's media timeline is the
// source's shifted by offset; the burst it starts with is squeezed (burstStep apart) so its
// last frame sits where the live frames continue.
type sender struct {
	video, audio *webrtc.TrackLocalStaticRTP
	h264         codecs.H264Payloader
	vseq, aseq   uint16
	vbase, abase uint32

	burst     int // items left in the starting burst
	burstN    int // video frames sent in it
	offset    time.Duration
	offsetSet bool
}

func newSender(video, audio *webrtc.TrackLocalStaticRTP) *sender {
	return &sender{video: video, audio: audio, vseq: uint16(rand.Uint32()), aseq: uint16(rand.Uint32()), vbase: rand.Uint32(), abase: rand.Uint32()}
}

// place puts an item on the viewer's timeline; it reports false for audio that is not sent
// (from before the live edge, or before the first picture).
func (s *sender) place(it item) (time.Duration, bool) {
	inBurst := s.burst > 0
	if inBurst {
		s.burst--
	}
	if !it.video {
		if inBurst || !s.offsetSet {
			return 0, false
		}
		return it.pts + s.offset, true
	}
	switch {
	case inBurst:
		at := time.Duration(s.burstN) * burstStep
		s.burstN++
		s.offset, s.offsetSet = at-it.pts, true
		return at, true
	case !s.offsetSet:
		s.offset, s.offsetSet = -it.pts, true
	}
	return it.pts + s.offset, true
}

func (s *sender) send(it item) error {
	at, ok := s.place(it)
	if !ok {
		return nil
	}
	if !it.video {
		if s.audio == nil {
			return nil
		}
		ts := s.abase + uint32(int64(at)*48000/int64(time.Second))
		s.aseq++
		return s.audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: s.aseq, Timestamp: ts}, Payload: it.opus})
	}
	ts := s.vbase + uint32(int64(at)*90000/int64(time.Second))
	var annexB []byte
	for _, n := range it.au {
		if len(n) == 0 || n[0]&0x1f == 9 { // access unit delimiters mean nothing over RTP
			continue
		}
		annexB = append(annexB, 0, 0, 0, 1)
		annexB = append(annexB, n...)
	}
	payloads := s.h264.Payload(rtpMTU, annexB)
	for i, p := range payloads {
		s.vseq++
		if err := s.video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: s.vseq, Timestamp: ts, Marker: i == len(payloads)-1}, Payload: p}); err != nil {
			return err
		}
	}
	return nil
}
