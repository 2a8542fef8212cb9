package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/storage"
	"github.com/livehouse/livehouse/internal/storage/s3test"
	"github.com/livehouse/livehouse/internal/store/sqlite"
)

type videoList struct {
	Videos []struct {
		ID              string
		DurationSeconds float64
		PlaybackURL     string
		PosterURL       string
		Hidden          bool
	}
}

// ffprobeDuration is the duration ffprobe reads from a playlist URL, in seconds.
func ffprobeDuration(t *testing.T, url string) float64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_type,codec_name,width,height", "-of", "json", url).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", url, err, out)
	}
	var probe struct {
		Format  struct{ Duration string }
		Streams []struct {
			CodecType string `json:"codec_type"`
			CodecName string `json:"codec_name"`
			Width     int
		}
	}
	if err := json.Unmarshal(out, &probe); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	var kinds []string
	for _, s := range probe.Streams {
		kinds = append(kinds, s.CodecType+":"+s.CodecName)
	}
	slices.Sort(kinds)
	if !slices.Contains(kinds, "video:h264") || !slices.Contains(kinds, "audio:aac") {
		t.Errorf("ffprobe streams = %v, want h264 video and aac audio", kinds)
	}
	d, _ := strconv.ParseFloat(probe.Format.Duration, 64)
	return d
}

