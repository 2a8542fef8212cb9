package whip

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"

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

func TestSenderClocks(t *testing.T) {
	// 2026-12-02T06:00:00.5Z as NTP: seconds since 1900, and half a second of fraction.
	at := time.Date(2026, 12, 2, 6, 0, 0, 500_000_000, time.UTC)
	ntp := uint64(at.Unix()+ntpEpochOffset)<<32 | 1<<31
	if got := ntpTime(ntp); !got.Equal(at) {
		t.Fatalf("ntpTime = %v, want %v", got, at)
	}
	var c senderClocks
	if _, ok := c.at(1, 0, 90000); ok {
		t.Errorf("a time before any report")
	}
	c.record(&rtcp.SenderReport{SSRC: 1, NTPTime: ntp, RTPTime: 0xFFFF_0000})
	c.record(&rtcp.SenderReport{SSRC: 1, NTPTime: ntp + 10<<32, RTPTime: 5}) // later reports change nothing
	for _, tt := range []struct {
		ts   uint32
		want time.Time
	}{
		{0xFFFF_0000, at},
		{90000 - 0x1_0000, at.Add(time.Second)},         // 0xFFFF0000 + 90000, across the wrap
		{0xFFFF_0000 - 45000, at.Add(-time.Second / 2)}, // before the report
	} {
		if got, ok := c.at(1, tt.ts, 90000); !ok || !got.Equal(tt.want) {
			t.Errorf("at(%#x) = %v, %v; want %v", tt.ts, got, ok, tt.want)
		}
	}
	if _, ok := c.at(2, 0, 48000); ok {
		t.Errorf("a time for a track without a report")
	}
}
