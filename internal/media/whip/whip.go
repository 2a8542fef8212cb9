// Package whip is the WebRTC ingest adapter (WHIP, RFC 9725): a publisher posts an SDP offer
// with its stream key, gets an answer, and sends H.264 video and Opus audio over one shared
// UDP port. The adapter checks the key with the streams domain, turns RTP into access units
// and writes them into a stream.Stream, exactly as the RTMP adapter does with FLV tags.
// The HTTP surface (status codes, headers) is the httpapi package's; this package offers
// Publish and End.
package whip

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/livehouse/livehouse/internal/media/rtc"
	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/safe"
	"github.com/livehouse/livehouse/internal/streams"
)

// Ingest is what the adapter needs from the streams domain.
type Ingest interface {
	Authorize(ctx context.Context, key string) (*streams.Channel, error)
	Begin(ctx context.Context, ch *streams.Channel, st *stream.Stream, kick func()) (*streams.Encoder, error)
}

// Config is the adapter's part of the configuration.
type Config struct {
	// UDPAddr is the one UDP address every peer's media uses (":8189").
	UDPAddr string
	// PublicIPs replace the host candidates' addresses (a server behind 1:1 NAT).
	PublicIPs []string
	// STUNServers ("stun:host:port") let the server learn its public address and are offered
	// to publishers in Link headers.
	STUNServers []string
	// KeyframeInterval is how often a keyframe is requested (PLI), so HLS can cut segments.
	KeyframeInterval time.Duration
	// StartTimeout ends a session whose first keyframe has not arrived by then.
	StartTimeout time.Duration
	// HLSAudio is what Opus becomes for HLS viewers: AudioAAC (the default) or AudioOpus.
	HLSAudio string
}

// Defaults for the zero fields of Config.
const (
	DefaultKeyframeInterval = 2 * time.Second
	DefaultStartTimeout     = 15 * time.Second
)

// maxOfferSize bounds an SDP offer; a browser's is a few kilobytes.
const maxOfferSize = 64 << 10

// ErrNoSession is returned by End for an unknown session (or a key that is not its own).
var ErrNoSession = problem.NotFound("NoSuchSession", "There is no such WHIP session.")

// Server owns the UDP port and the live WHIP sessions.
type Server struct {
	cfg    Config
	ingest Ingest
	log    *slog.Logger
	mux    ice.UDPMux
	addr   net.Addr
	engine webrtc.SettingEngine

	mu       sync.Mutex
	sessions map[string]*session
	closed   bool
	wg       sync.WaitGroup
}

// Listen opens the UDP port. An address with a host ("127.0.0.1:8189") uses that address;
// one without (":8189") listens on every interface's address on that port.
func Listen(cfg Config, ingest Ingest, log *slog.Logger) (*Server, error) {
	if cfg.KeyframeInterval <= 0 {
		cfg.KeyframeInterval = DefaultKeyframeInterval
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	switch cfg.HLSAudio {
	case "":
		cfg.HLSAudio = AudioAAC
	case AudioAAC, AudioOpus:
	default:
		return nil, fmt.Errorf("webrtc: HLS audio %q is not aac or opus", cfg.HLSAudio)
	}
	host, portText, err := net.SplitHostPort(cfg.UDPAddr)
	if err != nil {
		return nil, fmt.Errorf("webrtc: %w", err)
	}
	s := &Server{cfg: cfg, ingest: ingest, log: log, sessions: map[string]*session{}}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		port, err := strconv.Atoi(portText)
		if err != nil {
			return nil, fmt.Errorf("webrtc: port %q: %w", portText, err)
		}
		m, err := ice.NewMultiUDPMuxFromPort(port, ice.UDPMuxFromPortWithLoopback(), ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4))
		if err != nil {
			return nil, fmt.Errorf("webrtc: %w", err)
		}
		s.mux = m
		if addrs := m.GetListenAddresses(); len(addrs) > 0 {
			s.addr = addrs[0]
		}
	} else {
		conn, err := net.ListenPacket("udp4", cfg.UDPAddr)
		if err != nil {
			return nil, fmt.Errorf("webrtc: %w", err)
		}
		s.mux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn})
		s.addr = conn.LocalAddr()
	}
	if s.addr == nil {
		s.mux.Close()
		return nil, fmt.Errorf("webrtc: no interface to listen on at %s", cfg.UDPAddr)
	}

	se := webrtc.SettingEngine{}
	se.SetICEUDPMux(s.mux)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	// mDNS candidates only help on a LAN and cost a multicast socket per peer; the server's
	// candidates are plain addresses, and a browser's hidden ones arrive as peer-reflexive.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// Notice a dropped publisher within seconds, so its channel frees up for the reconnect.
	se.SetICETimeouts(4*time.Second, 8*time.Second, 2*time.Second)
	if len(cfg.PublicIPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: cfg.PublicIPs, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			s.mux.Close()
			return nil, fmt.Errorf("webrtc public IPs: %w", err)
		}
	}
	s.engine = se
	return s, nil
}