// TestRecordingToS3: a session published over RTMP is recorded into an S3 bucket (a gofakes3
// process); once it ends it is listed with its duration, its VOD playlists are complete,
// ffprobe reads it over HTTP as long as the session, its events include Recording Start and
// End, and deleting it removes its media from the bucket.
func TestRecordingToS3(t *testing.T) {
	t.Parallel()
	needTool(t, "ffmpeg")
	needTool(t, "ffprobe")
	endpoint := s3test.Start(t)
	dir := t.TempDir()
	vars := map[string]string{"LIVEHOUSE_DATA_DIR": dir, "LIVEHOUSE_AUTO_VERIFY": "true", "LIVEHOUSE_LOG_LEVEL": "warn", "LIVEHOUSE_RTMP_ADDR": freePort(t),
		"LIVEHOUSE_STORAGE_ENDPOINT": endpoint, "LIVEHOUSE_STORAGE_BUCKET": s3test.Bucket, "LIVEHOUSE_STORAGE_REGION": "us-east-1",
		"LIVEHOUSE_STORAGE_ACCESS_KEY": "test", "LIVEHOUSE_STORAGE_SECRET_KEY": "testsecret", "LIVEHOUSE_STORAGE_PATH_STYLE": "true"}
	base, stop := startServer(t, vars)
	defer stop()
	token, key, _, _ := signUpStreamer(t, base)

	const seconds = 20
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// A keyframe every 2 s, as encoders are told to send.
	pub := publish(ctx, "rtmp://"+vars["LIVEHOUSE_RTMP_ADDR"]+"/live/"+key, "-t", strconv.Itoa(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
		"-g", "60", "-b:v", "600k", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k")
	if out, err := pub.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}

	var list videoList
	waitFor(t, 60*time.Second, "the recording to be listed", func() bool {
		getJSON(t, base+"/api/channels/streamer/videos", &list)
		return len(list.Videos) == 1
	})
	v := list.Videos[0]
	// Within 4 s of the session (the encoder's first and last frames).
	if v.DurationSeconds < seconds-4 || v.DurationSeconds > seconds+1 {
		t.Errorf("recording lasts %.2f s, want about %d", v.DurationSeconds, seconds)
	}
	status, index := get(t, base+v.PlaybackURL)
	if status != 200 || !strings.Contains(index, "#EXT-X-STREAM-INF:") {
		t.Fatalf("GET %s = %d:\n%s", v.PlaybackURL, status, index)
	}
	_, media := get(t, base+strings.TrimSuffix(v.PlaybackURL, "index.m3u8")+"video1.m3u8")
	for _, want := range []string{"#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-ENDLIST", "#EXT-X-MAP:"} {
		if !strings.Contains(media, want) {
			t.Errorf("video playlist lacks %s:\n%s", want, media)
		}
	}
	if d := ffprobeDuration(t, base+v.PlaybackURL); d < seconds-4 || d > seconds+1 {
		t.Errorf("ffprobe reads %.2f s, want about %d", d, seconds)
	}
	if events := recorderEvents(t, filepath.Join(dir, "livehouse.db"), v.ID); !slices.Equal(events, []string{"Recording Start", "Recording End"}) {
		t.Errorf("recording events = %v, want Recording Start, Recording End", events)
	}
	// Its poster: the first frame as a JPEG.
	if v.PosterURL == "" {
		t.Error("the recording has no poster")
	} else if status, body := get(t, base+v.PosterURL); status != 200 || !strings.HasPrefix(body, "\xff\xd8") {
		t.Errorf("GET %s = %d, %d bytes; want a JPEG", v.PosterURL, status, len(body))
	}
	if n := metric(t, base, "livehouse_recording_bytes_total"); n <= 0 {
		t.Errorf("livehouse_recording_bytes_total = %v", n)
	}

	bucket, err := storage.NewS3(storage.S3Config{Endpoint: endpoint, Bucket: s3test.Bucket, Region: "us-east-1", AccessKey: "test", SecretKey: "testsecret", PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := bucket.List(ctx, "recordings/", "", 1000)
	if err != nil || len(objs) < seconds/4 {
		t.Fatalf("objects in the bucket: %d, %v", len(objs), err)
	}
	if status, _ := send(t, "DELETE", base+"/api/videos/"+v.ID, token, nil); status != 204 {
		t.Fatalf("DELETE = %d", status)
	}
	if objs, err := bucket.List(ctx, "recordings/", "", 1000); err != nil || len(objs) != 0 {
		t.Errorf("left in the bucket after delete: %d objects, %v", len(objs), err)
	}
	if status, _ := get(t, base+v.PlaybackURL); status != 404 {
		t.Errorf("GET the deleted recording's playlist = %d, want 404", status)
	}
}

// TestRecordingSurvivesACrash: a server killed (SIGKILL) mid-session of a STANDARD channel
// leaves what it had stored; started again, it ends the session and finishes the recording
// from the stored segments, which then plays, with every variant recorded (the source and
// its rung) listed, each with the source's sound.
func TestRecordingSurvivesACrash(t *testing.T) {
	t.Parallel()
	needTool(t, "ffmpeg")
	needTool(t, "ffprobe")
	bin := filepath.Join(t.TempDir(), "livehouse")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	vars := map[string]string{"LIVEHOUSE_DATA_DIR": dir, "LIVEHOUSE_AUTO_VERIFY": "true", "LIVEHOUSE_LOG_LEVEL": "warn", "LIVEHOUSE_NODE_NAME": "crashy",
		"LIVEHOUSE_RTMP_ADDR": freePort(t), "LIVEHOUSE_HTTP_ADDR": freePort(t), "LIVEHOUSE_WEBRTC_ADDR": "127.0.0.1:0", "LIVEHOUSE_SECRET_KEY": testSecret,
		// Never the fixed ports (:1936, :9000): tests run side by side.
		"LIVEHOUSE_RTMPS_ADDR": "127.0.0.1:0", "LIVEHOUSE_SRT_ADDR": "127.0.0.1:0", "LIVEHOUSE_RECONNECT_GRACE_SECONDS": "0",
		"LIVEHOUSE_CHANNEL_TYPE": "STANDARD"}
	srv := exec.Command(bin, "serve")
	srv.Env = []string{"PATH=" + os.Getenv("PATH")} // the transcoder's ffmpeg
	for k, v := range vars {
		srv.Env = append(srv.Env, k+"="+v)
	}
	var logs syncBuffer
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			_ = srv.Process.Kill()
			_ = srv.Wait()
		}
	}()
	base := "http://" + vars["LIVEHOUSE_HTTP_ADDR"]
	waitFor(t, 60*time.Second, "the server to start", func() bool {
		status, _ := getQuiet(base + "/healthz")
		return status == 200
	})
	_, key, _, _ := signUpStreamer(t, base)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pub := publish(ctx, "rtmp://"+vars["LIVEHOUSE_RTMP_ADDR"]+"/live/"+key, "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
		"-g", "60", "-b:v", "600k", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k")
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Process.Kill(); _ = pub.Wait() }()
	folder, err := storage.NewFolder(filepath.Join(dir, "recordings"))
	if err != nil {
		t.Fatal(err)
	}
	// Two video objects stored and two of the rung's, then the crash. Two objects are 4 to
	// 12 s: the recorder joins three live segments into one, but a discontinuity starts a new
	// object, and a STANDARD stream's first segments each follow one (seen: msn 1 and 2).
	// What must survive is what was stored, by the objects' own names.
	var stored []string // the source's video objects
	waitFor(t, 90*time.Second, "two stored video objects and two of the rung", func() bool {
		objs, _ := folder.List(ctx, "recordings/", "", 1000)
		source, rung := 0, 0
		for _, o := range objs {
			switch {
			case !strings.HasSuffix(o.Key, ".m4s"):
			case strings.Contains(o.Key, "/video1/"):
				source++
			case !strings.Contains(o.Key, "/audio2/"):
				rung++
			}
		}
		return source >= 2 && rung >= 2
	})
	if err := srv.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = srv.Wait()
	killed = true
	_ = pub.Process.Kill()
	objs, _ := folder.List(ctx, "recordings/", "", 1000)
	storedSecs := 0.0 // what the source's objects hold, by their names (start_duration_timescale)
	for _, o := range objs {
		if strings.Contains(o.Key, "/video1/") && strings.HasSuffix(o.Key, ".m4s") {
			stored = append(stored, o.Key[strings.LastIndex(o.Key, "/")+1:])
			f := strings.Split(strings.TrimSuffix(o.Key[strings.LastIndex(o.Key, "/")+1:], ".m4s"), "_")
			if len(f) >= 4 {
				dur, _ := strconv.ParseFloat(f[2], 64)
				scale, _ := strconv.ParseFloat(f[3], 64)
				if scale > 0 {
					storedSecs += dur / scale
				}
			}
		}
	}
	t.Logf("the source's objects stored before the crash: %v (%.2f s)", stored, storedSecs)
	if storedSecs < 3.9 {
		t.Fatalf("the source's objects stored before the crash hold %.2f s: %v", storedSecs, stored)
	}

	vars["LIVEHOUSE_RTMP_ADDR"] = freePort(t)
	base, stop := startServer(t, vars)
	defer stop()
	var list videoList
	waitFor(t, 60*time.Second, "the crashed session's recording to be finished", func() bool {
		getJSON(t, base+"/api/channels/streamer/videos", &list)
		return len(list.Videos) == 1
	})
	if d := list.Videos[0].DurationSeconds; d < storedSecs-0.1 {
		t.Errorf("the recording lasts %.2f s, want the %.2f s stored before the crash (objects %v)", d, storedSecs, stored)
	}
	if d := ffprobeDuration(t, base+list.Videos[0].PlaybackURL); d < storedSecs-0.1 {
		t.Errorf("ffprobe reads %.2f s, want the %.2f s stored (objects %v)", d, storedSecs, stored)
	}
	_, index := get(t, base+list.Videos[0].PlaybackURL)
	if n := strings.Count(index, "#EXT-X-STREAM-INF:"); n != 2 {
		t.Errorf("the crashed recording's multivariant lists %d variants, want the source and its rung:\n%s", n, index)
	}
	variantsHaveSound(t, base+list.Videos[0].PlaybackURL, 2)
	if events := recorderEvents(t, filepath.Join(dir, "livehouse.db"), list.Videos[0].ID); !slices.Equal(events, []string{"Recording Start", "Recording End"}) {
		t.Errorf("recording events = %v, want Recording Start, then the restart's Recording End", events)
	}
}

// recorderEvents lists the names of a session's recording events.
func recorderEvents(t *testing.T, path, sessionID string) []string {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := s.StreamEvents(context.Background(), sessionID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		if e.Type == recordingEventType {
			out = append(out, e.Name)
		}
	}
	return out
}

// getQuiet is GET without failing the test on a connection error (a server starting).
func getQuiet(url string) (int, error) {
	res, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}
