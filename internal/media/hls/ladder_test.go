package hls

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/media/llhls/validate"
	"github.com/livehouse/livehouse/internal/media/stream"
)

// A 1920x1080 30 fps baseline SPS (pic_order_cnt_type 2: decode order is presentation order).
var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x28, 0xd9, 0x00, 0x78, 0x02, 0x27, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc9, 0x20}
	testPPS = []byte{0x08, 0x06, 0x07, 0x08}
)

// frame is the access unit of video frame i at 30 fps with a keyframe every gop frames.
func frame(i, gop int) (pts int64, au [][]byte, key bool) {
	pts = int64(i) * 3000
	if i%gop == 0 {
		return pts, [][]byte{testSPS, testPPS, {0x65, byte(i)}}, true
	}
	return pts, [][]byte{{0x41, byte(i)}}, false
}

func serve(t *testing.T, s *Server, path string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", "Bearer "+tokenFor(t, path))
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	b, _ := io.ReadAll(rec.Body)
	checkerFor(t).Playlist(path, b)
	return string(b)
}

var segmentRE = regexp.MustCompile(`(?:#EXT-X-PROGRAM-DATE-TIME:(\S+)\n)?(?:#EXT-X-PART:[^\n]*\n)*(#EXT-X-GAP\n)?#EXTINF:[^\n]*\n(\S+)`)

// starts maps each complete segment's first video decode time to its program-date-time (""
// where gohlslib does not write one).
func starts(t *testing.T, s *Server, dir string) map[uint64]string {
	t.Helper()
	pl := serve(t, s, "/hls/ch/"+dir+"video1_stream.m3u8")
	out := map[uint64]string{}
	for _, m := range segmentRE.FindAllStringSubmatch(pl, -1) {
		if m[2] != "" {
			continue // a gap: the rendition has no media for this segment
		}
		var parts fmp4.Parts
		if err := parts.Unmarshal([]byte(serve(t, s, "/hls/ch/"+dir+m[3]))); err != nil || len(parts) == 0 {
			t.Fatalf("%s: %v", m[3], err)
		}
		out[parts[0].Tracks[0].BaseTime] = m[1]
	}
	return out
}

