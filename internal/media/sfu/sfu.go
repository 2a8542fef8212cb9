// Package sfu is the selective forwarding unit of stages: each participant publishes its
// camera and microphone over one peer connection (a WHIP-like offer), and each subscriber
// takes one publisher's media over a peer connection of its own (a WHEP-like offer).
//
// One peer connection per publisher and one per (subscriber, publisher) pair, rather than
// one per participant carrying everything: a new publisher then never makes the others
// renegotiate (no SDP signalling beyond one HTTP exchange per connection, as WHIP and WHEP
// do), a subscriber's connection ends with its publisher, and a kicked participant's
// connections are exactly the ones it made. The price is more ICE and DTLS handshakes (11
// per participant of a full stage), all on the one shared UDP port.
//
// Packets are forwarded as they come (the SSRC and payload type rewritten per subscriber
// by Pion's static tracks); a subscriber's keyframe requests reach the publisher, at most
// one every pliEvery. Nothing here waits on a subscriber: writes to a track go to each
// subscriber's SRTP connection, which drops what it cannot send.
package sfu

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/livehouse/livehouse/internal/clientaddr"
	"github.com/livehouse/livehouse/internal/media/rtc"
	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/safe"
	"github.com/livehouse/livehouse/internal/streams"
)

// Config is the SFU's part of the configuration.
type Config struct {
	// Engine carries the shared ICE UDP mux (the WHIP server's): stage media uses the same
	// one UDP port.
	Engine webrtc.SettingEngine
	// STUNServers ("stun:host:port") are given to the server's peer connections.
	STUNServers []string
	// Caps on subscriptions: per stage, per source address (per /64 for IPv6), in all.
	MaxPerStage, MaxPerAddress, MaxTotal int
	// ReadyTimeout bounds how long a subscription waits for its publisher's first media.
	ReadyTimeout time.Duration
	// Gone is told when a publication ends by itself (its connection failed or closed),
	// not by Drop or Close. It runs on a goroutine of its own.
	Gone func(stageID, participantID string)
	// Unsubscribed is told when a subscription ends, whatever ended it; owner is the
	// subscribing participant, "" for a spectator (whom the stage counts as a viewer until
	// then). It runs on the caller's goroutine, with no lock of the SFU held.
	Unsubscribed func(stageID, subscriptionID, owner string)
}

// Defaults for the zero fields of Config.
const (
	DefaultMaxPerStage   = 1200 // 100 spectators of a full stage
	DefaultMaxPerAddress = 60
	DefaultMaxTotal      = 4000
	DefaultReadyTimeout  = 10 * time.Second
)

// maxOfferSize bounds an SDP offer; a browser's is a few kilobytes.
const maxOfferSize = 64 << 10

// pliEvery bounds the keyframe requests a publisher gets from its subscribers.
const pliEvery = 500 * time.Millisecond

var (
	// ErrNoSubscription is returned by Unsubscribe for an unknown subscription.
	ErrNoSubscription = problem.NotFound("NoSuchSubscription", "There is no such stage subscription.")
	// ErrNotPublishing is returned by Subscribe for a participant that publishes nothing (yet).
	ErrNotPublishing = problem.Unavailable("NotPublishing", "This participant is not publishing yet; try again shortly.", 2*time.Second)
	errOfferTooLarge = &problem.Problem{Kind: problem.ErrTooLarge, Code: "OfferTooLarge", Message: "The SDP offer is too large."}
	errClosed        = errors.New("stage connection closed")
)

// Server forwards the media of every stage on this node.
type Server struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	rooms   map[string]*room // by stage id
	subs    int
	perAddr map[string]int
	closed  bool
	wg      sync.WaitGroup
}

type room struct {
	pubs map[string]*publisher  // by participant id
	subs map[string]*subscriber // by subscription id
}

// publisher is one participant's publication.
type publisher struct {
	stage, id string
	pc        *webrtc.PeerConnection
	want      int // tracks the offer sends

	mu      sync.Mutex
	tracks  []*webrtc.TrackLocalStaticRTP
	remote  map[webrtc.RTPCodecType]webrtc.SSRC
	ready   chan struct{} // closed when every offered track arrived
	lastPLI time.Time

	done      chan struct{}
	closeOnce sync.Once
	byServer  atomic.Bool // ended by Drop or Close, not by the peer
	packets   atomic.Int64
}

// subscriber is one subscription to one publisher.
type subscriber struct {
	id, stage, owner, addr string
	pub                    *publisher
	pc                     *webrtc.PeerConnection
	closeOnce              sync.Once
}

