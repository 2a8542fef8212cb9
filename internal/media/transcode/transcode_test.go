package transcode

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
	"github.com/google/go-cmp/cmp"
)

func TestPlan(t *testing.T) {
	names := func(rs []Rung) []string {
		out := []string{}
		for _, r := range rs {
			out = append(out, r.Name)
		}
		return out
	}
	for _, tt := range []struct {
		w, h int
		want []string
	}{
		{1920, 1080, []string{"720p", "480p", "360p", "160p"}},
		{1280, 720, []string{"480p", "360p", "160p"}},
		{854, 480, []string{"360p", "160p"}},
		{640, 360, []string{"160p"}},
		{1080, 1920, []string{"720p", "480p", "360p", "160p"}}, // portrait: by the shorter edge
		{284, 160, []string{}},
	} {
		if got := names(Plan(tt.w, tt.h)); !cmp.Equal(got, tt.want) {
			t.Errorf("Plan(%d, %d) = %v, want %v", tt.w, tt.h, got, tt.want)
		}
	}
	plan := Plan(1920, 1080)
	for i, r := range plan {
		if (r.AudioBitrate > 0) != (i == len(plan)-1) {
			t.Errorf("%s: audio bitrate %d; only the lowest rung transcodes audio", r.Name, r.AudioBitrate)
		}
	}
}

// TestArgsEncoders checks what each encoder choice puts on ffmpeg's command line.
func TestArgsEncoders(t *testing.T) {
	rungs := Plan(1280, 720)
	for _, tt := range []struct {
		encoder string
		want    []string
	}{
		{EncoderX264, []string{"-c:v libx264 -preset veryfast -tune zerolatency", "scale=-2:480,format=yuv420p[v0]", "-map 0:a? -c:a aac -b:a 64000"}},
		{EncoderNVENC, []string{"-c:v h264_nvenc", "-forced-idr 1"}},
		{EncoderQSV, []string{"-c:v h264_qsv", "format=nv12[v1]"}},
		{EncoderVAAPI, []string{"-vaapi_device /dev/dri/renderD128", "format=nv12,hwupload[v2]", "-c:v h264_vaapi"}},
	} {
		line := strings.Join(Args(Config{FFmpeg: "ffmpeg", Encoder: tt.encoder}, rungs, false, 30), " ")
		for _, w := range append(tt.want, "-force_key_frames source", "-copyts", "pipe:3", "pipe:5", "-bf 0") {
			if !strings.Contains(line, w) {
				t.Errorf("%s: the command line lacks %q:\n%s", tt.encoder, w, line)
			}
		}
		if strings.Contains(line, "pipe:6") {
			t.Errorf("%s: more outputs than rungs:\n%s", tt.encoder, line)
		}
	}
	if line := strings.Join(Args(DefaultConfig, Plan(1080, 1920), true, 30), " "); !strings.Contains(line, "scale=720:-2") {
		t.Errorf("portrait source: %s", line)
	}
}

