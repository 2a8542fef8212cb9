package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/livehouse/livehouse/internal/media/llhls/validate"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/store/sqlite"
)

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (make test installs it)", name)
	}
	return p
}

// publish starts ffmpeg sending a test pattern and tone to url; extra replaces the codec flags.
func publish(ctx context.Context, url string, extra ...string) *exec.Cmd {
	args := []string{"-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"}
	if len(extra) == 0 {
		extra = []string{"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-x264-params", "sliced-threads=0",
			"-g", "30", "-b:v", "800k", "-maxrate", "1000k", "-bufsize", "1000k", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k"}
	}
	args = append(append(args, extra...), "-f", "flv", url)
	return exec.CommandContext(ctx, "ffmpeg", args...)
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if v != nil {
		_ = json.NewDecoder(res.Body).Decode(v)
	}
	return res.StatusCode
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusOK {
		checkerFor(t).Playlist(url, b)
	}
	return res.StatusCode, string(b)
}

// checkers hold each test's playlist checker: every media playlist a test fetches (get,
// fetch) is checked against the LL-HLS rules, and each reload against the one before.
var checkers sync.Map // *testing.T → *validate.Checker

func checkerFor(t *testing.T) *validate.Checker {
	if c, ok := checkers.Load(t); ok {
		return c.(*validate.Checker)
	}
	c, loaded := checkers.LoadOrStore(t, validate.NewChecker(t))
	if !loaded {
		t.Cleanup(func() { checkers.Delete(t) })
	}
	return c.(*validate.Checker)
}

// waitFor polls cond every 50 ms for up to limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
}