// New returns the SFU.
func New(cfg Config, log *slog.Logger) *Server {
	if cfg.MaxPerStage <= 0 {
		cfg.MaxPerStage = DefaultMaxPerStage
	}
	if cfg.MaxPerAddress <= 0 {
		cfg.MaxPerAddress = DefaultMaxPerAddress
	}
	if cfg.MaxTotal <= 0 {
		cfg.MaxTotal = DefaultMaxTotal
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = DefaultReadyTimeout
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, log: log, rooms: map[string]*room{}, perAddr: map[string]int{}}
}

// ICEServers are the STUN servers offered to clients.
func (s *Server) ICEServers() []string { return s.cfg.STUNServers }

// Run waits for ctx, then ends every connection and waits for their goroutines.
func (s *Server) Run(ctx context.Context) error {
	<-ctx.Done()
	s.mu.Lock()
	s.closed = true
	ids := make([]string, 0, len(s.rooms))
	for id := range s.rooms {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	for _, id := range ids {
		s.Close(id)
	}
	s.wg.Wait()
	return nil
}

// Publish answers a participant's offer (H.264 video and/or Opus audio, sent to us) and
// forwards what arrives to its subscribers. A participant publishing again replaces its
// earlier publication.
func (s *Server) Publish(ctx context.Context, stageID, participantID, offer string) (string, error) {
	if len(offer) > maxOfferSize {
		return "", errOfferTooLarge
	}
	video, audio, err := checkOffer(offer, true)
	if err != nil {
		return "", err
	}
	pc, err := s.newPeerConnection()
	if err != nil {
		return "", err
	}
	p := &publisher{stage: stageID, id: participantID, pc: pc, remote: map[webrtc.RTPCodecType]webrtc.SSRC{}, ready: make(chan struct{}), done: make(chan struct{})}
	recv := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}
	if video {
		p.want++
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, recv); err != nil {
			pc.Close()
			return "", err
		}
	}
	if audio {
		p.want++
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, recv); err != nil {
			pc.Close()
			return "", err
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		pc.Close()
		return "", streams.ErrShuttingDown
	}
	r := s.roomLocked(stageID)
	old := r.pubs[participantID]
	r.pubs[participantID] = p
	s.wg.Add(1)
	s.mu.Unlock()
	if old != nil {
		s.endPublisher(old, true)
	}
	pc.OnTrack(func(t *webrtc.TrackRemote, rc *webrtc.RTPReceiver) {
		defer safe.Recover(s.log, "stage track reader")
		s.forward(p, t, rc)
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			go s.endPublisher(p, false)
		}
	})
	go func() { // ends a publication that never gets connected
		defer s.wg.Done()
		t := time.NewTimer(s.cfg.ReadyTimeout * 2)
		defer t.Stop()
		select {
		case <-p.ready:
		case <-p.done:
		case <-t.C:
			s.endPublisher(p, false)
		}
	}()
	answer, err := answerOffer(ctx, pc, offer, p.done)
	if err != nil {
		s.endPublisher(p, true)
		return "", err
	}
	return answer, nil
}

// forward copies a publisher's track to a local track that its subscribers bind to.
func (s *Server) forward(p *publisher, t *webrtc.TrackRemote, rc *webrtc.RTPReceiver) {
	local, err := webrtc.NewTrackLocalStaticRTP(t.Codec().RTPCodecCapability, t.Kind().String(), "p-"+p.id)
	if err != nil {
		go s.endPublisher(p, false)
		return
	}
	p.mu.Lock()
	p.tracks = append(p.tracks, local)
	p.remote[t.Kind()] = t.SSRC()
	if len(p.tracks) == p.want {
		close(p.ready)
	}
	p.mu.Unlock()
	s.wg.Add(1)
	go func() { // the interceptors read RTCP through here
		defer s.wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := rc.Read(buf); err != nil {
				return
			}
		}
	}()
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		p.packets.Add(1)
		if err := local.WriteRTP(pkt); err != nil && !errors.Is(err, errClosed) {
			s.log.Debug("stage forward", "err", err)
		}
	}
}

// keyframe asks the publisher for a keyframe, at most every pliEvery.
func (p *publisher) keyframe() {
	p.mu.Lock()
	ssrc, ok := p.remote[webrtc.RTPCodecTypeVideo]
	now := time.Now()
	if !ok || now.Sub(p.lastPLI) < pliEvery {
		p.mu.Unlock()
		return
	}
	p.lastPLI = now
	p.mu.Unlock()
	_ = p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(ssrc)}})
}

