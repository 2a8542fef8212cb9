package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/store/sqlite"
)

// TestUnverifiedAccountCannotGoLive: the stream key of an account whose email is not
// verified is refused over RTMP and WHIP (403 AccountNotVerified), so its channel is never
// listed; once an operator verifies it, the same key goes live.
func TestUnverifiedAccountCannotGoLive(t *testing.T) {
	needTool(t, "ffmpeg")
	dir := t.TempDir()
	rtmpAddr := freePort(t)
	vars := map[string]string{"LIVEHOUSE_DATA_DIR": dir, "LIVEHOUSE_AUTO_VERIFY": "true", "LIVEHOUSE_LOG_LEVEL": "warn", "LIVEHOUSE_RTMP_ADDR": rtmpAddr}
	base, stop := startServer(t, vars)
	defer stop()
	_, key, _, _ := signUpStreamer(t, base) // signed up verified, to learn the key

	// The account loses its verification (as one signed up with auto_verify off would be).
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "livehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.SQL().Exec(`UPDATE users SET email_verified_at = NULL WHERE username = 'streamer'`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ingest := "rtmp://" + rtmpAddr + "/live/" + key
	refused := publish(ctx, ingest, "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac")
	if out, err := refused.CombinedOutput(); err == nil {
		t.Errorf("RTMP: the unverified account's key was accepted: %s", out)
	}
	offer := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\na=sendonly\r\n"
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/whip", strings.NewReader(offer))
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var refusal struct {
		Error struct{ Code, Message string }
	}
	json.NewDecoder(res.Body).Decode(&refusal)
	res.Body.Close()
	if res.StatusCode != 403 || refusal.Error.Code != "AccountNotVerified" {
		t.Errorf("WHIP with the unverified account's key: %d %+v, want 403 AccountNotVerified", res.StatusCode, refusal.Error)
	}
	var listed struct{ Channels []struct{ Username string } }
	getJSON(t, base+"/api/channels?live=true", &listed)
	if len(listed.Channels) != 0 {
		t.Errorf("directory lists %+v", listed.Channels)
	}

	// Verified by the operator, the same key goes live and is listed.
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"livehouse", "user", "verify", "streamer"}, envFunc(map[string]string{"LIVEHOUSE_DATA_DIR": dir, "LIVEHOUSE_LOG_LEVEL": "error"}), strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatalf("user verify: %v\n%s%s", err, out.String(), errOut.String())
	}
	pub := publish(ctx, ingest)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { pub.Process.Kill(); pub.Wait() }()
	waitFor(t, 30*time.Second, "the verified channel to be listed live", func() bool {
		var now struct{ Channels []struct{ Username string } }
		getJSON(t, base+"/api/channels?live=true", &now)
		return len(now.Channels) == 1 && now.Channels[0].Username == "streamer"
	})
}
