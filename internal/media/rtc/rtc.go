// Package rtc builds the Pion peer connections of every WebRTC part of the server (WHIP
// ingest, WHEP playback, the stage SFU) in one place, so that they offer the same codecs and
// feedback, run the same interceptors and share one setting engine (one UDP port).
package rtc

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/intervalpli"
	"github.com/pion/webrtc/v4"
)

// H264Profiles are the H.264 profile-level-ids offered and accepted (packetization mode 1
// only): constrained baseline (browsers' and OBS's default), baseline, main and high; the
// level is the highest each names, and level-asymmetry-allowed lets a sender go above it.
var H264Profiles = []string{"42e01f", "42001f", "4d001f", "640c1f", "64001f"}

// Config is what differs between the server's peer connections.
type Config struct {
	// Engine is the shared setting engine (the ICE UDP mux, timeouts, address rewrites).
	Engine webrtc.SettingEngine
	// STUNServers are offered as ICE servers (none: host candidates only).
	STUNServers []string
	// KeyframeInterval, when positive, asks the remote sender for a keyframe (PLI) that
	// often: an ingest that cuts segments on keyframes needs them regularly. Zero for a
	// connection that only sends, or forwards the receivers' own requests.
	KeyframeInterval time.Duration
	// Log gets Pion's own logs of the connection (logs.go); nil: slog's default logger.
	Log *slog.Logger
}

// NewPeerConnection builds a peer connection with its own media engine and interceptors:
// H.264 (H264Profiles, payload types 102, 104, …) and Opus (111), with REMB, FIR, NACK, PLI
// and transport-cc feedback; Pion's default interceptors (NACK both ways, RTCP reports, TWCC)
// and, with cfg.KeyframeInterval, the periodic keyframe request. Pion's logs go to cfg.Log.
func NewPeerConnection(cfg Config) (*webrtc.PeerConnection, error) {
	me := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "transport-cc"}}
	for i, profile := range H264Profiles {
		if err := me.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
				SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + profile,
				RTCPFeedback: fb,
			},
			PayloadType: webrtc.PayloadType(102 + 2*i),
		}, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, fmt.Errorf("rtc: H.264 %s: %w", profile, err)
		}
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("rtc: Opus: %w", err)
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	logs := pionLogs{log}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptorsWithOptions(me, ir, webrtc.WithInterceptorLoggerFactory(logs)); err != nil {
		return nil, fmt.Errorf("rtc: interceptors: %w", err)
	}
	if cfg.KeyframeInterval > 0 {
		pli, err := intervalpli.NewReceiverInterceptor(intervalpli.GeneratorInterval(cfg.KeyframeInterval), intervalpli.WithLoggerFactory(logs))
		if err != nil {
			return nil, fmt.Errorf("rtc: keyframe requests: %w", err)
		}
		ir.Add(pli)
	}
	se := cfg.Engine // a copy: the shared engine keeps no connection's logger
	se.LoggerFactory = logs
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	var servers []webrtc.ICEServer
	if len(cfg.STUNServers) > 0 {
		servers = []webrtc.ICEServer{{URLs: cfg.STUNServers}}
	}
	return api.NewPeerConnection(webrtc.Configuration{ICEServers: servers})
}