// Subscribe answers a subscriber's offer (it must receive H.264 video or Opus audio) with one
// publisher's media, waiting up to ReadyTimeout for the publisher's first packets.
func (s *Server) Subscribe(ctx context.Context, stageID, publisherID, owner, addr, offer string) (string, string, error) {
	if len(offer) > maxOfferSize {
		return "", "", errOfferTooLarge
	}
	if _, _, err := checkOffer(offer, false); err != nil {
		return "", "", err
	}
	s.mu.Lock()
	r := s.rooms[stageID]
	var p *publisher
	if r != nil {
		p = r.pubs[publisherID]
	}
	s.mu.Unlock()
	if p == nil {
		return "", "", ErrNotPublishing
	}
	wait, cancel := context.WithTimeout(ctx, s.cfg.ReadyTimeout)
	defer cancel()
	select {
	case <-p.ready:
	case <-p.done:
		return "", "", ErrNotPublishing
	case <-wait.Done():
		return "", "", ErrNotPublishing
	}
	sub := &subscriber{id: "sub-" + newID(), stage: stageID, owner: owner, addr: clientaddr.Key(addr), pub: p}
	if err := s.admit(sub); err != nil {
		return "", "", err
	}
	pc, err := s.newPeerConnection()
	if err != nil {
		s.endSubscriber(sub)
		return "", "", err
	}
	sub.pc = pc
	p.mu.Lock()
	tracks := append([]*webrtc.TrackLocalStaticRTP(nil), p.tracks...)
	p.mu.Unlock()
	for _, t := range tracks {
		tr, err := pc.AddTransceiverFromTrack(t, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			s.endSubscriber(sub)
			return "", "", err
		}
		sender, video := tr.Sender(), t.Kind() == webrtc.RTPCodecTypeVideo
		s.wg.Add(1)
		go func() { // RTCP from the subscriber: the interceptors' NACKs, and keyframe requests
			defer s.wg.Done()
			defer safe.Recover(s.log, "stage rtcp reader")
			for {
				pkts, _, err := sender.ReadRTCP()
				if err != nil {
					return
				}
				for _, pkt := range pkts {
					switch pkt.(type) {
					case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
						if video {
							p.keyframe()
						}
					}
				}
			}
		}()
	}
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			p.keyframe()
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			go s.endSubscriber(sub)
		}
	})
	answer, err := answerOffer(ctx, pc, offer, p.done)
	if err != nil {
		s.endSubscriber(sub)
		return "", "", err
	}
	return sub.id, answer, nil
}

// admit counts a subscription under the caps.
func (s *Server) admit(sub *subscriber) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[sub.stage]
	switch {
	case s.closed:
		return streams.ErrShuttingDown
	case r == nil || r.pubs[sub.pub.id] != sub.pub:
		return ErrNotPublishing
	case s.subs >= s.cfg.MaxTotal:
		return problem.Unavailable("TooManySubscriptions", "This server has all the stage subscribers it takes.", 10*time.Second)
	case len(r.subs) >= s.cfg.MaxPerStage:
		return problem.Unavailable("TooManyStageSubscriptions", "This stage has all the subscribers it takes.", 10*time.Second)
	case s.perAddr[sub.addr] >= s.cfg.MaxPerAddress:
		return problem.Throttled("TooManySubscriptionsFromAddress", "Too many stage subscriptions from your address.", 10*time.Second)
	}
	r.subs[sub.id] = sub
	s.subs++
	s.perAddr[sub.addr]++
	return nil
}

// Unsubscribe ends a subscription of a stage.
func (s *Server) Unsubscribe(stageID, id string) error {
	s.mu.Lock()
	var sub *subscriber
	if r := s.rooms[stageID]; r != nil {
		sub = r.subs[id]
	}
	s.mu.Unlock()
	if sub == nil {
		return ErrNoSubscription
	}
	s.endSubscriber(sub)
	return nil
}

// Drop ends a participant's publication, the subscriptions to it and its own subscriptions.
func (s *Server) Drop(stageID, participantID string) {
	s.mu.Lock()
	r := s.rooms[stageID]
	var p *publisher
	var subs []*subscriber
	if r != nil {
		p = r.pubs[participantID]
		for _, sub := range r.subs {
			if sub.owner == participantID {
				subs = append(subs, sub)
			}
		}
	}
	s.mu.Unlock()
	for _, sub := range subs {
		s.endSubscriber(sub)
	}
	if p != nil {
		s.endPublisher(p, true)
	}
}

// Close ends every connection of a stage.
func (s *Server) Close(stageID string) {
	s.mu.Lock()
	r := s.rooms[stageID]
	var pubs []*publisher
	var subs []*subscriber
	if r != nil {
		for _, p := range r.pubs {
			pubs = append(pubs, p)
		}
		for _, sub := range r.subs {
			subs = append(subs, sub)
		}
	}
	s.mu.Unlock()
	for _, sub := range subs {
		s.endSubscriber(sub)
	}
	for _, p := range pubs {
		s.endPublisher(p, true)
	}
}

// Stats are what a stage's media amounts to, for benchmarks and metrics.
type Stats struct {
	Publishers, Subscriptions int
	Packets                   int64 // forwarded from publishers since they started
}

