// Package whep is WebRTC playback (WHEP): a viewer posts an SDP offer with its playback
// token and gets an answer; the server sends the live channel's H.264 as it came in and its
// audio as Opus (passed through from WebRTC publishers, transcoded from AAC once per stream
// for RTMP ones) over the same single UDP port as WHIP ingest.
//
// The package is an output of the live session (streams.Output): each session gets a feed
// that taps its units, keeps the current group of pictures so a new viewer starts at once on
// a keyframe, and hands every unit to each of its viewers' bounded queues. A viewer whose
// queue is full loses units until the next keyframe; the session never waits for a viewer.
// The HTTP surface (status codes, headers) is the httpapi package's; this package offers
// Play and Leave.
package whep

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/livehouse/livehouse/internal/clientaddr"
	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/safe"
	"github.com/livehouse/livehouse/internal/streams"
	"github.com/livehouse/livehouse/internal/viewers"
)

// Viewers is what the adapter needs from viewer counting: a token check, the beacon that
// counts a session (and refuses a viewer banned since the token was minted), and leaving.
type Viewers interface {
	Check(channelID, token string) error
	Beacon(ctx context.Context, channelID, token, addr string) (viewers.Ticket, error)
	Leave(channelID, token string) error
}

// Config is the adapter's part of the configuration.
type Config struct {
	// Engine carries the shared ICE UDP mux (the WHIP server's), so WHEP media uses the same
	// one UDP port.
	Engine webrtc.SettingEngine
	// STUNServers ("stun:host:port") are given to the server's peer connections.
	STUNServers []string
	// Caps on WebRTC viewers: per channel, per source address (per /64 for IPv6), in all.
	MaxPerChannel, MaxPerAddress, MaxTotal int
	// FFmpeg is the program that transcodes AAC to Opus ("ffmpeg").
	FFmpeg string
	// StartTimeout ends a viewer whose connection is not up by then.
	StartTimeout time.Duration
}

// Defaults for the zero fields of Config.
const (
	DefaultMaxPerChannel = 500
	DefaultMaxPerAddress = 10
	DefaultMaxTotal      = 2000
	DefaultStartTimeout  = 20 * time.Second
)

// maxOfferSize bounds an SDP offer; a browser's is a few kilobytes.
const maxOfferSize = 64 << 10

var (
	// ErrNoSession is returned by Leave for an unknown viewer.
	ErrNoSession = problem.NotFound("NoSuchSession", "There is no such WHEP session.")
	// ErrNotLive is returned by Play for a channel that is not live on this node.
	ErrNotLive = problem.NotFound("ChannelNotLive", "This channel is not live (on this node).")
)

// Server is the WHEP output: the feeds of the live sessions and their viewers.
type Server struct {
	cfg   Config
	views Viewers
	log   *slog.Logger

	mu      sync.Mutex
	feeds   map[string]*feed   // by channel id
	viewers map[string]*viewer // by WHEP session id
	perAddr map[string]int
	closed  bool
	wg      sync.WaitGroup // viewers' goroutines
}

// New returns the WHEP output. It serves nothing until sessions start (Start) and viewers
// ask (Play).
func New(cfg Config, views Viewers, log *slog.Logger) *Server {
	if cfg.MaxPerChannel <= 0 {
		cfg.MaxPerChannel = DefaultMaxPerChannel
	}
	if cfg.MaxPerAddress <= 0 {
		cfg.MaxPerAddress = DefaultMaxPerAddress
	}
	if cfg.MaxTotal <= 0 {
		cfg.MaxTotal = DefaultMaxTotal
	}
	if cfg.FFmpeg == "" {
		cfg.FFmpeg = "ffmpeg"
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, views: views, log: log, feeds: map[string]*feed{}, viewers: map[string]*viewer{}, perAddr: map[string]int{}}
}

// ICEServers are the STUN servers offered to viewers.
func (s *Server) ICEServers() []string { return s.cfg.STUNServers }

// Start is the streams.Output side: the session's feed taps every unit; its Run ends the
// feed's viewers when the session ends.
func (s *Server) Start(v *streams.View) streams.Run {
	if v.Tracks.H264 == nil {
		return nil
	}
	f := newFeed(s, v)
	v.Tap("WHEP output", f.unit)
	s.mu.Lock()
	s.feeds[v.Channel.ID] = f
	s.mu.Unlock()
	return func(ctx context.Context, _ chan<- streams.Report) error {
		<-ctx.Done()
		s.mu.Lock()
		if s.feeds[v.Channel.ID] == f {
			delete(s.feeds, v.Channel.ID)
		}
		s.mu.Unlock()
		f.close("the stream ended")
		return nil
	}
}

// Run waits for ctx, then ends every viewer and waits for their goroutines.
func (s *Server) Run(ctx context.Context) error {
	<-ctx.Done()
	s.mu.Lock()
	s.closed = true
	all := make([]*viewer, 0, len(s.viewers))
	for _, v := range s.viewers {
		all = append(all, v)
	}
	s.mu.Unlock()
	for _, v := range all {
		v.close("server shutting down")
	}
	s.wg.Wait()
	return nil
}

