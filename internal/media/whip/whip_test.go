package whip

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/problem"
)

const (
	sdpHead  = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	sdpH264  = "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;profile-level-id=42e01f\r\n"
	sdpVP8   = "m=video 9 UDP/TLS/RTP/SAVPF 97\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:97 VP8/90000\r\n"
	sdpOpus  = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n"
	sdpPCMU  = "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:0 PCMU/8000\r\n"
	notAnSDP = "hello"
)

var offerTests = []struct {
	name      string
	offer     string
	wantAudio bool
	wantErr   bool
}{
	{"H.264 and Opus", sdpHead + sdpH264 + sdpOpus, true, false},
	{"H.264 only", sdpHead + sdpH264, false, false},
	{"H.264 and PCMU", sdpHead + sdpH264 + sdpPCMU, false, false},
	{"VP8 only", sdpHead + sdpVP8 + sdpOpus, false, true},
	{"audio only", sdpHead + sdpOpus, false, true},
	{"not SDP", notAnSDP, false, true},
	{"empty", "", false, true},
}

func TestCheckOffer(t *testing.T) {
	for _, tt := range offerTests {
		audio, err := checkOffer(tt.offer)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, want error %v", tt.name, err, tt.wantErr)
		}
		if err != nil && !errors.Is(err, problem.ErrInvalid) {
			t.Errorf("%s: err = %v, want an invalid-input problem", tt.name, err)
		}
		if err == nil && audio != tt.wantAudio {
			t.Errorf("%s: audio = %v, want %v", tt.name, audio, tt.wantAudio)
		}
	}
}

func FuzzCheckOffer(f *testing.F) {
	for _, tt := range offerTests {
		f.Add(tt.offer)
	}
	f.Fuzz(func(t *testing.T, offer string) {
		audio, err := checkOffer(offer)
		if err != nil && audio {
			t.Errorf("an refused offer reports audio")
		}
		if err == nil && !strings.Contains(strings.ToUpper(offer), "H264") {
			t.Errorf("accepted an offer without H264: %q", offer)
		}
	})
}

func TestTimeline(t *testing.T) {
	var c timeline
	steps := []struct {
		ts    uint32
		since time.Duration
		want  time.Duration
	}{
		{0xFFFF_FF00 - 90000, 40 * time.Millisecond, 40 * time.Millisecond}, // first packet: its arrival
		{0xFFFF_FF00, time.Hour, 1040 * time.Millisecond},                   // later: RTP time, not arrival
		{0x0000_0000 + 89744, 0, 2040 * time.Millisecond},                   // across the 32-bit wrap
		{0x0000_0000 + 89744 - 9000, 0, 1940 * time.Millisecond},            // a late (reordered) frame
	}
	for i, s := range steps {
		if got := c.pts(s.ts, s.since, 90000); got != s.want {
			t.Errorf("step %d: pts = %v, want %v", i, got, s.want)
		}
	}
	var neg timeline
	if got := neg.pts(5, -time.Second, 48000); got != 0 {
		t.Errorf("a track starting before time zero: pts = %v, want 0", got)
	}
}

func TestEncoderName(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36": "Web broadcast",
		"OBS-Studio/31.0.2":     "OBS-Studio/31.0.2",
		"":                      "",
		strings.Repeat("x", 80): strings.Repeat("x", 64),
	} {
		if got := encoderName(ua); got != want {
			t.Errorf("encoderName(%q) = %q, want %q", ua, got, want)
		}
	}
}