// TestLiveRTMPToHLS publishes with ffmpeg over RTMP and checks the whole path: refusals,
// LL-HLS output read by ffprobe, a blocking reload, the directory, and the session's events.
func TestLiveRTMPToHLS(t *testing.T) {
	t.Parallel()
	needTool(t, "ffmpeg")
	needTool(t, "ffprobe")
	dir := t.TempDir()
	rtmpAddr := freePort(t)
	srv := map[string]string{"LIVEHOUSE_DATA_DIR": dir, "LIVEHOUSE_AUTO_VERIFY": "true", "LIVEHOUSE_LOG_LEVEL": "warn", "LIVEHOUSE_RTMP_ADDR": rtmpAddr}
	base, stop := startServer(t, srv)
	rtmpAddr = srv["LIVEHOUSE_RTMP_ADDR"] // startServer replaces a port taken meanwhile
	defer stop()
	token, key, channelID, ch := signUpStreamer(t, base)
	if want := "rtmp://localhost:" + rtmpAddr[strings.LastIndexByte(rtmpAddr, ':')+1:] + "/live/"; ch["rtmpUrl"] != want {
		t.Errorf("rtmpUrl = %v, want %v", ch["rtmpUrl"], want)
	}
	ingest := "rtmp://" + rtmpAddr + "/live/"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// A wrong key is refused.
	wrong := publish(ctx, ingest+"sk_wrong", "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac")
	if out, err := wrong.CombinedOutput(); err == nil {
		t.Errorf("ffmpeg with a wrong key succeeded: %s", out)
	}

	pub := publish(ctx, ingest+key)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	var page map[string]any
	waitFor(t, 20*time.Second, "the channel to be live", func() bool {
		getJSON(t, base+"/api/channels/streamer", &page)
		return page["isLive"] == true
	})
	var dir1 struct{ Channels []struct{ Username string } }
	getJSON(t, base+"/api/channels?live=true", &dir1)
	if len(dir1.Channels) != 1 || dir1.Channels[0].Username != "streamer" {
		t.Errorf("directory = %+v", dir1)
	}

	if live := metric(t, base, "livehouse_live_streams"); live != 1 {
		t.Errorf("livehouse_live_streams = %v, want 1", live)
	}
	if n := metric(t, base, "livehouse_ingest_bytes_total"); n <= 0 {
		t.Errorf("livehouse_ingest_bytes_total = %v", n)
	}
	if n := metric(t, base, "livehouse_chat_connections"); n != 0 {
		t.Errorf("livehouse_chat_connections = %v with no chat open", n)
	}

	// A second publisher on the same key is refused while the first is live.
	second := publish(ctx, ingest+key, "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac")
	if out, err := second.CombinedOutput(); err == nil {
		t.Errorf("a second publisher succeeded: %s", out)
	}

	playlist := base + "/hls/" + channelID + "/index.m3u8"
	waitFor(t, 20*time.Second, "a playable playlist", func() bool {
		status, body := get(t, base+"/hls/"+channelID+"/video1_stream.m3u8")
		return status == 200 && strings.Count(body, "#EXTINF") >= 1
	})
	out, err := ffprobe(ctx, playlist, "-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "compact").CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, out)
	}
	for _, want := range []string{"codec_name=h264|width=640|height=360", "codec_name=aac"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("ffprobe output lacks %q:\n%s", want, out)
		}
	}

	// Every HLS request needs a playback token.
	raw := &http.Client{Transport: http.DefaultTransport} // no token added
	res, err := raw.Get(playlist)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("index.m3u8 without a token: %d, Cache-Control %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
	// Each player gets a playback token from the channel page and counts as one viewer once
	// its beacon comes in (ffprobe above sent none, so it did not count).
	for i := range 2 {
		getJSON(t, base+"/api/channels/streamer", &page)
		tok, _ := page["playbackToken"].(string)
		if tok == "" || !strings.HasSuffix(page["playbackUrl"].(string), "?token="+tok) {
			t.Fatalf("channel page without a playback token: %v", page)
		}
		if status, _ := post(t, base+"/api/channels/streamer/views", "", map[string]string{"token": tok}); status != 200 {
			t.Fatalf("viewing beacon: %d", status)
		}
		getJSON(t, base+"/api/channels/streamer", &page)
		if page["viewerCount"] != float64(i+1) {
			t.Errorf("after %d players: viewerCount = %v", i+1, page["viewerCount"])
		}
		if v := metric(t, base, "livehouse_hls_viewers"); v != float64(i+1) {
			t.Errorf("after %d players: livehouse_hls_viewers = %v", i+1, v)
		}
	}

	// Blocking reload: ask for the part after the newest one; the answer lists it.
	_, media := get(t, base+"/hls/"+channelID+"/video1_stream.m3u8")
	msn, part := nextPart(t, media)
	for _, h := range []string{"#EXT-X-PROGRAM-DATE-TIME", "#EXT-X-PRELOAD-HINT:TYPE=PART", "CAN-BLOCK-RELOAD=YES", "#EXT-X-PART-INF:PART-TARGET="} {
		if !strings.Contains(media, h) {
			t.Errorf("media playlist lacks %s:\n%s", h, media)
		}
	}
	status, blocked := get(t, fmt.Sprintf("%s/hls/%s/video1_stream.m3u8?_HLS_msn=%d&_HLS_part=%d", base, channelID, msn, part))
	if status != 200 {
		t.Fatalf("blocking reload status %d", status)
	}
	if gotMSN, gotPart := nextPart(t, blocked); gotMSN*100+gotPart <= msn*100+part {
		t.Errorf("blocking reload for %d.%d returned a playlist whose next part is %d.%d:\n%s", msn, part, gotMSN, gotPart, blocked)
	}
	if status, _ := get(t, fmt.Sprintf("%s/hls/%s/video1_stream.m3u8?_HLS_msn=%d", base, channelID, msn+50)); status != 400 {
		t.Errorf("reload far in the future: status %d, want 400", status)
	}
	if status, _ := get(t, fmt.Sprintf("%s/hls/%s/video1_stream.m3u8?_HLS_part=1", base, channelID)); status != 400 {
		t.Errorf("_HLS_part without _HLS_msn: status %d, want 400", status)
	}

	// Many viewers waiting for the same part share one rendering of the playlist. The encoder
	// is paused while they come, so that none comes after the part is made (on a loaded
	// machine some would, and rightly get a later playlist); a round in which that happened
	// anyway is played again.
	const waiters = 40
	var first string
	for round := 1; ; round++ {
		if err := pub.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		_, media = get(t, base+"/hls/"+channelID+"/video1_stream.m3u8")
		msn, part = nextPart(t, media)
		rendersBefore, requestsBefore := metric(t, base, "livehouse_hls_playlist_renders_total"), metric(t, base, "livehouse_hls_playlist_requests_total")
		bodies := make(chan string, waiters)
		for range waiters {
			go func() {
				res, err := http.Get(fmt.Sprintf("%s/hls/%s/video1_stream.m3u8?_HLS_msn=%d&_HLS_part=%d&token=%s", base, channelID, msn, part+1, hlsToken("/hls/"+channelID+"/")))
				if err != nil {
					bodies <- err.Error()
					return
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				bodies <- string(b)
			}()
		}
		waitFor(t, 30*time.Second, "the waiters' requests to arrive", func() bool {
			return metric(t, base, "livehouse_hls_playlist_requests_total")-requestsBefore >= waiters
		})
		_, now := get(t, base+"/hls/"+channelID+"/video1_stream.m3u8") // one more request
		nowMSN, nowPart := nextPart(t, now)
		allWaited := nowMSN*100+nowPart <= msn*100+part+1 // the part they wait for is not made yet
		if err := pub.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		got := make([]string, waiters)
		for i := range got {
			got[i] = <-bodies
		}
		if !allWaited {
			if round == 5 {
				t.Fatalf("in 5 rounds, the %d waiters never all came before their part was made", waiters)
			}
			continue
		}
		for _, b := range got[1:] {
			if b != got[0] {
				t.Errorf("waiters got different playlists")
				break
			}
		}
		renders := metric(t, base, "livehouse_hls_playlist_renders_total") - rendersBefore
		requests := metric(t, base, "livehouse_hls_playlist_requests_total") - requestsBefore - 1
		if requests != waiters || renders > waiters/4 {
			t.Errorf("%v requests took %v renderings; want %d requests sharing a few", requests, renders, waiters)
		}
		first = got[0]
		break
	}
	if strings.Contains(first, "token") {
		t.Errorf("the shared playlist carries a viewer token:\n%s", first)
	}

	// Stopping the encoder ends the session with its events in order.
	pub.Process.Kill()
	pub.Wait()
	waitFor(t, 20*time.Second, "the channel to be offline", func() bool {
		getJSON(t, base+"/api/channels/streamer", &page)
		return page["isLive"] == false
	})
	if status, _ := get(t, playlist); status != 404 {
		t.Errorf("multivariant playlist after the end: status %d, want 404", status)
	}
	status, final := get(t, base+"/hls/"+channelID+"/video1_stream.m3u8?_HLS_msn=999&_HLS_part=0")
	if status != 200 || !strings.HasSuffix(final, "#EXT-X-ENDLIST\n") || strings.Contains(final, "PRELOAD-HINT") {
		t.Errorf("media playlist after the end: %d\n%s", status, final)
	}

	// An unsupported codec is refused, on the record.
	flv1 := publish(ctx, ingest+key, "-t", "2", "-c:v", "flv1", "-an")
	if out, err := flv1.CombinedOutput(); err == nil {
		t.Errorf("an FLV1 stream was accepted: %s", out)
	}

	// Resetting the stream key ends a live stream at once.
	again := publish(ctx, ingest+key)
	if err := again.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the channel to be live again", func() bool {
		getJSON(t, base+"/api/channels/streamer", &page)
		return page["isLive"] == true
	})
	if status, _ := post(t, base+"/api/me/stream-key/reset", token, nil); status != 200 {
		t.Fatalf("key reset: %d", status)
	}
	exited := make(chan error, 1)
	go func() { exited <- again.Wait() }()
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		t.Fatal("the encoder was not disconnected by the key reset")
	}
	getJSON(t, base+"/api/channels/streamer", &page)
	if page["isLive"] != false {
		t.Errorf("still live after the key reset")
	}

	events := sessionEvents(t, filepath.Join(dir, "livehouse.db"), channelID)
	want := [][]string{
		{"Session Created", "Stream Start", "Stream End", "Session Ended"},
		{"Session Created", "Stream End", "Session Ended"},
		{"Session Created", "Stream Start", "Stream End", "Session Ended"},
	}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("session events (-want +got):\n%s", diff)
	}
}

