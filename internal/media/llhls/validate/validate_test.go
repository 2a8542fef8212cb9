package validate

import (
	"fmt"
	"strings"
	"testing"
)

// good is a valid LL-HLS media playlist; each case below breaks one rule of it.
const good = `#EXTM3U
#EXT-X-VERSION:10
#EXT-X-TARGETDURATION:2
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.6
#EXT-X-PART-INF:PART-TARGET=0.2
#EXT-X-MEDIA-SEQUENCE:10
#EXT-X-MAP:URI="init0.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z
#EXTINF:2.00000,
seg10.mp4
#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:02.000Z
#EXT-X-PART:DURATION=0.2,URI="part5.mp4",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.2,URI="part6.mp4"
#EXTINF:0.40000,
seg11.mp4
#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:02.400Z
#EXT-X-PART:DURATION=0.2,URI="part7.mp4",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part8.mp4"
#EXT-X-RENDITION-REPORT:URI="160p/video1_stream.m3u8",LAST-MSN=12,LAST-PART=0
`

var opts = Options{Reports: []string{"160p/video1_stream.m3u8"}}

func TestCheckGood(t *testing.T) {
	if err := Check([]byte(good), opts); err != nil {
		t.Fatal(err)
	}
	var s Session
	s.Options = opts
	if err := s.Next([]byte(good)); err != nil {
		t.Fatal(err)
	}
	next := strings.Replace(good, `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part8.mp4"`, "#EXT-X-PART:DURATION=0.2,URI=\"part8.mp4\"\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part9.mp4\"", 1)
	if err := s.Next([]byte(next)); err != nil {
		t.Fatal(err)
	}
}

func TestCheckRules(t *testing.T) {
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"segment over target", "#EXTINF:2.00000,", "#EXTINF:2.6,", "over the target duration"},
		{"rounding: 2.49 is 2", "#EXTINF:2.00000,", "#EXTINF:2.49,", ""},
		{"part over PART-TARGET", `DURATION=0.2,URI="part6.mp4"`, `DURATION=0.21,URI="part6.mp4"`, "over PART-TARGET"},
		{"part hold back", "PART-HOLD-BACK=0.6", "PART-HOLD-BACK=0.5", "PART-HOLD-BACK"},
		{"no blocking reload", "CAN-BLOCK-RELOAD=YES,", "", "CAN-BLOCK-RELOAD"},
		{"parts numbered with a hole", `URI="part7.mp4"`, `URI="part9.mp4"`, "not consecutive"},
		{"hint of a listed part", `PRELOAD-HINT:TYPE=PART,URI="part8.mp4"`, `PRELOAD-HINT:TYPE=PART,URI="part7.mp4"`, "already listed"},
		{"hint that skips a part", `PRELOAD-HINT:TYPE=PART,URI="part8.mp4"`, `PRELOAD-HINT:TYPE=PART,URI="part10.mp4"`, "does not name the part after"},
		{"no hint", "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part8.mp4\"\n", "", "without a part preload hint"},
		{"hint after the end", "#EXT-X-RENDITION-REPORT", "#EXT-X-ENDLIST\n#EXT-X-RENDITION-REPORT", "after EXT-X-ENDLIST"},
		{"program-date-time back", "00:00:02.000Z", "00:00:00.000Z", "program-date-time"},
		{"parts and EXTINF disagree", "#EXTINF:0.40000,", "#EXTINF:0.5,", "EXTINF says"},
		{"missing rendition report", "160p/video1", "360p/video1", "no rendition report for 160p"},
		{"report without LAST-PART", ",LAST-PART=0", "", "without LAST-PART"},
		{"media sequence after a segment", "#EXT-X-MAP", "#EXTINF:1,\nx.mp4\n#EXT-X-MEDIA-SEQUENCE:3\n#EXT-X-MAP", "after the first segment"},
		{"not a playlist", "#EXTM3U\n", "", "#EXTM3U"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl := strings.Replace(good, tc.old, tc.new, 1)
			if pl == good {
				t.Fatal("the case changes nothing")
			}
			err := Check([]byte(pl), opts)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want one about %q", err, tc.want)
			}
		})
	}
}

func TestSessionRules(t *testing.T) {
	// advanced is good one part later, its first segment gone from the window.
	advanced := strings.Replace(good, "#EXT-X-MEDIA-SEQUENCE:10\n#EXT-X-MAP:URI=\"init0.mp4\"\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z\n#EXTINF:2.00000,\nseg10.mp4\n", "#EXT-X-MEDIA-SEQUENCE:11\n#EXT-X-MAP:URI=\"init0.mp4\"\n", 1)
	for _, tc := range []struct {
		name, first, second, want string
	}{
		{"a window that slides", good, advanced, ""},
		{"target changed", good, strings.Replace(good, "TARGETDURATION:2", "TARGETDURATION:3", 1), "target duration changed"},
		{"media sequence back", advanced, good, "went back"},
		{"segment renamed", good, strings.Replace(good, "seg11.mp4", "segX.mp4", 1), "segment 11 changed"},
		{"part replaced", good, strings.Replace(good, `DURATION=0.2,URI="part7.mp4"`, `DURATION=0.1,URI="part7.mp4"`, 1), "in progress changed"},
		{"discontinuity sequence not advanced", strings.Replace(good, "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z", "#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z", 1), advanced, "discontinuity sequence 0, want 1"},
		{"discontinuity sequence advanced", strings.Replace(good, "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z", "#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z", 1), strings.Replace(advanced, "#EXT-X-MAP", "#EXT-X-DISCONTINUITY-SEQUENCE:1\n#EXT-X-MAP", 1), ""},
		{"program-date-time moved", good, strings.Replace(good, "00:00:02.000Z", "00:00:02.100Z", 1), "program-date-time changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Session{Options: opts}
			if err := s.Next([]byte(tc.first)); err != nil {
				t.Fatalf("first: %v", err)
			}
			err := s.Next([]byte(tc.second))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want one about %q", err, tc.want)
			}
		})
	}
}