// TestRungSegmentsFollowTheSource feeds a source with a keyframe every half second (1 s
// segments) and a rung that starts, and after a simulated transcoder restart resumes, on
// keyframes that do not start a source segment: the rung waits for one that does, so its
// segments begin at the same media times, with the same program-date-time, as the source's.
func TestRungSegmentsFollowTheSource(t *testing.T) {
	s, lv := openVideo(t, Config{SegmentCount: 7, SegmentMinDuration: time.Second, PartMinDuration: 200 * time.Millisecond}, true)
	if err := s.pkg.SetLadder("ch", true); err != nil {
		t.Fatal(err)
	}
	r, err := s.pkg.AddRung("ch", "160p", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.pkg.AddRung("ch", "160p", nil); err == nil {
		t.Error("a second rung of the same name was added")
	}
	if _, err := s.pkg.AddRung("nobody", "160p", nil); err != ErrNotLive {
		t.Errorf("a rung on a channel that is not live: err = %v", err)
	}

	const gop, lag = 15, 10
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rungFrame := func(i int) {
		pts, au, _ := frame(i, gop)
		if err := r.WriteVideo(pts, au); err != nil {
			t.Fatal(err)
		}
	}
	listed := func() bool {
		return strings.Contains(serve(t, s, "/hls/ch/index.m3u8"), "160p/video1_stream.m3u8")
	}
	for i := 0; i < 360; i++ {
		pts, au, key := frame(i, gop)
		if err := lv.write(&stream.Unit{Kind: stream.Video, PTS: time.Duration(pts) * time.Second / videoClock, NTP: t0.Add(time.Duration(pts) * time.Second / videoClock), Payload: au, Key: key}); err != nil {
			t.Fatal(err)
		}
		j := i - lag
		switch {
		case j < 45: // the transcoder's first output is the keyframe at 1.5 s
		case j == 150:
			r.Resync() // a restart: the output resumes at 5.5 s, mid-segment
		case j > 150 && j < 165:
		default:
			rungFrame(j)
		}
		if j == 60 && listed() {
			t.Error("the rung is listed before it has a whole segment")
		}
	}
	if !listed() {
		t.Error("the rung is not listed in the multivariant playlist")
	}

	src, rung := starts(t, s, ""), starts(t, s, "160p/")
	if len(rung) < 4 {
		t.Fatalf("the rung has %d segments", len(rung))
	}
	var srcFirst, rungFirst, rungLast uint64 = 1 << 63, 1 << 63, 0
	for at := range src {
		srcFirst = min(srcFirst, at)
	}
	for at := range rung {
		rungFirst, rungLast = min(rungFirst, at), max(rungLast, at)
	}
	dated := 0
	for at, pdt := range rung {
		want, ok := src[at]
		switch {
		case at < srcFirst: // gone from the source's window
		case !ok:
			t.Errorf("rung segment at %d: the source has none there", at)
		case pdt != "" && want != "" && pdt != want:
			t.Errorf("rung segment at %d: program-date-time %s, the source's %s", at, pdt, want)
		case pdt != "":
			dated++
		}
	}
	if dated == 0 {
		t.Error("no rung segment has a program-date-time to compare")
	}
	// Every source segment has its rung segment, but for the one the rung missed while its
	// transcoder was down (from 5 s).
	outage := uint64(muxerStartDTS + 5*videoClock)
	for at := range src {
		if _, ok := rung[at]; !ok && at >= rungFirst && at <= rungLast && at != outage {
			t.Errorf("the source has a segment at %d, the rung none", at)
		}
	}
	if _, ok := rung[outage]; ok {
		t.Error("the rung has a segment starting in its outage")
	}
}

// TestMultivariantPlaylist checks the ladder's multivariant playlist: the source first with
// its audio group, then the rungs by height, each with its figures, and the viewer's token on
// every URI.
func TestMultivariantPlaylist(t *testing.T) {
	s, lv := openVideo(t, Config{SegmentCount: 7, SegmentMinDuration: time.Second, PartMinDuration: 200 * time.Millisecond}, true)
	r, _ := s.pkg.AddRung("ch", "160p", nil)
	for i := 0; i < 120; i++ {
		pts, au, key := frame(i, 15)
		_ = lv.write(&stream.Unit{Kind: stream.Video, PTS: time.Duration(pts) * time.Second / videoClock, NTP: time.Now(), Payload: au, Key: key})
		_ = r.WriteVideo(pts, au)
	}
	if got := serve(t, s, "/hls/ch/index.m3u8"); strings.Contains(got, "160p") {
		t.Errorf("not marked transcoded, yet listing the rung: %s", got)
	}
	_ = s.pkg.SetLadder("ch", true)
	got := serve(t, s, "/hls/ch/index.m3u8")
	var lines []string
	for _, l := range strings.Split(got, "\n") {
		if l != "" {
			lines = append(lines, regexp.MustCompile(`BANDWIDTH=\d+`).ReplaceAllString(l, "BANDWIDTH=N"))
		}
	}
	want := []string{
		"#EXTM3U",
		"#EXT-X-VERSION:10",
		"#EXT-X-INDEPENDENT-SEGMENTS",
		`#EXT-X-STREAM-INF:BANDWIDTH=N,AVERAGE-BANDWIDTH=N,CODECS="avc1.42c028",RESOLUTION=1920x1080,FRAME-RATE=30.000`,
		"video1_stream.m3u8",
		`#EXT-X-STREAM-INF:BANDWIDTH=N,AVERAGE-BANDWIDTH=N,CODECS="avc1.42c028",RESOLUTION=1920x1080,FRAME-RATE=30.000`,
		"160p/video1_stream.m3u8",
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("multivariant playlist (-want +got):\n%s", diff)
	}
	r.Close()
	if got := serve(t, s, "/hls/ch/index.m3u8"); strings.Contains(got, "160p") {
		t.Errorf("a closed rung is still listed: %s", got)
	}
}

// openVideo opens channel "ch" with a video-only stream, closed when the test ends;
// without ladder it is a passthrough (BASIC) stream.
func openVideo(tb testing.TB, cfg Config, ladder bool) (*Server, *live) {
	tb.Helper()
	cfg.Tokens = testTokens
	s := newServer(cfg, slog.New(slog.DiscardHandler))
	lv, err := s.pkg.open("ch", stream.Tracks{H264: &stream.H264{SPS: testSPS, PPS: testPPS}}, ladder)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.pkg.close("ch", lv) })
	return s, lv
}

