package sfu

import (
	"testing"

	"github.com/livehouse/livehouse/internal/problem"
)

const (
	sendBoth = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=sendonly\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 102\r\na=rtpmap:102 H264/90000\r\na=sendonly\r\n"
	recvVideo = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 102\r\na=rtpmap:102 H264/90000\r\na=recvonly\r\n"
	vp8Only = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n"
)

var offerCases = []struct {
	name        string
	offer       string
	send        bool
	video, aud  bool
	invalidCode string
}{
	{"publisher sends both", sendBoth, true, true, true, ""},
	{"a receive-only offer cannot publish", recvVideo, true, false, false, "UnsupportedCodec"},
	{"subscriber receives video", recvVideo, false, true, false, ""},
	{"a send-only offer cannot subscribe", sendBoth, false, false, false, "UnsupportedCodec"},
	{"VP8 only", vp8Only, true, false, false, "UnsupportedCodec"},
	{"not SDP", "hello", true, false, false, "InvalidOffer"},
}

func TestCheckOffer(t *testing.T) {
	for _, tt := range offerCases {
		t.Run(tt.name, func(t *testing.T) {
			video, audio, err := checkOffer(tt.offer, tt.send)
			if tt.invalidCode != "" {
				p, ok := problem.As(err)
				if !ok || p.Code != tt.invalidCode {
					t.Fatalf("err = %v, want %s", err, tt.invalidCode)
				}
				return
			}
			if err != nil || video != tt.video || audio != tt.aud {
				t.Errorf("checkOffer = %v, %v, %v; want %v, %v", video, audio, err, tt.video, tt.aud)
			}
		})
	}
}

// FuzzCheckOffer: no offer panics the parser, and an accepted one has video or audio.
func FuzzCheckOffer(f *testing.F) {
	for _, tt := range offerCases {
		f.Add(tt.offer, tt.send)
	}
	f.Fuzz(func(t *testing.T, offer string, send bool) {
		video, audio, err := checkOffer(offer, send)
		if err == nil && !video && !audio {
			t.Errorf("accepted an offer with neither video nor audio: %q", offer)
		}
		if err != nil && (video || audio) {
			t.Errorf("refused an offer but reported media: %q", offer)
		}
	})
}
