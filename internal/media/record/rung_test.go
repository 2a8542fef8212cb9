package record

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"github.com/livehouse/livehouse/internal/media/hls"
	"github.com/livehouse/livehouse/internal/media/llhls"
	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/storage"
	"github.com/livehouse/livehouse/internal/streams"
)

// encoded is an ffmpeg clip as a stream carries it: units on a timeline from 0, with the
// video's parameter sets and the audio's configuration.
type encoded struct {
	sps, pps []byte
	aac      *mpeg4audio.AudioSpecificConfig
	units    []*stream.Unit // in presentation order across tracks
}

// encode has ffmpeg make seconds of test pattern at size (keyframes every 2 s, as a
// transcoder forced onto the source's would be), with AAC audio when audio is set.
func encode(t *testing.T, size string, seconds int, audio bool) encoded {
	t.Helper()
	args := []string{"-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=30"}
	if audio {
		args = append(args, "-f", "lavfi", "-i", "sine=sample_rate=48000", "-c:a", "aac")
	}
	args = append(args, "-t", strconv.Itoa(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", "-g", "60", "-keyint_min", "60",
		"-sc_threshold", "0", "-f", "mpegts", "-")
	ts, err := exec.Command("ffmpeg", args...).Output()
	if err != nil {
		t.Fatal(err)
	}
	r := &mpegts.Reader{R: bufio.NewReader(bytes.NewReader(ts))}
	if err := r.Initialize(); err != nil {
		t.Fatal(err)
	}
	var e encoded
	first := int64(-1)
	at := func(pts int64) time.Duration {
		if first < 0 {
			first = pts
		}
		return time.Duration(pts-first) * time.Second / 90000
	}
	for _, tr := range r.Tracks() {
		switch c := tr.Codec.(type) {
		case *tscodecs.H264:
			r.OnDataH264(tr, func(pts, _ int64, au [][]byte) error {
				for _, n := range au {
					switch h264.NALUType(n[0] & 0x1f) {
					case h264.NALUTypeSPS:
						e.sps = n
					case h264.NALUTypePPS:
						e.pps = n
					}
				}
				e.units = append(e.units, &stream.Unit{Kind: stream.Video, PTS: at(pts), Payload: au, Key: h264.IsRandomAccess(au)})
				return nil
			})
		case *tscodecs.MPEG4Audio:
			cfg := c.Config
			e.aac = &cfg
			r.OnDataMPEG4Audio(tr, func(pts int64, aus [][]byte) error {
				e.units = append(e.units, &stream.Unit{Kind: stream.Audio, PTS: at(pts), Payload: aus})
				return nil
			})
		}
	}
	for r.Read() == nil {
	}
	slices.SortStableFunc(e.units, func(a, b *stream.Unit) int { return int(a.PTS - b.PTS) })
	for _, u := range e.units {
		u.PTS = max(u.PTS, 0)
		// Arrival times as a publisher in real time gives them: the test writes the clip
		// far faster, and the packager dates its segments by them (a clock that runs away from
		// the media would begin a discontinuity, which a rung follows by resyncing).
		u.NTP = t0.Add(u.PTS)
	}
	if e.sps == nil {
		t.Fatal("ffmpeg's clip has no H.264")
	}
	return e
}

// TestRecordsTheLadder: a STANDARD session's rungs are recorded beside the source, and its
// VOD multivariant playlist lists every variant (the source and a rung, with their
// resolutions), each of which ffprobe plays to the end; finished from storage mid-session (as
// after a crash), it lists the rung too.
func TestRecordsTheLadder(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffmpeg is not installed")
	}
	src := encode(t, "1280x720", 12, true)
	rung := encode(t, "640x360", 12, false)
	dir := t.TempDir()
	media, err := storage.NewFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	recs := &fakeRecordings{}
	tracks := stream.Tracks{H264: &stream.H264{SPS: src.sps, PPS: src.pps}, AAC: src.aac}
	pk := newLivePackaging(t, tracks, hls.DefaultConfig.SegmentCount)
	pkgs := &packagings{}
	pkgs.set("ch1", pk)
	cfg := DefaultConfig
	cfg.Poll = 20 * time.Millisecond // the clip is written faster than real time: take it as it comes
	rec := newTestRecorder(cfg, recs, media, pkgs)
	stopRun := runRecorder(t, rec)
	v := streams.NewView("st-ladder", streams.Channel{ID: "ch1", UserID: "u1", Type: "STANDARD"}, stream.New(tracks))
	run := rec.Start(v)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, make(chan streams.Report, 64)) }()

	// The transcoder's rung joins the packaging on its first keyframe, as hls.Rung makes its
	// muxer; it writes each rung frame once the source has come that far. The live window (7
	// segments of 2 s) holds the whole 12 s clip, written faster than real time.
	var g *llhls.Muxer
	ri := 0
	for _, u := range src.units {
		pk.write(u)
		for ; u.Kind == stream.Video && ri < len(rung.units) && rung.units[ri].PTS <= u.PTS; ri++ {
			if g == nil {
				g = pk.addRung(t, "360p", rung.sps, rung.pps)
			}
			_ = g.WriteH264(rung.units[ri].PTS.Nanoseconds()*90000/int64(time.Second), time.Time{}, rung.units[ri].Payload)
		}
	}
	// A crash now, with the session live: a restart finishes the recording from what is
	// stored, and its multivariant lists the rung as well as the source.
	prefix := "recordings/ch1/st-ladder/"
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) { // polling storage
		objs, _ := media.List(ctx, prefix, "", 100)
		stored := func(track string) bool {
			return slices.ContainsFunc(objs, func(o storage.Object) bool {
				return strings.HasPrefix(o.Key, prefix+track+"/") && strings.HasSuffix(o.Key, ".m4s")
			})
		}
		if stored("video1") && stored("360p") {
			break
		}
		if time.Now().After(deadline) {
			var keys []string
			for _, o := range objs {
				keys = append(keys, o.Key)
			}
			segs := g.SegmentsAfter("video1", -1)
			var msns []uint64
			for _, seg := range segs {
				msns = append(msns, seg.MSN)
				seg.Release()
			}
			t.Fatalf("no segment of the source and the rung stored: %v; rung segments %v", keys, msns)
		}
	}
	if _, err := (Store{Media: media}).Finish(ctx, prefix); err != nil {
		t.Fatal(err)
	}
	if index := read(t, media, prefix+"index.m3u8"); !strings.Contains(index, "\n360p.m3u8\n") {
		t.Errorf("after a crash, the multivariant does not list the rung:\n%s", index)
	}

	cancel() // the session ends; then, in the packager's run, its packaging
	runEnded(t, done)
	pk.close()
	if err := stopRun(); err != nil {
		t.Fatal(err)
	}

	index := read(t, media, prefix+"index.m3u8")
	variants := regexp.MustCompile(`(?m)^#EXT-X-STREAM-INF:.*RESOLUTION=(\d+x\d+).*\n(.+)$`).FindAllStringSubmatch(index, -1)
	var got []string
	for _, m := range variants {
		got = append(got, m[1]+" "+m[2])
	}
	if want := []string{"1280x720 video1.m3u8", "640x360 360p.m3u8"}; !slices.Equal(got, want) {
		t.Fatalf("variants %q, want %q; index:\n%s", got, want, index)
	}
	if !strings.Contains(index, `AUDIO="audio"`) || strings.Count(index, "#EXT-X-STREAM-INF") != 2 {
		t.Errorf("every variant plays the source's audio:\n%s", index)
	}
	srcSecs := playlistSeconds(t, read(t, media, prefix+"video1.m3u8"))
	for _, tc := range []struct {
		playlist string
		size     string
	}{{"video1.m3u8", "1280,720"}, {"360p.m3u8", "640,360"}} {
		body := read(t, media, prefix+tc.playlist)
		if !strings.Contains(body, "#EXT-X-PLAYLIST-TYPE:VOD") || !strings.HasSuffix(body, "#EXT-X-ENDLIST\n") {
			t.Errorf("%s is not a complete VOD playlist:\n%s", tc.playlist, body)
		}
		if secs := playlistSeconds(t, body); secs < srcSecs-4.5 || secs > srcSecs+0.5 {
			t.Errorf("%s lasts %.2f s, the source %.2f s:\n%s", tc.playlist, secs, srcSecs, body)
		}
		// ffprobe decodes every frame of the variant.
		out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
			"-show_entries", "stream=width,height,nb_read_frames", "-of", "csv=p=0", filepath.Join(dir, filepath.FromSlash(prefix+tc.playlist))).CombinedOutput()
		if err != nil {
			t.Fatalf("ffprobe %s: %v: %s", tc.playlist, err, out)
		}
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n") // a stream may be listed again under its program
		fields := strings.Split(line, ",")
		if len(fields) != 3 || fields[0]+","+fields[1] != tc.size {
			t.Fatalf("ffprobe %s: %q, want %s and a frame count", tc.playlist, out, tc.size)
		}
		if frames, _ := strconv.Atoi(fields[2]); frames < 8*30 {
			t.Errorf("ffprobe %s read %s frames, want at least 8 s of them", tc.playlist, fields[2])
		}
	}
	// The whole multivariant: ffprobe finds both variants' video.
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_type,width,height", "-of", "csv=p=0",
		filepath.Join(dir, filepath.FromSlash(prefix+"index.m3u8"))).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe index.m3u8: %v: %s", err, out)
	}
	for _, want := range []string{"video,1280,720", "video,640,360", "audio"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("ffprobe index.m3u8 lacks %q:\n%s", want, out)
		}
	}
}

