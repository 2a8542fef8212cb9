package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/media/llhls/validate"
	"github.com/livehouse/livehouse/internal/media/whip/whiptest"
)

// segmentsOf lists the complete segments of a media playlist (not the gaps), by URI.
func segmentsOf(playlist string) []string {
	var out []string
	lines := strings.Split(playlist, "\n")
	for i, line := range lines {
		if strings.HasPrefix(line, "#EXTINF") && i+1 < len(lines) && (i == 0 || lines[i-1] != "#EXT-X-GAP") {
			out = append(out, strings.TrimSpace(lines[i+1]))
		}
	}
	return out
}

// segmentStarts fetches a rendition's listed segments and returns the media time (90 kHz,
// fMP4 timeline) at which each begins, with whether it begins on a keyframe.
func segmentStarts(t *testing.T, base, dir string) map[uint64]bool {
	t.Helper()
	status, pl := get(t, base+dir+"video1_stream.m3u8")
	if status != 200 {
		t.Fatalf("GET %svideo1_stream.m3u8: %d", dir, status)
	}
	out := map[uint64]bool{}
	for _, seg := range segmentsOf(pl) {
		f := fetchMedia(t, base, dir+seg)
		out[f.d0] = f.sync
	}
	return out
}

// transcoderPID finds this test process's ffmpeg child that transcodes (the publisher is the
// other one).
func transcoderPID(t *testing.T) int {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		cmdline, _ := os.ReadFile(d + "/cmdline")
		if strings.Contains(string(cmdline), "force_key_frames") {
			pid, _ := strconv.Atoi(filepath.Base(d))
			return pid
		}
	}
	return 0
}

var streamInfRE = regexp.MustCompile(`#EXT-X-STREAM-INF:([^\n]*)\n([^\n]+)`)