// TestPassthroughHasNoLadder: a stream opened without a ladder (a BASIC channel's) takes no
// rungs, so none of the ladder's per-frame bookkeeping is needed for it.
func TestPassthroughHasNoLadder(t *testing.T) {
	s, lv := openVideo(t, DefaultConfig, false)
	pts, au, key := frame(0, 60)
	if err := lv.write(&stream.Unit{Kind: stream.Video, PTS: time.Duration(pts), NTP: time.Now(), Payload: au, Key: key}); err != nil {
		t.Fatal(err)
	}
	if err := s.pkg.SetLadder("ch", true); !errors.Is(err, ErrNoLadder) {
		t.Errorf("SetLadder on a passthrough stream: err = %v, want ErrNoLadder", err)
	}
	if _, err := s.pkg.AddRung("ch", "160p", nil); !errors.Is(err, ErrNoLadder) {
		t.Errorf("AddRung on a passthrough stream: err = %v, want ErrNoLadder", err)
	}
}

// BenchmarkSourceFrame packages one video frame of a live stream: a BASIC channel's, whose
// frames get only the muxer's work and the timed-metadata check, and a STANDARD channel's,
// whose frames also go to the ladder's schedule and to one rung.
func BenchmarkSourceFrame(b *testing.B) {
	for _, ladder := range []bool{false, true} {
		name := "passthrough"
		if ladder {
			name = "ladder"
		}
		b.Run(name, func(b *testing.B) {
			s, lv := openVideo(b, DefaultConfig, ladder)
			var r *Rung
			if ladder {
				r, _ = s.pkg.AddRung("ch", "160p", nil)
			}
			t0 := time.Now()
			i := 0
			for b.Loop() {
				pts, au, key := frame(i, 60)
				d := time.Duration(pts) * time.Second / videoClock
				if err := lv.write(&stream.Unit{Kind: stream.Video, PTS: d, NTP: t0.Add(d), Payload: au, Key: key}); err != nil {
					b.Fatal(err)
				}
				if r != nil {
					if err := r.WriteVideo(pts, au); err != nil {
						b.Fatal(err)
					}
				}
				i++
			}
		})
	}
}

// TestTwoSecondKeyframes: an encoder with a keyframe every 2 s, as OBS sends by default, whose
// millisecond timestamps put some keyframes a hair under 2 s apart, still gets 2 s segments
// (not 4 s ones that run to the next keyframe).
func TestTwoSecondKeyframes(t *testing.T) {
	s, lv := openVideo(t, DefaultConfig, false)
	t0 := time.Now()
	for i := range 30 * 20 {
		pts, au, key := frame(i, 60)
		d := time.Duration(pts) * time.Second / videoClock
		if key && i > 0 {
			d -= time.Millisecond // rounded down
		}
		if err := lv.write(&stream.Unit{Kind: stream.Video, PTS: d, NTP: t0.Add(d), Payload: au, Key: key}); err != nil {
			t.Fatal(err)
		}
	}
	pl := serve(t, s, "/hls/ch/video1_stream.m3u8")
	if !strings.Contains(pl, "#EXT-X-TARGETDURATION:2\n") {
		t.Errorf("target duration is not 2 s:\n%s", pl)
	}
	for _, m := range regexp.MustCompile(`#EXTINF:([0-9.]+)`).FindAllStringSubmatch(pl, -1) {
		if d, _ := strconv.ParseFloat(m[1], 64); d > 2.5 {
			t.Errorf("a segment of %s s", m[1])
		}
	}
}