// Addr is the UDP address media arrives on.
func (s *Server) Addr() net.Addr { return s.addr }

// SettingEngine is the Pion setting engine with the shared UDP mux, so that WHEP playback
// uses the same one port. The mux closes when Run returns: its users end before.
func (s *Server) SettingEngine() webrtc.SettingEngine { return s.engine }

// ICEServers are the STUN servers offered to publishers.
func (s *Server) ICEServers() []string { return s.cfg.STUNServers }

// Run serves until ctx ends, then ends every session and closes the port.
func (s *Server) Run(ctx context.Context) error {
	<-ctx.Done()
	s.mu.Lock()
	s.closed = true
	all := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		all = append(all, ss)
	}
	s.mu.Unlock()
	for _, ss := range all {
		ss.close("server shutting down")
	}
	s.wg.Wait()
	return s.mux.Close()
}

// Publish checks the stream key, answers the offer and starts receiving. It returns the new
// session's id (for End) and the SDP answer, with every server candidate in it.
func (s *Server) Publish(ctx context.Context, key, offer, encoder string) (id, answer string, err error) {
	if len(offer) > maxOfferSize {
		return "", "", &problem.Problem{Kind: problem.ErrTooLarge, Code: "OfferTooLarge", Message: "The SDP offer is too large."}
	}
	ch, err := s.ingest.Authorize(ctx, key)
	if err != nil {
		return "", "", err
	}
	hasAudio, err := checkOffer(offer)
	if err != nil {
		return "", "", err
	}
	// A publisher that offers again before its media started (a retry, a reload) replaces its
	// earlier attempt, so attempts never pile up.
	for _, old := range s.waiting(ch.ID) {
		old.close("replaced by a newer offer")
	}
	pc, err := s.newPeerConnection()
	if err != nil {
		return "", "", err
	}
	ss := &session{
		id: newID(), key: key, srv: s, pc: pc, ch: ch, encoder: encoder, hasAudio: hasAudio,
		begun: make(chan struct{}), done: make(chan struct{}),
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		pc.Close()
		return "", "", streams.ErrShuttingDown
	}
	s.sessions[ss.id] = ss
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer safe.Recover(s.log, "whip session")
		ss.run()
	}()

	answer, err = ss.negotiate(ctx, offer, hasAudio)
	if err != nil {
		ss.close("negotiation failed")
		return "", "", err
	}
	return ss.id, answer, nil
}

// End ends the session id, if key is its stream key.
func (s *Server) End(id, key string) error {
	s.mu.Lock()
	ss := s.sessions[id]
	s.mu.Unlock()
	if ss == nil || subtle.ConstantTimeCompare([]byte(ss.key), []byte(key)) != 1 {
		return ErrNoSession
	}
	ss.close("publisher ended the broadcast")
	return nil
}

// waiting lists the channel's sessions whose media has not started.
func (s *Server) waiting(channelID string) []*session {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*session
	for _, ss := range s.sessions {
		if ss.ch.ID == channelID && !ss.started() {
			out = append(out, ss)
		}
	}
	return out
}

func (s *Server) forget(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[ss.id] == ss {
		delete(s.sessions, ss.id)
	}
}

// newPeerConnection builds a receive-only peer connection: H.264 (packetization mode 1) and
// Opus, NACK, RTCP reports, TWCC feedback so the browser adapts its bitrate, and a keyframe
// request every KeyframeInterval. Each connection gets its own engine and interceptors.
func (s *Server) newPeerConnection() (*webrtc.PeerConnection, error) {
	return rtc.NewPeerConnection(rtc.Config{Engine: s.engine, STUNServers: s.cfg.STUNServers, KeyframeInterval: s.cfg.KeyframeInterval, Log: s.log})
}

// checkOffer refuses an offer that is not SDP or that sends no H.264 video; it reports
// whether the offer also sends Opus audio.
func checkOffer(offer string) (hasAudio bool, err error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer); err != nil {
		return false, problem.Invalid("InvalidOffer", "", "The body is not an SDP offer: "+err.Error())
	}
	var video bool
	for _, m := range d.MediaDescriptions {
		codecs := map[string]bool{}
		for _, a := range m.Attributes {
			if a.Key == "rtpmap" {
				if _, enc, ok := strings.Cut(a.Value, " "); ok {
					name, _, _ := strings.Cut(enc, "/")
					codecs[strings.ToUpper(name)] = true
				}
			}
		}
		switch m.MediaName.Media {
		case "video":
			video = video || codecs["H264"]
		case "audio":
			hasAudio = hasAudio || codecs["OPUS"]
		}
	}
	if !video {
		return false, problem.Invalid("UnsupportedCodec", "", "The offer must send H.264 video (and may send Opus audio).")
	}
	return hasAudio, nil
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var errClosed = errors.New("session closed")
