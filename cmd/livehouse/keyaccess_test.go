package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// keyAccess is a running server with one signed-up streamer ("streamer"), for the tests of
// whose stream key may go live: an operator changes the account, and RTMP and WHIP are tried.
type keyAccess struct {
	t                     *testing.T
	ctx                   context.Context
	dir, base, ingest     string
	token, key, channelID string
}

// newKeyAccess starts the server (emails auto-verified, RTMP on a free port, plus the extra
// settings) and signs the streamer up. It needs ffmpeg; everything it starts stops with the
// test, and ctx bounds the test's own work at 90 s.
func newKeyAccess(t *testing.T, extra map[string]string) *keyAccess {
	t.Helper()
	needTool(t, "ffmpeg")
	e := &keyAccess{t: t, dir: t.TempDir()}
	rtmpAddr := freePort(t)
	vars := map[string]string{"LIVEHOUSE_DATA_DIR": e.dir, "LIVEHOUSE_AUTO_VERIFY": "true", "LIVEHOUSE_LOG_LEVEL": "warn", "LIVEHOUSE_RTMP_ADDR": rtmpAddr}
	for k, v := range extra {
		vars[k] = v
	}
	base, stop := startServer(t, vars)
	t.Cleanup(func() { stop() })
	rtmpAddr = vars["LIVEHOUSE_RTMP_ADDR"] // startServer replaces a port taken meanwhile
	e.base = base
	e.token, e.key, e.channelID, _ = signUpStreamer(t, base)
	e.ingest = "rtmp://" + rtmpAddr + "/live/" + e.key
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	e.ctx = ctx
	return e
}

// operator runs `livehouse user <args>` against the server's data directory, as an operator
// would beside the running server, and returns what it printed.
func (e *keyAccess) operator(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	err := run(e.ctx, append([]string{"livehouse", "user"}, args...), envFunc(map[string]string{"LIVEHOUSE_DATA_DIR": e.dir, "LIVEHOUSE_LOG_LEVEL": "error"}), strings.NewReader(""), &out, &errOut)
	return out.String() + errOut.String(), err
}

// refusedOverRTMP is true if a 2 s publish with the key fails (the server refuses it); it
// returns what ffmpeg said.
func (e *keyAccess) refusedOverRTMP() (bool, string) {
	out, err := publish(e.ctx, e.ingest, "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac").CombinedOutput()
	return err != nil, string(out)
}

// whipWithKey offers an audio-only WHIP session with the key, and returns the status and the
// error code of the answer.
func (e *keyAccess) whipWithKey() (status int, code string) {
	e.t.Helper()
	offer := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\na=sendonly\r\n"
	req, _ := http.NewRequestWithContext(e.ctx, "POST", e.base+"/api/whip", strings.NewReader(offer))
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+e.key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var refusal struct {
		Error struct{ Code string }
	}
	json.NewDecoder(res.Body).Decode(&refusal)
	return res.StatusCode, refusal.Error.Code
}

// liveChannels lists the usernames the directory shows live.
func (e *keyAccess) liveChannels() []string {
	var listed struct{ Channels []struct{ Username string } }
	getJSON(e.t, e.base+"/api/channels?live=true", &listed)
	var names []string
	for _, c := range listed.Channels {
		names = append(names, c.Username)
	}
	return names
}

// goLive starts publishing with the key until the test ends, and returns ffmpeg's exit.
func (e *keyAccess) goLive() <-chan error {
	e.t.Helper()
	pub := publish(e.ctx, e.ingest)
	if err := pub.Start(); err != nil {
		e.t.Fatal(err)
	}
	exited, done := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(done)
		exited <- pub.Wait()
	}()
	e.t.Cleanup(func() { pub.Process.Kill(); <-done })
	return exited
}