// A rung whose transcoder began after the source starts with a gap as long as it missed, so
// that every variant keeps the source's timeline; the gap comes after the init section's map.
func TestRungLeadingGap(t *testing.T) {
	segs := []storedSegment{
		{file: "360p/000000000_540000_360000_90000_0.m4s", start: 540000, dur: 360000, scale: 90000, size: 1000},
		{file: "360p/000000001_900000_360000_90000_0.m4s", start: 900000, dur: 360000, scale: 90000, size: 1000},
	}
	body, dur, _, _ := mediaPlaylist(segs, 6, 0)
	want := "#EXT-X-MAP:URI=\"360p/init0.mp4\"\n#EXT-X-GAP\n#EXTINF:6.00000,\n360p/000000000_540000_360000_90000_0.m4s\n#EXTINF:4.00000,\n"
	if !strings.Contains(string(body), want) {
		t.Errorf("playlist:\n%s\nwant it to hold:\n%s", body, want)
	}
	if dur != 14*time.Second {
		t.Errorf("duration %s, want 14s (6 s missed, then two 4 s segments)", dur)
	}
	if body, _, _, _ := mediaPlaylist(segs, 0.2, 0); strings.Contains(string(body), "#EXT-X-GAP") {
		t.Errorf("a lead within the tolerance made a gap:\n%s", body)
	}
}