var mediaSeqRE = regexp.MustCompile(`#EXT-X-MEDIA-SEQUENCE:(\d+)`)

// metric reads one unlabelled counter from /metrics.
func metric(t *testing.T, base, name string) float64 {
	t.Helper()
	_, body := get(t, base+"/metrics")
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("/metrics lacks %s", name)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// nextPart returns the media sequence number and part index of the part a client would ask
// for next: the one after the newest part listed.
func nextPart(t *testing.T, playlist string) (int, int) {
	t.Helper()
	m := mediaSeqRE.FindStringSubmatch(playlist)
	if m == nil {
		t.Fatalf("no media sequence in:\n%s", playlist)
	}
	seq, _ := strconv.Atoi(m[1])
	segments, parts := 0, 0
	for _, line := range strings.Split(playlist, "\n") {
		switch {
		case strings.HasPrefix(line, "#EXTINF"), strings.HasPrefix(line, "#EXT-X-GAP"):
			if strings.HasPrefix(line, "#EXTINF") {
				segments++
				parts = 0
			}
		case strings.HasPrefix(line, "#EXT-X-PART:"):
			parts++
		case strings.HasPrefix(line, "#EXT-X-SKIP:SKIPPED-SEGMENTS="):
			// A delta update (_HLS_skip) leaves out the oldest segments and says how many.
			v, _, _ := strings.Cut(strings.TrimPrefix(line, "#EXT-X-SKIP:SKIPPED-SEGMENTS="), ",")
			n, _ := strconv.Atoi(v)
			segments += n
		}
	}
	return seq + segments, parts
}

// sessionEvents reads every session of the channel and its event names, oldest first.
// recordingEventType is the type of the recorder's events, which sessionEvents leaves out:
// whether a short session stored a segment depends on timing.
const recordingEventType = "IVS Recording State Change"

func sessionEvents(t *testing.T, path, channelID string) [][]string {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.SQL().Query(`SELECT id FROM stream_sessions WHERE channel_id = ? ORDER BY created_at`, channelID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	var out [][]string
	for _, id := range ids {
		if !regexp.MustCompile(`^st-[0-9A-Za-z]{23}$`).MatchString(id) {
			t.Errorf("session id %q is not st- and 23 characters", id)
		}
		evs, err := s.StreamEvents(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range evs {
			if e.Type != recordingEventType { // record_test.go checks those (recorderEvents)
				names = append(names, e.Name)
			}
		}
		out = append(out, names)
	}
	return out
}

// TestRestartEndsOrphanedSessions: a session a node left open (it crashed) is ended, with its
// events, when that node starts again; the channel is no longer live. The session and its
// closing events are stamped with its last sign of life, not with the restart.
func TestRestartEndsOrphanedSessions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vars := map[string]string{"LIVEHOUSE_DATA_DIR": dir, "LIVEHOUSE_AUTO_VERIFY": "true", "LIVEHOUSE_LOG_LEVEL": "error", "LIVEHOUSE_NODE_NAME": "node-a", "LIVEHOUSE_RTMP_ADDR": freePort(t)}
	base, stop := startServer(t, vars)
	post(t, base+"/api/auth/register", "", map[string]string{"username": "crashy", "email": "c@example.com", "password": "Passw0rd!"})
	var page map[string]any
	getJSON(t, base+"/api/channels/crashy", &page)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// What a crash leaves behind: an open, started session owned by this node.
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "livehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := "st-AAAAAAAAAAAAAAAAAAAAAAA"
	opened := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	lastAlive := opened.Add(20 * time.Minute) // the crashed run's last lease renewal
	for _, err := range []error{
		s.OpenStreamSession(ctx, id, page["channelId"].(string), "node-a", opened),
		s.StartStreamSession(ctx, id, opened),
		s.RenewNodeLease(ctx, "node-a", lastAlive, lastAlive.Add(15*time.Second)),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	vars["LIVEHOUSE_RTMP_ADDR"] = freePort(t)
	base, stop = startServer(t, vars)
	defer stop()
	getJSON(t, base+"/api/channels/crashy", &page)
	if page["isLive"] != false {
		t.Errorf("the channel is still live after the restart")
	}
	if diff := cmp.Diff([][]string{{"Stream End", "Session Ended"}}, sessionEvents(t, filepath.Join(dir, "livehouse.db"), page["channelId"].(string))); diff != "" {
		t.Errorf("events of the orphaned session (-want +got):\n%s", diff)
	}
	s, err = sqlite.Open(ctx, filepath.Join(dir, "livehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	info, err := s.StreamSession(ctx, id)
	if err != nil || info.EndedAt == nil || !info.EndedAt.Equal(lastAlive) {
		t.Fatalf("the session ended at %v (%v), want its last sign of life %v", info.EndedAt, err, lastAlive)
	}
	evs, err := s.StreamEvents(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if !e.At.Equal(lastAlive) {
			t.Errorf("%s is stamped %v, want the session's end %v (not the restart)", e.Name, e.At, lastAlive)
		}
	}
}