// Viewers counts the WebRTC viewers of a channel on this node.
func (s *Server) Viewers(channelID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.feeds[channelID]; f != nil {
		return int(f.count())
	}
	return 0
}

// Play checks the playback token (the viewer is counted, and refused if banned), answers the
// offer and starts sending the channel's live media. It returns the new session's id (for
// Leave) and the SDP answer with every server candidate in it.
func (s *Server) Play(ctx context.Context, channelID, token, addr, offer string) (id, answer string, err error) {
	if len(offer) > maxOfferSize {
		return "", "", &problem.Problem{Kind: problem.ErrTooLarge, Code: "OfferTooLarge", Message: "The SDP offer is too large."}
	}
	if err := s.views.Check(channelID, token); err != nil {
		return "", "", err
	}
	wantsAudio, err := checkOffer(offer)
	if err != nil {
		return "", "", err
	}
	s.mu.Lock()
	f := s.feeds[channelID]
	s.mu.Unlock()
	if f == nil {
		return "", "", ErrNotLive
	}
	// The beacon checks the ban and counts the viewer.
	ticket, err := s.views.Beacon(ctx, channelID, token, addr)
	if err != nil {
		return "", "", err
	}
	v := &viewer{id: newID(), srv: s, feed: f, addr: clientaddr.Key(addr), raw: addr, token: ticket.Token, renew: ticket.RenewAfter,
		queue: make(chan item, viewerQueue), done: make(chan struct{}), connected: make(chan struct{}), finished: make(chan struct{})}
	if err := s.admit(v); err != nil {
		_ = s.views.Leave(channelID, ticket.Token)
		return "", "", err
	}
	answer, err = v.negotiate(ctx, offer, wantsAudio)
	if err != nil {
		v.close("negotiation failed")
		v.wait()
		return "", "", err
	}
	if !f.join(v) {
		v.close("the stream ended")
		v.wait()
		return "", "", ErrNotLive
	}
	return v.id, answer, nil
}

// admit takes a place for v under the caps and starts its goroutine.
func (s *Server) admit(v *viewer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return streams.ErrShuttingDown
	case len(s.viewers) >= s.cfg.MaxTotal:
		return problem.Unavailable("TooManyViewers", "This server has all the WebRTC viewers it takes; watch with the LL-HLS player.", 10*time.Second)
	case v.feed.count()+v.feed.pending.Load() >= int64(s.cfg.MaxPerChannel):
		return problem.Unavailable("TooManyChannelViewers", "This channel has all the WebRTC viewers it takes; watch with the LL-HLS player.", 10*time.Second)
	case s.perAddr[v.addr] >= s.cfg.MaxPerAddress:
		return problem.Throttled("TooManyWebRTCViewers", "Too many WebRTC viewers from your address.", 10*time.Second)
	}
	s.viewers[v.id] = v
	s.perAddr[v.addr]++
	v.feed.pending.Add(1)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer safe.Recover(s.log, "whep viewer")
		v.run()
	}()
	return nil
}

// Leave ends WHEP session id of the channel.
func (s *Server) Leave(channelID, id string) error {
	s.mu.Lock()
	v := s.viewers[id]
	s.mu.Unlock()
	if v == nil || v.feed.channel != channelID {
		return ErrNoSession
	}
	v.close("the viewer left")
	return nil
}

func (s *Server) forget(v *viewer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.viewers[v.id] == v {
		delete(s.viewers, v.id)
		if s.perAddr[v.addr]--; s.perAddr[v.addr] <= 0 {
			delete(s.perAddr, v.addr)
		}
	}
}

// checkOffer refuses an offer that is not SDP or that does not receive H.264 video; it
// reports whether the offer also receives Opus audio.
func checkOffer(offer string) (wantsAudio bool, err error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer); err != nil {
		return false, problem.Invalid("InvalidOffer", "", "The body is not an SDP offer: "+err.Error())
	}
	var video bool
	for _, m := range d.MediaDescriptions {
		codecs := map[string]bool{}
		sends := false
		for _, a := range m.Attributes {
			switch a.Key {
			case "rtpmap":
				if _, enc, ok := strings.Cut(a.Value, " "); ok {
					name, _, _ := strings.Cut(enc, "/")
					codecs[strings.ToUpper(name)] = true
				}
			case "sendonly", "inactive":
				sends = true
			}
		}
		if sends {
			continue
		}
		switch m.MediaName.Media {
		case "video":
			video = video || codecs["H264"]
		case "audio":
			wantsAudio = wantsAudio || codecs["OPUS"]
		}
	}
	if !video {
		return false, problem.Invalid("UnsupportedCodec", "", "The offer must receive H.264 video (and may receive Opus audio).")
	}
	return wantsAudio, nil
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
