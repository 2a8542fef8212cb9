package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	_ "image/jpeg"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStandardSessionRecordsTheLadder: a STANDARD channel's session published over RTMP has a
// live thumbnail while it runs (a JPEG that decodes, 640 wide at most); once it ends, its
// recording's VOD multivariant playlist lists the source and the transcoder's rung, each a
// complete VOD playlist that ffprobe reads as H.264 at its resolution, with the source's AAC.
func TestStandardSessionRecordsTheLadder(t *testing.T) {
	t.Parallel()
	needTool(t, "ffmpeg")
	needTool(t, "ffprobe")
	vars := map[string]string{"LIVEHOUSE_DATA_DIR": t.TempDir(), "LIVEHOUSE_AUTO_VERIFY": "true", "LIVEHOUSE_LOG_LEVEL": "warn",
		"LIVEHOUSE_RTMP_ADDR": freePort(t), "LIVEHOUSE_CHANNEL_TYPE": "STANDARD", "LIVEHOUSE_RECONNECT_GRACE_SECONDS": "0"}
	base, stop := startServer(t, vars)
	defer stop()
	_, key, _, _ := signUpStreamer(t, base)

	const seconds = 16
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pub := publish(ctx, "rtmp://"+vars["LIVEHOUSE_RTMP_ADDR"]+"/live/"+key, "-t", strconv.Itoa(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
		"-g", "60", "-b:v", "600k", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k")
	var out bytes.Buffer
	pub.Stdout, pub.Stderr = &out, &out
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	published := make(chan error, 1)
	go func() { published <- pub.Wait() }()

	// The live thumbnail, while the session runs.
	var thumb string
	waitFor(t, 60*time.Second, "the live thumbnail", func() bool {
		var status int
		status, thumb = get(t, base+"/api/channels/streamer/thumbnail.jpg")
		return status == 200
	})
	img, format, err := image.Decode(strings.NewReader(thumb))
	if err != nil || format != "jpeg" {
		t.Fatalf("the live thumbnail (%d bytes) does not decode as a JPEG: %v", len(thumb), err)
	}
	if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 360 {
		t.Errorf("live thumbnail %dx%d, want 640x360 (the source's size)", b.Dx(), b.Dy())
	}
	if err := <-published; err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out.String())
	}

	var list videoList
	waitFor(t, 90*time.Second, "the recording to be listed", func() bool {
		getJSON(t, base+"/api/channels/streamer/videos", &list)
		return len(list.Videos) == 1
	})
	v := list.Videos[0]
	status, index := get(t, base+v.PlaybackURL)
	if status != 200 {
		t.Fatalf("GET %s = %d", v.PlaybackURL, status)
	}
	variants := regexp.MustCompile(`(?m)^#EXT-X-STREAM-INF:.*RESOLUTION=(\d+)x(\d+).*\n(.+)$`).FindAllStringSubmatch(index, -1)
	if len(variants) < 2 {
		t.Fatalf("the VOD multivariant lists %d variants, want the source and its rung:\n%s", len(variants), index)
	}
	dir := strings.TrimSuffix(v.PlaybackURL, "index.m3u8")
	for _, m := range variants {
		_, media := get(t, base+dir+m[3])
		for _, want := range []string{"#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-ENDLIST", "#EXT-X-MAP:"} {
			if !strings.Contains(media, want) {
				t.Errorf("%s lacks %s:\n%s", m[3], want, media)
			}
		}
		probe, err := ffprobe(ctx, base+dir+m[3], "-v", "error", "-count_frames", "-select_streams", "v:0",
			"-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "compact=p=0").CombinedOutput()
		if err != nil {
			t.Fatalf("ffprobe %s: %v\n%s", m[3], err, probe)
		}
		if want := "codec_name=h264|width=" + m[1] + "|height=" + m[2] + "|nb_read_frames="; !strings.Contains(string(probe), want) {
			t.Errorf("ffprobe %s = %q, want %q…", m[3], probe, want)
		}
		n := 0
		if frames := regexp.MustCompile(`nb_read_frames=(\d+)`).FindStringSubmatch(string(probe)); frames != nil {
			n, _ = strconv.Atoi(frames[1])
		}
		if n < (seconds-8)*30 {
			t.Errorf("ffprobe %s decoded %d frames, want most of %d s", m[3], n, seconds)
		}
	}
	// Each variant with the source's audio: ffprobe of the whole recording finds H.264 and AAC.
	if d := ffprobeDuration(t, base+v.PlaybackURL); d < seconds-4 || d > seconds+1 {
		t.Errorf("ffprobe reads %.2f s, want about %d", d, seconds)
	}
	variantsHaveSound(t, base+v.PlaybackURL, len(variants))
}

// variantsHaveSound checks, with ffprobe, that each of the want variants of a VOD
// multivariant playlist (an HLS program each) plays H.264 video with AAC audio: a player
// that switches to a rung keeps its sound.
func variantsHaveSound(t *testing.T, url string, want int) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "program=program_id:program_tags=variant_bitrate:program_stream=codec_type,codec_name,height",
		"-of", "json", url).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", url, err, out)
	}
	var probe struct {
		Programs []struct {
			ProgramID int `json:"program_id"`
			Streams   []struct {
				CodecType string `json:"codec_type"`
				CodecName string `json:"codec_name"`
				Height    int
			}
		}
	}
	if err := json.Unmarshal(out, &probe); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	if len(probe.Programs) != want {
		t.Fatalf("ffprobe finds %d programs (variants) in %s, want %d:\n%s", len(probe.Programs), url, want, out)
	}
	for _, p := range probe.Programs {
		var kinds []string
		for _, s := range p.Streams {
			kinds = append(kinds, s.CodecType+":"+s.CodecName)
		}
		slices.Sort(kinds)
		if got, want := kinds, []string{"audio:aac", "video:h264"}; !slices.Equal(got, want) {
			t.Errorf("variant %d plays %v, want %v", p.ProgramID, got, want)
		}
	}
}