// TestNominalFPS: a source's own rate when its SPS gives a plausible one, a camera's 30
// otherwise (never the MPEG-TS clock's 90000 that ffmpeg would take).
func TestNominalFPS(t *testing.T) {
	for _, tt := range []struct{ in, want float64 }{{0, 30}, {-1, 30}, {90000, 30}, {121, 30}, {25, 25}, {59.94, 59.94}, {120, 120}} {
		if got := NominalFPS(tt.in); got != tt.want {
			t.Errorf("NominalFPS(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if line := strings.Join(Args(DefaultConfig, Plan(1280, 720), false, 59.94), " "); !strings.Contains(line, "-r 59.94 -fps_mode passthrough") {
		t.Errorf("the rate given is not the encoders': %s", line)
	}
}

func TestSourceTicks(t *testing.T) {
	p := &proc{}
	for _, tt := range []struct{ in, out, want int64 }{
		{90000, (90000 + tsBase) & tsMask, 90000},                  // as written
		{90000, (87000 + tsBase) & tsMask, 87000},                  // a frame behind
		{tsMask - tsBase + 6000, 3000, tsMask - tsBase + 3000 + 1}, // across a 33-bit wrap
		{90000, (93000 + tsBase) & tsMask, 93000},                  // audio a little ahead
	} {
		p.lastIn.Store(tt.in)
		if got := p.sourceTicks(tt.out); got != tt.want {
			t.Errorf("sourceTicks(%d) after %d = %d, want %d", tt.out, tt.in, got, tt.want)
		}
	}
}

func TestTail(t *testing.T) {
	var tl tail
	for i := 0; i < 12; i++ {
		tl.Write([]byte("line " + string(rune('a'+i)) + "\n"))
	}
	tl.Write([]byte("partial"))
	got := tl.String()
	if !strings.HasPrefix(got, "line e | ") || !strings.HasSuffix(got, "line l | partial") {
		t.Errorf("tail = %q", got)
	}
}

// TestFFmpegKeepsTimestampsAndKeyframes runs the real ffmpeg on the ladder's command line with
// a source that has B-frames and a keyframe every 10 frames: every rung must come back with
// the source's presentation times, frame for frame, keyframes exactly on the source's, and at
// its height; the lowest with AAC. The encoders' rate is the one given (25 here, against the
// source's 30): it goes into the rungs' headers and nothing else, the frames keep their times.
func TestFFmpegKeepsTimestampsAndKeyframes(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed")
	}
	src, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=size=426x240:rate=30", "-f", "lavfi", "-i", "sine=sample_rate=48000",
		"-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "10", "-keyint_min", "10", "-sc_threshold", "0",
		"-c:a", "aac", "-f", "mpegts", "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	type frames struct {
		pts  []int64
		keys []int64
		size [2]int
		fps  float64 // the SPS's
		aac  bool
	}
	read := func(r *bufio.Reader) (frames, error) {
		var f frames
		rd := &mpegts.Reader{R: r}
		if err := rd.Initialize(); err != nil {
			return f, err
		}
		for _, tr := range rd.Tracks() {
			switch tr.Codec.(type) {
			case *tscodecs.H264:
				rd.OnDataH264(tr, func(pts, _ int64, au [][]byte) error {
					f.pts = append(f.pts, pts)
					if h264.IsRandomAccess(au) {
						f.keys = append(f.keys, pts)
						for _, n := range au {
							var sps h264.SPS
							if h264.NALUType(n[0]&0x1f) == h264.NALUTypeSPS && sps.Unmarshal(n) == nil {
								f.size, f.fps = [2]int{sps.Width(), sps.Height()}, sps.FPS()
							}
						}
					}
					return nil
				})
			case *tscodecs.MPEG4Audio:
				f.aac = true
			}
		}
		for rd.Read() == nil {
		}
		slices.Sort(f.pts)
		return f, nil
	}
	want, err := read(bufio.NewReader(bytes.NewReader(src)))
	if err != nil {
		t.Fatal(err)
	}

	rungs := []Rung{{Name: "180p", Height: 180, VideoBitrate: 300_000}, {Name: "160p", Height: 160, VideoBitrate: 200_000, AudioBitrate: 48_000}}
	cmd := exec.Command("ffmpeg", Args(DefaultConfig, rungs, false, 25)...)
	cmd.Stdin = bytes.NewReader(src)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outs := make([]*os.File, len(rungs))
	for i := range rungs {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		outs[i] = r
		cmd.ExtraFiles = append(cmd.ExtraFiles, w)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, w := range cmd.ExtraFiles {
		w.Close()
	}
	got := make([]frames, len(rungs))
	errs := make([]error, len(rungs))
	var wg sync.WaitGroup
	for i := range rungs {
		wg.Go(func() { got[i], errs[i] = read(bufio.NewReader(outs[i])) })
	}
	wg.Wait()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, stderr.String())
	}
	for i, r := range rungs {
		if errs[i] != nil {
			t.Fatalf("%s: %v", r.Name, errs[i])
		}
		if diff := cmp.Diff(want.pts, got[i].pts); diff != "" {
			t.Errorf("%s: frame times (-source +rung):\n%s", r.Name, diff)
		}
		if diff := cmp.Diff(want.keys, got[i].keys); diff != "" {
			t.Errorf("%s: keyframe times (-source +rung):\n%s", r.Name, diff)
		}
		if wantSize := [2]int{(426*r.Height/240 + 1) &^ 1, r.Height}; got[i].size != wantSize {
			t.Errorf("%s: picture %v, want %v", r.Name, got[i].size, wantSize)
		}
		if got[i].fps != 25 {
			t.Errorf("%s: the SPS says %v frames a second, want the 25 given", r.Name, got[i].fps)
		}
		if got[i].aac != (r.AudioBitrate > 0) {
			t.Errorf("%s: AAC track %v", r.Name, got[i].aac)
		}
	}
}

func TestAvailable(t *testing.T) {
	missing := New(Config{FFmpeg: filepath.Join(t.TempDir(), "ffmpeg")}, nil, nil, nil)
	if err := missing.Available(); err == nil || !strings.Contains(err.Error(), "transcode.ffmpeg") {
		t.Errorf("Available() with no ffmpeg = %v, want an error naming the setting", err)
	}
	if _, err := exec.LookPath("ffmpeg"); err == nil {
		if err := New(DefaultConfig, nil, nil, nil).Available(); err != nil {
			t.Errorf("Available() = %v with ffmpeg on PATH", err)
		}
	}
}