// FuzzCheck: no playlist, however malformed, makes the validator panic; seeded from the
// cases above.
func FuzzCheck(f *testing.F) {
	f.Add(good)
	for _, c := range []struct{ old, new string }{
		{"#EXTINF:2.00000,", "#EXTINF:2.6,"},
		{`URI="part7.mp4"`, `URI="part9.mp4"`},
		{"#EXT-X-MAP", "#EXTINF:1,\nx.mp4\n#EXT-X-MEDIA-SEQUENCE:3\n#EXT-X-MAP"},
		{"00:00:02.000Z", "00:00:00.000Z"},
	} {
		f.Add(strings.Replace(good, c.old, c.new, 1))
	}
	f.Fuzz(func(t *testing.T, pl string) {
		_ = Check([]byte(pl), opts)
		s := Session{Options: opts}
		_ = s.Next([]byte(good))
		_ = s.Next([]byte(pl))
	})
}

// window is a live playlist of n complete 2 s segments from media sequence 10 (the first
// after a discontinuity when disc is set) and one part of the next, advertising delta
// updates; skip > 0 makes it the delta update that leaves out its first skip segments.
func window(n, skip int, disc bool) string {
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:10\n#EXT-X-TARGETDURATION:2\n")
	b.WriteString("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.6,CAN-SKIP-UNTIL=12\n")
	b.WriteString("#EXT-X-PART-INF:PART-TARGET=0.2\n#EXT-X-MEDIA-SEQUENCE:10\n")
	if skip > 0 {
		fmt.Fprintf(&b, "#EXT-X-SKIP:SKIPPED-SEGMENTS=%d\n", skip)
	}
	for i := skip; i < n; i++ {
		if disc && i == 1 {
			b.WriteString("#EXT-X-DISCONTINUITY\n")
		}
		if i == skip {
			b.WriteString("#EXT-X-MAP:URI=\"init0.mp4\"\n")
		}
		fmt.Fprintf(&b, "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:%02d.000Z\n#EXTINF:2.00000,\nseg%d.mp4\n", 2*i, 10+i)
	}
	fmt.Fprintf(&b, "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:%02d.000Z\n", 2*n)
	b.WriteString("#EXT-X-PART:DURATION=0.2,URI=\"part100.mp4\",INDEPENDENT=YES\n")
	b.WriteString("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part101.mp4\"\n")
	return b.String()
}

// TestDeltaUpdates: the rules of EXT-X-SKIP and CAN-SKIP-UNTIL, on their own and against the
// reload before.
func TestDeltaUpdates(t *testing.T) {
	for _, tc := range []struct {
		name, pl, want string
	}{
		{"full", window(8, 0, false), ""},
		{"delta", window(8, 1, false), ""},
		{"boundary under 6 target durations", strings.Replace(window(8, 0, false), "CAN-SKIP-UNTIL=12", "CAN-SKIP-UNTIL=11.9", 1), "under 6 × the target duration"},
		{"skipped within the boundary", window(7, 2, false), "within the skip boundary"},
		{"skip not advertised", strings.Replace(window(8, 1, false), ",CAN-SKIP-UNTIL=12", "", 1), "without CAN-SKIP-UNTIL"},
		{"version under 9", strings.Replace(window(8, 1, false), "VERSION:10", "VERSION:8", 1), "under 9"},
		{"skip after a segment's tags", strings.Replace(window(8, 0, false), "#EXTINF:2.00000,\nseg11.mp4\n", "#EXTINF:2.00000,\nseg11.mp4\n#EXT-X-SKIP:SKIPPED-SEGMENTS=1\n", 1), "after the first segment"},
		{"skip twice", strings.Replace(window(8, 1, false), "#EXT-X-SKIP:SKIPPED-SEGMENTS=1\n", "#EXT-X-SKIP:SKIPPED-SEGMENTS=1\n#EXT-X-SKIP:SKIPPED-SEGMENTS=1\n", 1), "a second EXT-X-SKIP"},
		{"skip without a count", strings.Replace(window(8, 1, false), "SKIPPED-SEGMENTS=1", "SKIPPED=1", 1), "needs SKIPPED-SEGMENTS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check([]byte(tc.pl), Options{})
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want one about %q", err, tc.want)
			}
		})
	}

	for _, tc := range []struct {
		name, first, second, want string
	}{
		{"a delta after the full playlist", window(8, 0, false), window(8, 1, false), ""},
		{"a delta skipping what was not listed", strings.Replace(window(8, 0, false), "MEDIA-SEQUENCE:10", "MEDIA-SEQUENCE:11", 1), window(8, 1, false), "the previous reload listed 0"},
		{"a delta whose segments differ", window(8, 0, false), strings.Replace(window(8, 1, false), "seg12.mp4", "segX.mp4", 1), "segment 12 changed"},
		{"a delta that keeps the discontinuity sequence", window(8, 0, true), window(8, 1, true), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Session{}
			if err := s.Next([]byte(tc.first)); err != nil {
				t.Fatalf("first: %v", err)
			}
			err := s.Next([]byte(tc.second))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want one about %q", err, tc.want)
			}
		})
	}
}
