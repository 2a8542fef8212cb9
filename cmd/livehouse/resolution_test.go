package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"

	"github.com/livehouse/livehouse/internal/media/rtmp/rtmptest"
)

var mapRE = regexp.MustCompile(`#EXT-X-MAP:URI="([^"]+)"`)

// initSize reads the picture size from an init section.
func initSize(t *testing.T, base, name string) (int, int) {
	t.Helper()
	status, body := get(t, base+name)
	if status != 200 {
		t.Fatalf("GET %s: %d", name, status)
	}
	var in fmp4.Init
	if err := in.Unmarshal(strings.NewReader(body)); err != nil || len(in.Tracks) != 1 {
		t.Fatalf("%s: %v", name, err)
	}
	c, ok := in.Tracks[0].Codec.(*codecs.H264)
	if !ok {
		t.Fatalf("%s: not H.264", name)
	}
	var s h264.SPS
	if err := s.Unmarshal(c.SPS); err != nil {
		t.Fatal(err)
	}
	return s.Width(), s.Height()
}

// TestResolutionChange: an RTMP publisher that changes resolution mid-stream on the same
// connection (a new AVC sequence header, as OBS sends when its canvas changes; see
// rtmptest for why not ffmpeg) to a STANDARD channel. The source playlist marks the change
// with EXT-X-DISCONTINUITY and a new EXT-X-MAP whose init section has the new size; the
// transcoder's 160p rung keeps making segments across it; every playlist fetched passes the
// validator.
func TestResolutionChange(t *testing.T) {
	t.Parallel()
	needTool(t, "ffmpeg")
	dir := t.TempDir()
	rtmpAddr := freePort(t)
	srv := map[string]string{"LIVEHOUSE_DATA_DIR": dir, "LIVEHOUSE_AUTO_VERIFY": "true", "LIVEHOUSE_LOG_LEVEL": "warn",
		"LIVEHOUSE_RTMP_ADDR": rtmpAddr, "LIVEHOUSE_CHANNEL_TYPE": "STANDARD"}
	base, stop := startServer(t, srv)
	rtmpAddr = srv["LIVEHOUSE_RTMP_ADDR"]
	defer stop()
	_, key, channelID, _ := signUpStreamer(t, base)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	var clips []*rtmptest.Clip
	for _, size := range [][2]int{{640, 360}, {1280, 720}} {
		c, err := rtmptest.Encode(ctx, size[0], size[1], 6*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		clips = append(clips, c)
	}
	published := make(chan error, 1)
	go func() { published <- rtmptest.Publish(ctx, "rtmp://"+rtmpAddr+"/live/"+key, clips, 120*time.Second) }()
	defer func() { cancel(); <-published }()

	hlsBase := base + "/hls/" + channelID + "/"
	sizes := map[[2]int]bool{}
	waitFor(t, 90*time.Second, "a discontinuity with a new init section of each size in the source playlist", func() bool {
		status, pl := get(t, hlsBase+"video1_stream.m3u8")
		if status != 200 || !strings.Contains(pl, "#EXT-X-DISCONTINUITY\n") {
			return false
		}
		for _, m := range mapRE.FindAllStringSubmatch(pl, -1) {
			w, h := initSize(t, hlsBase, m[1])
			sizes[[2]int{w, h}] = true
		}
		return sizes[[2]int{640, 360}] && sizes[[2]int{1280, 720}]
	})
	// The ladder goes on across the change: the rung makes new segments after it.
	_, before := get(t, hlsBase+"160p/video1_stream.m3u8")
	seen := map[string]bool{}
	for _, s := range segmentsOf(before) {
		seen[s] = true
	}
	waitFor(t, 60*time.Second, "two more 160p segments, past a resolution change", func() bool {
		_, pl := get(t, hlsBase+"160p/video1_stream.m3u8")
		n := 0
		for _, s := range segmentsOf(pl) {
			if !seen[s] {
				n++
			}
		}
		return n >= 4
	})
	select {
	case err := <-published:
		t.Fatalf("the publisher stopped: %v", err)
	default:
	}
}
