package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestSuspendLiveStreamer: an operator suspends a streamer while live. The stream ends with
// its events and an ended playlist, the channel disappears from public view, the key and the
// account's sign-in are refused; lifting the suspension restores them.
func TestSuspendLiveStreamer(t *testing.T) {
	needTool(t, "ffmpeg")
	dir := t.TempDir()
	rtmpAddr := freePort(t)
	vars := map[string]string{"LIVEHOUSE_DATA_DIR": dir, "LIVEHOUSE_AUTO_VERIFY": "true", "LIVEHOUSE_LOG_LEVEL": "warn", "LIVEHOUSE_RTMP_ADDR": rtmpAddr,
		"LIVEHOUSE_NODE_LEASE_SECONDS": "1"} // the command reaches the server through the store, at its next lease renewal
	base, stop := startServer(t, vars)
	defer stop()
	token, key, channelID, _ := signUpStreamer(t, base)
	ingest := "rtmp://" + rtmpAddr + "/live/" + key
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	operator := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, append([]string{"livehouse", "user"}, args...), envFunc(map[string]string{"LIVEHOUSE_DATA_DIR": dir, "LIVEHOUSE_LOG_LEVEL": "error"}), strings.NewReader(""), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	isLive := func() bool {
		var page map[string]any
		getJSON(t, base+"/api/channels/streamer", &page)
		return page["isLive"] == true
	}

	pub := publish(ctx, ingest)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- pub.Wait() }()
	waitFor(t, 30*time.Second, "the channel to be live", isLive)
	waitFor(t, 20*time.Second, "a playable playlist", func() bool {
		status, body := get(t, base+"/hls/"+channelID+"/video1_stream.m3u8")
		return status == 200 && strings.Contains(body, "#EXTINF")
	})

	if out, err := operator("suspend", "streamer", "--reason", "terms of service"); err != nil || !strings.Contains(out, "suspended streamer") {
		t.Fatalf("user suspend: %v\n%s", err, out)
	}
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the suspended streamer's encoder was not disconnected")
	}
	events := sessionEvents(t, filepath.Join(dir, "livehouse.db"), channelID)
	if diff := cmp.Diff([][]string{{"Session Created", "Stream Start", "Stream End", "Session Ended"}}, events); diff != "" {
		t.Errorf("session events (-want +got):\n%s", diff)
	}
	status, final := get(t, base+"/hls/"+channelID+"/video1_stream.m3u8")
	if status != 200 || !strings.HasSuffix(final, "#EXT-X-ENDLIST\n") {
		t.Errorf("media playlist after the suspension: %d\n%s", status, final)
	}

	// Out of public view.
	var unavailable struct {
		Error struct{ Code, Message string }
	}
	if status := getJSON(t, base+"/api/channels/streamer", &unavailable); status != 404 || unavailable.Error.Code != "ChannelUnavailable" {
		t.Errorf("channel page: %d %+v, want 404 ChannelUnavailable", status, unavailable)
	}
	var dir1 struct{ Channels []struct{ Username string } }
	getJSON(t, base+"/api/channels?live=true", &dir1)
	if len(dir1.Channels) != 0 {
		t.Errorf("directory lists %+v", dir1.Channels)
	}
	// The key and the account are refused.
	refused := publish(ctx, ingest, "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac")
	if out, err := refused.CombinedOutput(); err == nil {
		t.Errorf("the suspended account's key was accepted: %s", out)
	}
	offer := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\na=sendonly\r\n"
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/whip", strings.NewReader(offer))
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 403 {
		t.Errorf("WHIP with the suspended account's key: %d, want 403", res.StatusCode)
	}
	if status, _ := send(t, "GET", base+"/api/me", token, nil); status != 401 {
		t.Errorf("the suspended account's session: %d, want 401", status)
	}
	status, body := post(t, base+"/api/auth/login", "", map[string]string{"username": "streamer", "password": "Passw0rd!"})
	if e, _ := body["error"].(map[string]any); status != 403 || e["message"] != "This account is suspended." {
		t.Errorf("login while suspended: %d %v", status, body)
	}
	if out, _ := operator("list"); !strings.Contains(out, "(terms of service)") {
		t.Errorf("user list does not show the suspension:\n%s", out)
	}

	// Lifting the suspension restores sign-in, the channel and ingest.
	if out, err := operator("unsuspend", "streamer"); err != nil || !strings.Contains(out, "unsuspended streamer") {
		t.Fatalf("user unsuspend: %v\n%s", err, out)
	}
	if status, _ := post(t, base+"/api/auth/login", "", map[string]string{"username": "streamer", "password": "Passw0rd!"}); status != 200 {
		t.Errorf("login after unsuspend: %d", status)
	}
	again := publish(ctx, ingest)
	if err := again.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { again.Process.Kill(); again.Wait() }()
	waitFor(t, 30*time.Second, "the channel to be live after unsuspend", isLive)
}
