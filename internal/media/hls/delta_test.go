package hls

import (
	"strings"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/media/llhls/validate"
	"github.com/livehouse/livehouse/internal/media/stream"
)

// TestDeltaUpdates: a live playlist advertises CAN-SKIP-UNTIL of six target durations, and a
// reload with _HLS_skip=YES gets the same playlist with its oldest segments replaced by
// EXT-X-SKIP: every segment it lists after the skip is the full playlist's, it lists at least
// the skip boundary, and the validator accepts it as the reload after the full one. Blocking
// reloads with _HLS_skip share one delta per rendering.
func TestDeltaUpdates(t *testing.T) {
	s, lv := openVideo(t, Config{SegmentCount: 7, SegmentMinDuration: time.Second, PartMinDuration: 200 * time.Millisecond}, false)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 12 * 30 { // 12 s, a keyframe a second: a full window of 1 s segments
		pts, au, key := frame(i, 30)
		d := time.Duration(pts) * time.Second / videoClock
		if err := lv.write(&stream.Unit{Kind: stream.Video, PTS: d, NTP: t0.Add(d), Payload: au, Key: key}); err != nil {
			t.Fatal(err)
		}
	}
	full := do(t, s, "/hls/ch/video1_stream.m3u8", true)
	if full.Code != 200 || !strings.Contains(full.Body.String(), ",CAN-SKIP-UNTIL=6\n") {
		t.Fatalf("full playlist: %d, want CAN-SKIP-UNTIL=6 (6 × a 1 s target):\n%s", full.Code, full.Body)
	}
	delta := do(t, s, "/hls/ch/video1_stream.m3u8?_HLS_skip=YES", true) // checked against full
	if delta.Code != 200 {
		t.Fatalf("delta update: %d %s", delta.Code, delta.Body)
	}
	fm, err := validate.Parse(full.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	dm, err := validate.Parse(delta.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !dm.Delta || dm.Skipped == 0 {
		t.Fatalf("no segment skipped of %d listed:\n%s", len(fm.Segments), delta.Body)
	}
	if dm.MediaSequence != fm.MediaSequence || int(dm.Skipped)+len(dm.Segments) != len(fm.Segments) {
		t.Errorf("delta: sequence %d, %d skipped + %d listed; full: sequence %d, %d listed", dm.MediaSequence, dm.Skipped, len(dm.Segments), fm.MediaSequence, len(fm.Segments))
	}
	for i, sg := range dm.Segments {
		if want := fm.Segments[int(dm.Skipped)+i]; sg.URI != want.URI || sg.MSN != want.MSN {
			t.Errorf("delta segment %d: %s (%d), want %s (%d)", i, sg.URI, sg.MSN, want.URI, want.MSN)
		}
	}
	if !strings.Contains(delta.Body.String(), "#EXT-X-SKIP:SKIPPED-SEGMENTS=") || !strings.Contains(delta.Body.String(), "#EXT-X-MAP:") {
		t.Errorf("the delta update lacks EXT-X-SKIP or the EXT-X-MAP in effect:\n%s", delta.Body)
	}
	if fm.Hint != dm.Hint || len(fm.Pending) != len(dm.Pending) {
		t.Errorf("the delta update's edge (hint %s, %d parts) differs from the full one's (%s, %d)", dm.Hint, len(dm.Pending), fm.Hint, len(fm.Pending))
	}
	// One delta per rendering, shared.
	e := s.pkg.live("ch").edges["video1_stream.m3u8"].e
	a, b := e.deltaFor(e.body), e.deltaFor(e.body)
	if &a[0] != &b[0] {
		t.Error("the delta update was made twice for one rendering")
	}
}

// TestDeltaPlaylistRules: what a delta update may skip and what it keeps.
func TestDeltaPlaylistRules(t *testing.T) {
	seg := func(n int, tags string) string {
		return tags + "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:0" + string(rune('0'+n)) + ".000Z\n#EXTINF:1.00000,\nx_video1_seg" + string(rune('0'+n)) + ".mp4\n"
	}
	head := "#EXTM3U\n#EXT-X-VERSION:10\n#EXT-X-TARGETDURATION:1\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.6,CAN-SKIP-UNTIL=6\n#EXT-X-PART-INF:PART-TARGET=0.2\n#EXT-X-MEDIA-SEQUENCE:1\n"
	tail := "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:09.000Z\n#EXT-X-PART:DURATION=0.2,URI=\"x_video1_part50.mp4\",INDEPENDENT=YES\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"x_video1_part51.mp4\"\n"
	daterange := "#EXT-X-DATERANGE:ID=\"cue\",START-DATE=\"2026-01-01T00:00:01.000Z\"\n"
	for _, tc := range []struct {
		name           string
		segs           []string // tags before each segment's date
		skipped        string   // the EXT-X-SKIP line wanted, "" for none
		keeps, removes []string
	}{
		{"eight segments, six kept", []string{"#EXT-X-MAP:URI=\"x_video1_init0.mp4\"\n" + daterange, "", "", "", "", "", "", ""},
			"#EXT-X-SKIP:SKIPPED-SEGMENTS=2\n#EXT-X-DATERANGE:ID=\"cue\"", []string{"#EXT-X-MAP:URI=\"x_video1_init0.mp4\"\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:03", "x_video1_seg3.mp4", "x_video1_part51.mp4"}, []string{"x_video1_seg1.mp4", "x_video1_seg2.mp4"}},
		{"six segments: nothing to skip", []string{"#EXT-X-MAP:URI=\"x_video1_init0.mp4\"\n", "", "", "", "", ""}, "", []string{"x_video1_seg1.mp4"}, nil},
		{"a discontinuity stops the skip", []string{"#EXT-X-MAP:URI=\"x_video1_init0.mp4\"\n", "#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"x_video1_init1.mp4\"\n", "", "", "", "", "", ""},
			"#EXT-X-SKIP:SKIPPED-SEGMENTS=1\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"x_video1_init1.mp4\"", []string{"x_video1_seg2.mp4"}, []string{"x_video1_seg1.mp4", "init0"}},
		{"a discontinuity first: nothing skipped", []string{"#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"x_video1_init0.mp4\"\n", "", "", "", "", "", "", ""}, "", []string{"x_video1_seg1.mp4"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			b.WriteString(head)
			for i, tags := range tc.segs {
				b.WriteString(seg(i+1, tags))
			}
			b.WriteString(tail)
			full := []byte(b.String())
			got := string(deltaPlaylist(full))
			if tc.skipped == "" {
				if got != string(full) {
					t.Errorf("want the full playlist, got\n%s", got)
				}
			} else if !strings.Contains(got, tc.skipped) {
				t.Errorf("want %q in\n%s", tc.skipped, got)
			}
			for _, k := range tc.keeps {
				if !strings.Contains(got, k) {
					t.Errorf("%q missing from\n%s", k, got)
				}
			}
			for _, r := range tc.removes {
				if strings.Contains(got, r) {
					t.Errorf("%q still in\n%s", r, got)
				}
			}
			var s validate.Session
			if err := s.Next(full); err != nil {
				t.Fatalf("the full playlist: %v", err)
			}
			if err := s.Next([]byte(got)); err != nil {
				t.Errorf("the delta update after the full playlist: %v\n%s", err, got)
			}
		})
	}
}

// FuzzDeltaPlaylist: a relayed playlist comes from another node; no body, however malformed,
// makes the delta update panic, and one it changes starts its segments with EXT-X-SKIP.
func FuzzDeltaPlaylist(f *testing.F) {
	head := "#EXTM3U\n#EXT-X-VERSION:10\n#EXT-X-TARGETDURATION:1\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=%s\n#EXT-X-MEDIA-SEQUENCE:1\n"
	segs := "#EXT-X-MAP:URI=\"i.mp4\"\n#EXTINF:1,\na.mp4\n#EXTINF:1,\nb.mp4\n#EXT-X-DISCONTINUITY\n#EXTINF:1,\nc.mp4\n#EXT-X-PART:DURATION=0.2,URI=\"p.mp4\"\n"
	for _, boundary := range []string{"1", "0.0000001", "6", "2.5"} {
		f.Add(strings.Replace(head, "%s", boundary, 1) + segs)
	}
	f.Add(strings.Replace(head, "%s", "0.0000001", 1) + "#EXTINF:1,\na.mp4\n#EXTINF:1,\nb.mp4\n")
	f.Add(strings.Replace(head, "%s", "1", 1) + "#EXTINF:x,\na.mp4\n")
	f.Add(strings.Replace(head, "%s", "1", 1) + "b.mp4\n#EXTINF:1,\n")
	f.Fuzz(func(t *testing.T, pl string) {
		got := deltaPlaylist([]byte(pl))
		if string(got) != pl && !strings.Contains(string(got), "#EXT-X-SKIP:SKIPPED-SEGMENTS=") {
			t.Errorf("changed without EXT-X-SKIP:\n%s", got)
		}
	})
}