// StageStats counts a stage's publishers, subscriptions and packets.
func (s *Server) StageStats(stageID string) Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st Stats
	if r := s.rooms[stageID]; r != nil {
		st.Publishers, st.Subscriptions = len(r.pubs), len(r.subs)
		for _, p := range r.pubs {
			st.Packets += p.packets.Load()
		}
	}
	return st
}

// endPublisher ends a publication and the subscriptions to it; byServer says whether the
// server ended it (else Gone is told).
func (s *Server) endPublisher(p *publisher, byServer bool) {
	p.closeOnce.Do(func() {
		p.byServer.Store(byServer)
		close(p.done)
		_ = p.pc.Close()
		s.mu.Lock()
		var subs []*subscriber
		if r := s.rooms[p.stage]; r != nil {
			if r.pubs[p.id] == p {
				delete(r.pubs, p.id)
			}
			for _, sub := range r.subs {
				if sub.pub == p {
					subs = append(subs, sub)
				}
			}
			s.dropEmptyLocked(p.stage, r)
		}
		s.mu.Unlock()
		for _, sub := range subs {
			s.endSubscriber(sub)
		}
		if !byServer && s.cfg.Gone != nil {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer safe.Recover(s.log, "stage gone")
				s.cfg.Gone(p.stage, p.id)
			}()
		}
	})
}

func (s *Server) endSubscriber(sub *subscriber) {
	sub.closeOnce.Do(func() {
		if sub.pc != nil {
			_ = sub.pc.Close()
		}
		s.mu.Lock()
		removed := false
		if r := s.rooms[sub.stage]; r != nil && r.subs[sub.id] == sub {
			delete(r.subs, sub.id)
			s.subs--
			if s.perAddr[sub.addr]--; s.perAddr[sub.addr] <= 0 {
				delete(s.perAddr, sub.addr)
			}
			s.dropEmptyLocked(sub.stage, r)
			removed = true
		}
		s.mu.Unlock()
		if removed && s.cfg.Unsubscribed != nil {
			s.cfg.Unsubscribed(sub.stage, sub.id, sub.owner)
		}
	})
}

func (s *Server) roomLocked(stageID string) *room {
	r := s.rooms[stageID]
	if r == nil {
		r = &room{pubs: map[string]*publisher{}, subs: map[string]*subscriber{}}
		s.rooms[stageID] = r
	}
	return r
}

func (s *Server) dropEmptyLocked(stageID string, r *room) {
	if len(r.pubs) == 0 && len(r.subs) == 0 && s.rooms[stageID] == r {
		delete(s.rooms, stageID)
	}
}

// answerOffer sets the offer, answers it and waits for the server's candidates, so that
// the answer is complete (no trickle ICE).
func answerOffer(ctx context.Context, pc *webrtc.PeerConnection, offer string, done <-chan struct{}) (string, error) {
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
	case <-done:
		return "", errClosed
	}
	return pc.LocalDescription().SDP, nil
}

// newPeerConnection builds a peer connection on the shared UDP port: H.264 (packetization
// mode 1) and Opus, with Pion's default interceptors (NACK, RTCP reports, TWCC).
func (s *Server) newPeerConnection() (*webrtc.PeerConnection, error) {
	return rtc.NewPeerConnection(rtc.Config{Engine: s.cfg.Engine, STUNServers: s.cfg.STUNServers, Log: s.log})
}

// checkOffer refuses an offer that is not SDP or that has neither H.264 video nor Opus
// audio in the direction asked (sending to us when send, else receiving); it reports which
// of the two it has.
func checkOffer(offer string, send bool) (video, audio bool, err error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer); err != nil {
		return false, false, problem.Invalid("InvalidOffer", "", "The body is not an SDP offer: "+err.Error())
	}
	for _, m := range d.MediaDescriptions {
		codecs := map[string]bool{}
		dir := "sendrecv"
		for _, a := range m.Attributes {
			switch a.Key {
			case "rtpmap":
				if _, enc, ok := strings.Cut(a.Value, " "); ok {
					name, _, _ := strings.Cut(enc, "/")
					codecs[strings.ToUpper(name)] = true
				}
			case "sendonly", "recvonly", "inactive", "sendrecv":
				dir = a.Key
			}
		}
		if dir == "inactive" || (send && dir == "recvonly") || (!send && dir == "sendonly") {
			continue
		}
		switch m.MediaName.Media {
		case "video":
			video = video || codecs["H264"]
		case "audio":
			audio = audio || codecs["OPUS"]
		}
	}
	if !video && !audio {
		return false, false, problem.Invalid("UnsupportedCodec", "", "The offer must carry H.264 video or Opus audio.")
	}
	return video, audio, nil
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
