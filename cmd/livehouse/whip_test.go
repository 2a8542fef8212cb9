package main

import (
	"context"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/media/whip/whiptest"
)

// TestLiveWHIPToHLS publishes H.264 + Opus from a Pion client over WHIP and checks the whole
// path: refusals, the LL-HLS output read by ffprobe with both tracks (Opus transcoded to AAC,
// or passed through), one publisher per channel, DELETE ending the session, and the
// session's events.
func TestLiveWHIPToHLS(t *testing.T) {
	t.Parallel()
	needTool(t, "ffmpeg")
	needTool(t, "ffprobe")
	for _, tt := range []struct{ audio, codec, probe string }{
		{"aac", "mp4a.40.2", "codec_name=aac|sample_rate=48000"},
		{"opus", "opus", "codec_name=opus|sample_rate=48000"},
	} {
		t.Run(tt.audio, func(t *testing.T) { testWHIPToHLS(t, tt.audio, tt.codec, tt.probe) })
	}
}

func testWHIPToHLS(t *testing.T, audio, codec, probe string) {
	dir := t.TempDir()
	base, stop := startServer(t, map[string]string{"LIVEHOUSE_DATA_DIR": dir, "LIVEHOUSE_AUTO_VERIFY": "true", "LIVEHOUSE_LOG_LEVEL": "warn",
		"LIVEHOUSE_RTMP_ADDR": freePort(t), "LIVEHOUSE_WEBRTC_HLS_AUDIO": audio})
	defer stop()
	_, key, channelID, _ := signUpStreamer(t, base)
	endpoint := base + "/api/whip"
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// Bad input is refused and changes nothing.
	sdpPost := func(key, ctype, body string) int {
		req, _ := http.NewRequestWithContext(ctx, "POST", endpoint, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	audioOnly := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\na=sendonly\r\n"
	for _, tt := range []struct {
		name, key, ctype, body string
		want                   int
	}{
		{"no key", "", "application/sdp", audioOnly, 401},
		{"wrong key", "sk_wrong", "application/sdp", audioOnly, 401},
		{"not SDP", key, "application/sdp", "hello", 400},
		{"no H.264 video", key, "application/sdp", audioOnly, 400},
		{"JSON body", key, "application/json", "{}", 415},
	} {
		if got := sdpPost(tt.key, tt.ctype, tt.body); got != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.want)
		}
	}
	if _, err := whiptest.Publish(ctx, endpoint, "sk_wrong", whiptest.Options{}); !isStatus(err, 401) {
		t.Errorf("publishing with a wrong key: err = %v, want a 401", err)
	}

	pub, err := whiptest.Publish(ctx, endpoint, key, whiptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if !strings.HasPrefix(pub.Location, base+"/api/whip/") {
		t.Errorf("Location = %q", pub.Location)
	}
	var page map[string]any
	waitFor(t, 30*time.Second, "the channel to be live", func() bool {
		getJSON(t, base+"/api/channels/streamer", &page)
		return page["isLive"] == true
	})

	// One publisher per channel: a second one is refused while the first is live.
	if _, err := whiptest.Publish(ctx, endpoint, key, whiptest.Options{NoAudio: true}); !isStatus(err, 409) {
		t.Errorf("a second publisher: err = %v, want a 409", err)
	}

	waitFor(t, 30*time.Second, "a playable playlist", func() bool {
		status, body := get(t, base+"/hls/"+channelID+"/video1_stream.m3u8")
		return status == 200 && strings.Count(body, "#EXTINF") >= 1
	})
	playlist := base + "/hls/" + channelID + "/index.m3u8"
	_, multi := get(t, playlist)
	if !strings.Contains(multi, codec) || !strings.Contains(multi, "TYPE=AUDIO") {
		t.Errorf("multivariant playlist has no %s audio rendition:\n%s", codec, multi)
	}
	out, err := ffprobe(ctx, playlist, "-v", "error", "-show_entries", "stream=codec_name,width,height,sample_rate", "-of", "compact").CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, out)
	}
	for _, want := range []string{"codec_name=h264|width=640|height=360", probe} {
		if !strings.Contains(string(out), want) {
			t.Errorf("ffprobe output lacks %q:\n%s", want, out)
		}
	}
	// Both tracks decode.
	if out, err := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-headers", "Authorization: Bearer "+hlsToken(playlist)+"\r\n", "-i", playlist, "-t", "2", "-f", "null", "-").CombinedOutput(); err != nil {
		t.Errorf("decoding the HLS output: %v\n%s", err, out)
	}
	if err := pub.Err(); err != nil {
		t.Errorf("publisher: %v", err)
	}

	// DELETE needs the session's own key; then it ends the broadcast.
	req, _ := http.NewRequestWithContext(ctx, "DELETE", pub.Location, nil)
	req.Header.Set("Authorization", "Bearer sk_wrong")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 404 {
		t.Errorf("DELETE with another key: %v %v, want 404", res.StatusCode, err)
	}
	if status, err := pub.End(ctx); err != nil || status != 200 {
		t.Fatalf("DELETE: %d %v", status, err)
	}
	waitFor(t, 10*time.Second, "the channel to be offline", func() bool {
		getJSON(t, base+"/api/channels/streamer", &page)
		return page["isLive"] == false
	})
	status, final := get(t, base+"/hls/"+channelID+"/video1_stream.m3u8?_HLS_msn=999&_HLS_part=0")
	if status != 200 || !strings.HasSuffix(final, "#EXT-X-ENDLIST\n") {
		t.Errorf("media playlist after the end: %d\n%s", status, final)
	}

	// A publisher that vanishes without DELETE is noticed and its session ends.
	gone, err := whiptest.Publish(ctx, endpoint, key, whiptest.Options{NoAudio: true})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the channel to be live again", func() bool {
		getJSON(t, base+"/api/channels/streamer", &page)
		return page["isLive"] == true
	})
	gone.Close()
	waitFor(t, 30*time.Second, "the dropped publisher's session to end", func() bool {
		getJSON(t, base+"/api/channels/streamer", &page)
		return page["isLive"] == false
	})

	events := sessionEvents(t, filepath.Join(dir, "livehouse.db"), channelID)
	want := [][]string{
		{"Session Created", "Stream Start", "Stream End", "Session Ended"},
		{"Session Created", "Stream Start", "Stream End", "Session Ended"},
	}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("session events (-want +got):\n%s", diff)
	}
}

func isStatus(err error, status int) bool {
	var se *whiptest.StatusError
	return errors.As(err, &se) && se.Status == status
}
