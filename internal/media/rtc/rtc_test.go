package rtc

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/livehouse/livehouse/internal/media/rtc/rtctest"
)

// client is a Pion peer with Pion's default codecs (VP8, VP9, H.264 in both packetization
// modes, AV1, Opus…), sending video and audio, as a browser or OBS would offer.
func client(t *testing.T) (*webrtc.PeerConnection, *webrtc.TrackLocalStaticSample) {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTransceiverFromTrack(video, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	return pc, video
}

// connect has server answer client's offer, both with their candidates complete.
func connect(t *testing.T, client, server *webrtc.PeerConnection) *sdp.SessionDescription {
	t.Helper()
	offer, err := client.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(client)
	if err := client.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	if err := server.SetRemoteDescription(*client.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	answer, err := server.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered = webrtc.GatheringCompletePromise(server)
	if err := server.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	if err := client.SetRemoteDescription(*server.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	parsed, err := server.LocalDescription().Unmarshal()
	if err != nil {
		t.Fatal(err)
	}
	return parsed
}

// codecs lists each media section's rtpmap encodings with their fmtp lines.
func codecs(d *sdp.SessionDescription) map[string][]string {
	out := map[string][]string{}
	for _, m := range d.MediaDescriptions {
		for _, f := range m.MediaName.Formats {
			pt := 0
			for _, c := range f {
				pt = pt*10 + int(c-'0')
			}
			c, err := d.GetCodecForPayloadType(uint8(pt))
			if err != nil {
				continue
			}
			out[m.MediaName.Media] = append(out[m.MediaName.Media], c.Name+" "+c.Fmtp)
		}
	}
	return out
}

// The answer takes H.264 in packetization mode 1 only, of the profiles listed, and Opus;
// nothing else a sender offers (VP8, mode 0, …).
func TestAnswerCodecs(t *testing.T) {
	server, err := NewPeerConnection(Config{Engine: rtctest.LoopbackEngine(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	c, _ := client(t)
	got := codecs(connect(t, c, server))
	if len(got["video"]) == 0 {
		t.Fatalf("the answer has no video codec: %v", got)
	}
	for _, v := range got["video"] {
		name, fmtp, _ := strings.Cut(v, " ")
		profile := fmtp[strings.Index(fmtp, "profile-level-id=")+len("profile-level-id="):][:6]
		if !strings.EqualFold(name, "H264") || !strings.Contains(fmtp, "packetization-mode=1") || !slices.Contains(H264Profiles, profile) {
			t.Errorf("video codec %q in the answer, want H.264 packetization mode 1 of %v", v, H264Profiles)
		}
	}
	if want := []string{"opus minptime=10;useinbandfec=1"}; !slices.Equal(got["audio"], want) {
		t.Errorf("audio codecs %v, want %v", got["audio"], want)
	}
}

func TestSTUNServers(t *testing.T) {
	for _, tc := range []struct {
		stun []string
		want int
	}{{nil, 0}, {[]string{"stun:stun.example.net:3478"}, 1}} {
		pc, err := NewPeerConnection(Config{Engine: rtctest.LoopbackEngine(t), STUNServers: tc.stun})
		if err != nil {
			t.Fatal(err)
		}
		got := pc.GetConfiguration().ICEServers
		_ = pc.Close()
		if len(got) != tc.want || (tc.want == 1 && !slices.Equal(got[0].URLs, tc.stun)) {
			t.Errorf("STUN %v: ICE servers %+v", tc.stun, got)
		}
	}
}

// With a KeyframeInterval, the receiving side keeps asking the sender for keyframes (PLI).
func TestKeyframeRequests(t *testing.T) {
	server, err := NewPeerConnection(Config{Engine: rtctest.LoopbackEngine(t), KeyframeInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	server.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
		}
	})
	c, video := client(t)
	connect(t, c, server)
	var sender *webrtc.RTPSender
	for _, s := range c.GetSenders() {
		if s.Track() == video {
			sender = s
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() { // a picture every 10 ms until the test ends, so the receiver has a stream to ask about
		idr := []byte{0, 0, 0, 1, 0x67, 0x42, 0xe0, 0x1f, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80, 0, 0, 0, 1, 0x65, 0x88, 0x84}
		for ctx.Err() == nil {
			_ = video.WriteSample(media.Sample{Data: idr, Duration: 10 * time.Millisecond})
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond): // the sender's frame pacing
			}
		}
	}()
	dl, _ := ctx.Deadline()
	_ = sender.SetReadDeadline(dl)
	plis := 0
	buf := make([]byte, 1500)
	for plis < 3 {
		n, _, err := sender.Read(buf)
		if err != nil {
			t.Fatalf("after %d keyframe requests: %v", plis, err)
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, p := range pkts {
			if _, ok := p.(*rtcp.PictureLossIndication); ok {
				plis++
			}
		}
	}
}