// TestStandardChannelLadder publishes 640x360 over RTMP to a STANDARD channel: the source
// plays as the 360p rendition and one rung (160p) is transcoded by ffmpeg, listed with its
// figures, with segments starting at the same media times as the source's and stream actions
// at the same media times in both. Killing the transcoder's ffmpeg, or stalling it, does not
// end the session, and the rung comes back, still aligned.
func TestStandardChannelLadder(t *testing.T) {
	t.Parallel()
	needTool(t, "ffmpeg")
	needTool(t, "ffprobe")
	dir := t.TempDir()
	rtmpAddr := freePort(t)
	srv := map[string]string{"LIVEHOUSE_DATA_DIR": dir, "LIVEHOUSE_AUTO_VERIFY": "true", "LIVEHOUSE_LOG_LEVEL": "warn",
		"LIVEHOUSE_RTMP_ADDR": rtmpAddr, "LIVEHOUSE_CHANNEL_TYPE": "STANDARD"}
	base, stop := startServer(t, srv)
	rtmpAddr = srv["LIVEHOUSE_RTMP_ADDR"] // startServer replaces a port taken meanwhile
	defer stop()
	token, key, channelID, _ := signUpStreamer(t, base)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	pub := publish(ctx, "rtmp://"+rtmpAddr+"/live/"+key)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = pub.Wait() }()

	hlsBase := base + "/hls/" + channelID + "/"
	// The renditions report each other (EXT-X-RENDITION-REPORT), checked on every reload.
	checkerFor(t).Expect(hlsBase+"video1_stream.m3u8", validate.Options{Reports: []string{"160p/video1_stream.m3u8"}})
	checkerFor(t).Expect(hlsBase+"160p/video1_stream.m3u8", validate.Options{Reports: []string{"../video1_stream.m3u8"}})
	var variants [][]string
	waitFor(t, 40*time.Second, "two renditions in the multivariant playlist", func() bool {
		_, body := get(t, hlsBase+"index.m3u8")
		variants = streamInfRE.FindAllStringSubmatch(body, -1)
		return len(variants) == 2
	})
	type variant struct{ Resolution, FrameRate, Codecs, URI string }
	var got []variant
	for _, v := range variants {
		attrs := v[1]
		for _, name := range []string{"BANDWIDTH", "AVERAGE-BANDWIDTH"} {
			m := regexp.MustCompile(`(?:^|,)` + name + `=(\d+)`).FindStringSubmatch(attrs)
			if m == nil || m[1] == "0" {
				t.Errorf("variant %s: %s missing or zero in %s", v[2], name, attrs)
			}
		}
		field := func(name string) string {
			m := regexp.MustCompile(`(?:^|,)` + name + `=("[^"]*"|[^,]*)`).FindStringSubmatch(attrs)
			if m == nil {
				return ""
			}
			return strings.Trim(m[1], `"`)
		}
		got = append(got, variant{field("RESOLUTION"), field("FRAME-RATE"), field("CODECS"), strings.Split(v[2], "?")[0]})
	}
	want := []variant{
		{"640x360", "30.000", "avc1.42c01e,mp4a.40.2", "video1_stream.m3u8"}, // the publisher's ultrafast x264: constrained baseline,
		{"284x160", "30.000", "avc1.64000c,mp4a.40.2", "160p/video1_stream.m3u8"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("variants (-want +got):\n%s", diff)
	}

	// ffprobe reads the rung as H.264 at 284x160 with its own AAC.
	for _, c := range []struct{ file, want string }{
		{"160p/video1_stream.m3u8", "codec_name=h264|width=284|height=160"},
		{"160p/audio2_stream.m3u8", "codec_name=aac"},
	} {
		out, err := ffprobe(ctx, hlsBase+c.file, "-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "compact=p=0").CombinedOutput()
		if err != nil {
			t.Fatalf("ffprobe %s: %v\n%s", c.file, err, out)
		}
		if !strings.Contains(string(out), c.want) {
			t.Errorf("ffprobe %s = %q, want %q", c.file, out, c.want)
		}
	}

	// Segments of the rung start where the source's do, on keyframes.
	aligned := func(what string) {
		t.Helper()
		var src, rung map[uint64]bool
		var common []uint64
		waitFor(t, 30*time.Second, what, func() bool {
			src, rung = segmentStarts(t, hlsBase, ""), segmentStarts(t, hlsBase, "160p/")
			common = common[:0]
			for at := range rung {
				if _, ok := src[at]; ok {
					common = append(common, at)
				}
			}
			return len(common) >= 3
		})
		var lo, hi uint64 = 1 << 63, 0
		for at := range src {
			lo, hi = min(lo, at), max(hi, at)
		}
		for at, key := range rung {
			if !key {
				t.Errorf("%s: a rung segment at %d starts without a keyframe", what, at)
			}
			if _, ok := src[at]; !ok && at > lo && at < hi {
				t.Errorf("%s: the rung has a segment at %d, the source none (source: %v)", what, at, slices.Sorted(mapKeys(src)))
			}
		}
	}
	aligned("three aligned segments")

	// A stream action reaches every rendition at the same media time, in the same segment.
	quiz := map[string]any{"name": "quiz", "data": map[string]any{"question": "Capital of Canada?", "answers": []string{"Vancouver", "Ottawa", "Calgary"}, "correctAnswerIndex": 1, "duration": 5}}
	status, started := post(t, base+"/api/me/stream-actions", token, quiz)
	if status != 201 {
		t.Fatalf("starting a quiz: %d %v", status, started)
	}
	id := started["id"].(string)
	cueIn := func(dir string) (at, segment uint64, ok bool) {
		_, pl := get(t, hlsBase+dir+"video1_stream.m3u8")
		if !strings.Contains(pl, "#EXT-X-DATERANGE:ID=\""+id) {
			return 0, 0, false
		}
		for _, seg := range segmentsOf(pl) {
			f := fetchMedia(t, hlsBase, dir+seg)
			for _, c := range f.cues {
				if c.env.ID == id && c.env.Elapsed == 0 {
					return c.at, f.d0, true
				}
			}
		}
		return 0, 0, false
	}
	var srcAt, srcSeg, rungAt, rungSeg uint64
	waitFor(t, 30*time.Second, "the quiz in a segment of both renditions", func() bool {
		var ok1, ok2 bool
		srcAt, srcSeg, ok1 = cueIn("")
		rungAt, rungSeg, ok2 = cueIn("160p/")
		return ok1 && ok2
	})
	if srcAt != rungAt || srcSeg != rungSeg {
		t.Errorf("the quiz is at %d in the source's segment from %d, at %d in the rung's from %d", srcAt, srcSeg, rungAt, rungSeg)
	}

	// Kill the transcoder mid-stream, then stop the next one (a stall): each time the session
	// goes on, a new ffmpeg takes over and the rung comes back, aligned.
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGSTOP} {
		pid := transcoderPID(t)
		if pid == 0 {
			t.Fatal("no transcoding ffmpeg among this process's children")
		}
		_, before := get(t, hlsBase+"160p/video1_stream.m3u8")
		seen := map[string]bool{}
		for _, s := range segmentsOf(before) {
			seen[s] = true
		}
		if err := syscall.Kill(pid, sig); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "a new transcoder after "+sig.String(), func() bool {
			p := transcoderPID(t)
			return p != 0 && p != pid
		})
		waitFor(t, 40*time.Second, "three new rung segments after "+sig.String(), func() bool {
			_, pl := get(t, hlsBase+"160p/video1_stream.m3u8")
			n := 0
			for _, s := range segmentsOf(pl) {
				if !seen[s] {
					n++
				}
			}
			return n >= 3
		})
		aligned("segments after " + sig.String())
	}
	var page map[string]any
	getJSON(t, base+"/api/channels/streamer", &page)
	if page["isLive"] != true {
		t.Errorf("the channel is not live after the transcoder was killed")
	}
	events := sessionEvents(t, filepath.Join(dir, "livehouse.db"), channelID)
	if len(events) != 1 || slices.Contains(events[0], "Stream End") {
		t.Errorf("sessions and events = %v, want one session still open", events)
	}
	if n := metric(t, base, "livehouse_transcoder_restarts_total"); n != 2 {
		t.Errorf("livehouse_transcoder_restarts_total = %v, want 2", n)
	}
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestStandardWithoutTranscoder: with no ffmpeg to run, or one that fails, a STANDARD
// channel's stream plays the source alone and the session records one Stream Failure.
func TestStandardWithoutTranscoder(t *testing.T) {
	t.Parallel()
	needTool(t, "ffmpeg")
	for _, tt := range []struct{ name, ffmpeg string }{
		{"missing", "no-such-dir/ffmpeg"},
		{"failing", "/bin/false"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			program := tt.ffmpeg
			if !filepath.IsAbs(program) {
				program = filepath.Join(dir, program)
			}
			rtmpAddr := freePort(t)
			srv := map[string]string{"LIVEHOUSE_DATA_DIR": dir, "LIVEHOUSE_AUTO_VERIFY": "true", "LIVEHOUSE_LOG_LEVEL": "error",
				"LIVEHOUSE_RTMP_ADDR": rtmpAddr, "LIVEHOUSE_CHANNEL_TYPE": "STANDARD", "LIVEHOUSE_TRANSCODE_FFMPEG": program}
			base, stop := startServer(t, srv)
			rtmpAddr = srv["LIVEHOUSE_RTMP_ADDR"] // startServer replaces a port taken meanwhile
			defer stop()
			_, key, channelID, _ := signUpStreamer(t, base)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			pub := publish(ctx, "rtmp://"+rtmpAddr+"/live/"+key)
			if err := pub.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cancel(); _ = pub.Wait() }()
			var body string
			waitFor(t, 30*time.Second, "a playable multivariant playlist", func() bool {
				var status int
				status, body = get(t, base+"/hls/"+channelID+"/index.m3u8")
				return status == 200 && strings.Contains(body, "#EXT-X-STREAM-INF")
			})
			if n := strings.Count(body, "#EXT-X-STREAM-INF"); n != 1 {
				t.Errorf("%d variants, want the source alone:\n%s", n, body)
			}
			var events [][]string
			waitFor(t, 20*time.Second, "a Stream Failure event", func() bool {
				events = sessionEvents(t, filepath.Join(dir, "livehouse.db"), channelID)
				return len(events) == 1 && slices.Contains(events[0], "Stream Failure")
			})
			if tt.name == "failing" {
				// Restarted a few times by now; still one event.
				waitFor(t, 20*time.Second, "two restarts", func() bool { return metric(t, base, "livehouse_transcoder_restarts_total") >= 2 })
				events = sessionEvents(t, filepath.Join(dir, "livehouse.db"), channelID)
			}
			n := 0
			for _, e := range events[0] {
				if e == "Stream Failure" {
					n++
				}
			}
			if n != 1 || slices.Contains(events[0], "Stream End") {
				t.Errorf("events = %v, want one Stream Failure in a session still open", events)
			}
		})
	}
}