// TestRenditionsReportEachOther: a STANDARD channel's video playlists each carry an
// EXT-X-RENDITION-REPORT for every other rendition, with that rendition's live edge, and a
// source that changes its SPS mid-stream marks a discontinuity while the rungs go on.
func TestRenditionsReportEachOther(t *testing.T) {
	s, lv := openVideo(t, Config{SegmentCount: 7, SegmentMinDuration: time.Second, PartMinDuration: 200 * time.Millisecond}, true)
	_ = s.pkg.SetLadder("ch", true)
	r1, _ := s.pkg.AddRung("ch", "360p", nil)
	r2, _ := s.pkg.AddRung("ch", "160p", nil)
	sps360 := []byte{0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x0f, 0x16, 0x2e, 0x48}
	t0 := time.Now()
	for i := range 300 {
		pts, au, key := frame(i, 15)
		src := au
		if key && i >= 150 { // the encoder changed its canvas: new parameter sets
			src = [][]byte{sps360, testPPS, au[2]}
		}
		d := time.Duration(pts) * time.Second / videoClock
		if err := lv.write(&stream.Unit{Kind: stream.Video, PTS: d, NTP: t0.Add(d), Payload: src, Key: key}); err != nil {
			t.Fatal(err)
		}
		for _, r := range []*Rung{r1, r2} {
			if err := r.WriteVideo(pts, au); err != nil {
				t.Fatal(err)
			}
		}
	}
	c := checkerFor(t)
	c.Expect("/hls/ch/video1_stream.m3u8", validate.Options{Reports: []string{"160p/video1_stream.m3u8", "360p/video1_stream.m3u8"}})
	c.Expect("/hls/ch/360p/video1_stream.m3u8", validate.Options{Reports: []string{"../video1_stream.m3u8", "../160p/video1_stream.m3u8"}})
	c.Expect("/hls/ch/160p/video1_stream.m3u8", validate.Options{Reports: []string{"../video1_stream.m3u8", "../360p/video1_stream.m3u8"}})
	src := serve(t, s, "/hls/ch/video1_stream.m3u8")
	for _, dir := range []string{"360p/", "160p/"} {
		serve(t, s, "/hls/ch/"+dir+"video1_stream.m3u8")
	}
	if !strings.Contains(src, "#EXT-X-DISCONTINUITY\n") || strings.Count(src, "#EXT-X-MAP:") != 2 {
		t.Errorf("the source's new SPS: no discontinuity with a new init section:\n%s", src)
	}
	m, err := validate.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	msn := int64(m.MediaSequence) + int64(len(m.Segments))
	for _, r := range m.Reports {
		if r.MSN < msn-1 || r.MSN > msn {
			t.Errorf("report %s: LAST-MSN %d, the source's edge is at %d", r.URI, r.MSN, msn)
		}
	}
}

// TestPackagingForTheRecorder: the recorder's view of a channel's packaging (Packaging)
// gives the source's muxer and every rung's, a rung closed mid-session included, and ends
// once the packaging is closed, with the last segments complete.
func TestPackagingForTheRecorder(t *testing.T) {
	s, lv := openVideo(t, Config{SegmentCount: 7, SegmentMinDuration: time.Second, PartMinDuration: 200 * time.Millisecond}, true)
	if _, ok := s.pkg.Packaging("nobody"); ok {
		t.Error("a packaging for a channel that is not live")
	}
	pk, ok := s.pkg.Packaging("ch")
	if !ok || pk.Source() != lv.source {
		t.Fatalf("Packaging(ch) = %v, %v; want the channel's source muxer", pk, ok)
	}
	if rungs := pk.Rungs(); len(rungs) != 0 {
		t.Errorf("rungs before any: %v", rungs)
	}
	r, err := s.pkg.AddRung("ch", "160p", nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 60 {
		pts, au, key := frame(i, 15)
		if err := lv.write(&stream.Unit{Kind: stream.Video, PTS: time.Duration(pts) * time.Second / videoClock, NTP: t0, Payload: au, Key: key}); err != nil {
			t.Fatal(err)
		}
		if err := r.WriteVideo(pts, au); err != nil {
			t.Fatal(err)
		}
	}
	r.Close() // the transcoder gave up: the rung leaves the ladder
	rungs := pk.Rungs()
	if m := rungs["160p"]; m == nil || len(rungs) != 1 {
		t.Fatalf("rungs after the rung closed: %v, want 160p's muxer", rungs)
	}
	select {
	case <-pk.Ended():
		t.Fatal("ended while live")
	default:
	}
	before := len(pk.Source().SegmentsAfter("video1", -1))
	s.pkg.close("ch", lv)
	select {
	case <-pk.Ended():
	default:
		t.Fatal("not ended once closed")
	}
	after := pk.Source().SegmentsAfter("video1", -1)
	defer func() {
		for _, seg := range after {
			seg.Release()
		}
	}()
	if len(after) != before+1 {
		t.Errorf("segments: %d live, %d once closed; want the one in progress completed", before, len(after))
	}
}
