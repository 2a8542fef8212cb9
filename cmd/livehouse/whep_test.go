package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"

	"github.com/livehouse/livehouse/internal/media/whep/wheptest"
)

// TestLiveRTMPToWHEP publishes with ffmpeg over RTMP (H.264 + AAC) and watches the channel
// over WHEP with a Pion viewer: refusals first, then an IDR with SPS and PPS arrives and
// ffmpeg decodes the depacketised H.264, Opus (transcoded from the AAC) arrives and decodes,
// the viewer counts, DELETE ends it, and the stream's end ends a viewer that stayed.
func TestLiveRTMPToWHEP(t *testing.T) {
	t.Parallel()
	needTool(t, "ffmpeg")
	dir := t.TempDir()
	srv := map[string]string{"LIVEHOUSE_DATA_DIR": dir, "LIVEHOUSE_AUTO_VERIFY": "true", "LIVEHOUSE_LOG_LEVEL": "warn", "LIVEHOUSE_RTMP_ADDR": freePort(t),
		"LIVEHOUSE_PLAYBACK_TOKEN_SECONDS": "15"} // beacons, and so ban checks, every 5 s
	base, stop := startServer(t, srv)
	defer stop()
	streamerSession, key, channelID, _ := signUpStreamer(t, base)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	endpoint := base + "/api/whep/" + channelID

	var page map[string]any
	// freshToken is a viewer's playback token as the channel page hands it out.
	freshToken := func(session string) string {
		var p map[string]any
		getAuthJSON(t, base+"/api/channels/streamer", session, &p)
		tok, _ := p["playbackToken"].(string)
		return tok
	}
	token := freshToken("")
	if token == "" {
		t.Fatal("no playback token")
	}
	// An offline channel has nothing to play.
	if _, err := wheptest.Play(ctx, endpoint, token, wheptest.Options{}); !isWHEPStatus(err, 404) {
		t.Errorf("playing an offline channel: err = %v, want a 404", err)
	}

	pub := publish(ctx, "rtmp://"+srv["LIVEHOUSE_RTMP_ADDR"]+"/live/"+key)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Process.Kill(); _ = pub.Wait() }()
	waitFor(t, 30*time.Second, "the channel to be live", func() bool {
		getJSON(t, base+"/api/channels/streamer", &page)
		return page["isLive"] == true
	})

	// Bad input is refused and makes no session.
	offerOnly := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\na=recvonly\r\n"
	for _, tt := range []struct {
		name, url, token, ctype, body string
		want                          int
	}{
		{"no token", endpoint, "", "application/sdp", offerOnly, 401},
		{"forged token", endpoint, token + "x", "application/sdp", offerOnly, 403},
		{"another channel's token", base + "/api/whep/ch-other", token, "application/sdp", offerOnly, 403},
		{"not SDP", endpoint, token, "application/sdp", "hello", 400},
		{"no H.264 video", endpoint, token, "application/sdp", offerOnly, 400},
		{"JSON body", endpoint, token, "application/json", "{}", 415},
	} {
		req, _ := http.NewRequestWithContext(ctx, "POST", tt.url, strings.NewReader(tt.body))
		req.Header.Set("Content-Type", tt.ctype)
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, res.StatusCode, tt.want)
		}
	}

	joined := time.Now()
	token = freshToken("")
	v, err := wheptest.Play(ctx, endpoint, token, wheptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if !strings.HasPrefix(v.Location, endpoint+"/") {
		t.Errorf("Location = %q", v.Location)
	}
	// The viewer starts on a keyframe that carries its parameter sets.
	waitFor(t, 30*time.Second, "a keyframe over WHEP", func() bool {
		f := v.Frames()
		return len(f) > 0
	})
	first := v.Frames()[0]
	t.Logf("first frame %v after the offer", first.Arrived.Sub(joined))
	types := map[byte]bool{}
	for _, n := range first.NALUs {
		types[n[0]&0x1f] = true
	}
	if !first.Keyframe || !types[7] || !types[8] {
		t.Errorf("the first frame has NAL unit types %v, want an IDR (5) with SPS (7) and PPS (8)", types)
	}
	waitFor(t, 30*time.Second, "2 s of video and audio", func() bool {
		return len(v.Frames()) >= 60 && len(v.Opus()) >= 100
	})
	// The viewer counts.
	getJSON(t, base+"/api/channels/streamer", &page)
	if n, _ := page["viewerCount"].(float64); n < 1 {
		t.Errorf("viewerCount = %v with a WebRTC viewer", page["viewerCount"])
	}

	// ffmpeg decodes what came: the H.264 as received, the Opus in an Ogg file.
	h264 := filepath.Join(dir, "whep.h264")
	if err := os.WriteFile(h264, wheptest.AnnexB(v.Frames()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-xerror", "-f", "h264", "-i", h264, "-f", "null", "-").CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("decoding the H.264 received over WHEP: %v\n%s", err, out)
	}
	probe, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-count_frames", "-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "compact", h264).CombinedOutput()
	if err != nil || !strings.Contains(string(probe), "codec_name=h264|width=640|height=360") {
		t.Errorf("ffprobe of the received H.264: %v\n%s", err, probe)
	}
	ogg := filepath.Join(dir, "whep.ogg")
	w, err := oggwriter.New(ogg, 48000, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range v.Opus() {
		_ = w.WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(i * 960)}, Payload: p})
	}
	_ = w.Close()
	if out, err := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-xerror", "-i", ogg, "-f", "null", "-").CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("decoding the Opus received over WHEP: %v\n%s", err, out)
	}
	if err := v.Err(); err != nil {
		t.Errorf("viewer: %v", err)
	}

	// DELETE ends the session; a second DELETE finds none.
	if status, err := v.Leave(ctx); err != nil || status != 200 {
		t.Errorf("DELETE: %d %v", status, err)
	}
	req, _ := http.NewRequestWithContext(ctx, "DELETE", v.Location, nil)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 404 {
		t.Errorf("a second DELETE: %v %v, want 404", res.StatusCode, err)
	}

	// A signed-in fan watches; banned, they are disconnected at their session's next renewal
	// and their token opens no new session.
	post(t, base+"/api/auth/register", "", map[string]string{"username": "fan1", "email": "f@example.com", "password": "Passw0rd!"})
	_, login := post(t, base+"/api/auth/login", "", map[string]string{"username": "fan1", "password": "Passw0rd!"})
	fanSession, _ := login["token"].(string)
	fanToken := freshToken(fanSession)
	fan, err := wheptest.Play(ctx, endpoint, fanToken, wheptest.Options{NoAudio: true})
	if err != nil {
		t.Fatal(err)
	}
	defer fan.Close()
	waitFor(t, 30*time.Second, "the fan's first frame", func() bool { return len(fan.Frames()) > 0 })
	if status, _ := putReq(t, base+"/api/channels/streamer/bans/fan1", streamerSession); status != 204 {
		t.Fatalf("ban: %d", status)
	}
	if _, err := wheptest.Play(ctx, endpoint, fanToken, wheptest.Options{NoAudio: true}); !isWHEPStatus(err, 403) {
		t.Errorf("the banned fan's token: err = %v, want a 403", err)
	}
	waitFor(t, 30*time.Second, "the banned fan's session to end", func() bool {
		s := fan.State().String()
		return s == "closed" || s == "failed" || s == "disconnected"
	})

	// A viewer that stays is ended with the stream.
	stay, err := wheptest.Play(ctx, endpoint, freshToken(""), wheptest.Options{NoAudio: true})
	if err != nil {
		t.Fatal(err)
	}
	defer stay.Close()
	waitFor(t, 30*time.Second, "the second viewer's first frame", func() bool { return len(stay.Frames()) > 0 })
	_ = pub.Process.Kill()
	waitFor(t, 30*time.Second, "the viewer to be disconnected when the stream ends", func() bool {
		s := stay.State().String()
		return s == "closed" || s == "failed" || s == "disconnected"
	})
}

func isWHEPStatus(err error, status int) bool {
	var se *wheptest.StatusError
	return errors.As(err, &se) && se.Status == status
}