// TestStandardWHIPOpus: a WebRTC publisher's H.264 + Opus (kept as Opus in HLS) on a STANDARD
// channel gets the 160p rung too, its audio transcoded from Opus to AAC, while the source's
// variant keeps Opus.
func TestStandardWHIPOpus(t *testing.T) {
	t.Parallel()
	needTool(t, "ffmpeg")
	needTool(t, "ffprobe")
	dir := t.TempDir()
	base, stop := startServer(t, map[string]string{"LIVEHOUSE_DATA_DIR": dir, "LIVEHOUSE_AUTO_VERIFY": "true", "LIVEHOUSE_LOG_LEVEL": "warn",
		"LIVEHOUSE_RTMP_ADDR": freePort(t), "LIVEHOUSE_WEBRTC_HLS_AUDIO": "opus", "LIVEHOUSE_CHANNEL_TYPE": "STANDARD"})
	defer stop()
	_, key, channelID, _ := signUpStreamer(t, base)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	pub, err := whiptest.Publish(ctx, base+"/api/whip", key, whiptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	hlsBase := base + "/hls/" + channelID + "/"
	// The renditions report each other (EXT-X-RENDITION-REPORT), checked on every reload.
	checkerFor(t).Expect(hlsBase+"video1_stream.m3u8", validate.Options{Reports: []string{"160p/video1_stream.m3u8"}})
	checkerFor(t).Expect(hlsBase+"160p/video1_stream.m3u8", validate.Options{Reports: []string{"../video1_stream.m3u8"}})
	var variants [][]string
	waitFor(t, 45*time.Second, "two renditions in the multivariant playlist", func() bool {
		_, body := get(t, hlsBase+"index.m3u8")
		variants = streamInfRE.FindAllStringSubmatch(body, -1)
		return len(variants) == 2
	})
	for i, want := range []string{`CODECS="avc1.42c01e,opus"`, `CODECS="avc1.64000c,mp4a.40.2"`} {
		if !strings.Contains(variants[i][1], want) {
			t.Errorf("variant %d: %s, want %s", i, variants[i][1], want)
		}
	}
	out, err := ffprobe(ctx, hlsBase+"160p/audio2_stream.m3u8", "-v", "error", "-show_entries", "stream=codec_name", "-of", "compact=p=0").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "codec_name=aac") {
		t.Errorf("ffprobe of the 160p audio: %v %s, want AAC", err, out)
	}
}
