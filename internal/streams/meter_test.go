package streams

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/media/stream"
)

// feed is a crafted stream: video frames of 30 fps with a keyframe every gop frames, 1 KB
// frames (240 kbit/s) and AAC frames of 1024 samples at 48 kHz of 400 bytes (150 kbit/s).
// Each second's units are handed to the meter before that second's sample; shape alters the
// order and grouping of the units.
const (
	frameSize = 1000
	audioSize = 400
	aacFrame  = time.Second * 1024 / 48000
)

func videoFrame(i, gop int, pts time.Duration) *stream.Unit {
	return &stream.Unit{Kind: stream.Video, PTS: pts, Key: i%gop == 0, Payload: [][]byte{make([]byte, frameSize)}}
}

func frameTime(i int) time.Duration { return time.Duration(i) * time.Second / 30 }

// videoSecond returns frames [30s, 30s+30) in presentation order.
func videoSecond(s, gop int) []*stream.Unit {
	var out []*stream.Unit
	for i := 30 * s; i < 30*(s+1); i++ {
		out = append(out, videoFrame(i, gop, frameTime(i)))
	}
	return out
}

// audioUntil returns the audio units whose PTS is in [from, to).
func audioUntil(from, to time.Duration) []*stream.Unit {
	var out []*stream.Unit
	for i := int((from + aacFrame - 1) / aacFrame); time.Duration(i)*aacFrame < to; i++ {
		out = append(out, &stream.Unit{Kind: stream.Audio, PTS: time.Duration(i) * aacFrame, Payload: [][]byte{make([]byte, audioSize)}})
	}
	return out
}

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// run hands each second's units to a meter, samples after each, and returns the points.
func run(seconds [][]*stream.Unit) []Point {
	m := newMeter()
	var out []Point
	for s, units := range seconds {
		for _, u := range units {
			m.add(u)
		}
		out = append(out, m.sample(t0.Add(time.Duration(s)*time.Second), time.Second))
	}
	return out
}

func near(got, want, tolerance float64) bool { return math.Abs(got-want) <= tolerance*want }

// checkSteady asserts each point from the second on (the first is the reorder buffer
// filling) measures 30 fps, 240 kbit/s video and the AAC rate.
func checkSteady(t *testing.T, points []Point, from, to int, keyframe float64) {
	t.Helper()
	audio := audioSize * 8 / aacFrame.Seconds()
	for i := from; i < to; i++ {
		p := points[i]
		if !near(p.Framerate, 30, 0.001) || !near(float64(p.VideoBitrate), 240_000, 0.001) || !near(float64(p.AudioBitrate), audio, 0.02) {
			t.Errorf("second %d: %.3f fps, video %d bps, audio %d bps; want 30 fps, 240000 bps, %.0f bps", i, p.Framerate, p.VideoBitrate, p.AudioBitrate, audio)
		}
		if keyframe >= 0 && p.KeyframeInterval != keyframe {
			t.Errorf("second %d: keyframe interval %.3f s, want %.3f", i, p.KeyframeInterval, keyframe)
		}
	}
}

func TestMeterSteady(t *testing.T) {
	var seconds [][]*stream.Unit
	for s := range 10 {
		units := videoSecond(s, 60)
		units = append(units, audioUntil(time.Duration(s)*time.Second, time.Duration(s+1)*time.Second)...)
		seconds = append(seconds, units)
	}
	points := run(seconds)
	checkSteady(t, points, 1, 2, 0)
	checkSteady(t, points, 3, 10, 2) // the second keyframe (frame 60) settles in second 2
}

// TestMeterBFrames: frames arrive in decode order (I P B B, P B B, …), so their PTS go back
// and forth; the meter still counts 30 frames a second.
func TestMeterBFrames(t *testing.T) {
	var seconds [][]*stream.Unit
	next := 0
	var order []int // decode order of frame numbers: 0, 3, 1, 2, 6, 4, 5, …
	order = append(order, 0)
	for i := 3; i < 400; i += 3 {
		order = append(order, i, i-2, i-1)
	}
	for s := range 10 {
		var units []*stream.Unit
		for ; next < len(order) && order[next] < 30*(s+1)+2; next++ { // decode runs 2 frames ahead
			units = append(units, videoFrame(order[next], 60, frameTime(order[next])))
		}
		units = append(units, audioUntil(time.Duration(s)*time.Second, time.Duration(s+1)*time.Second)...)
		seconds = append(seconds, units)
	}
	points := run(seconds)
	checkSteady(t, points, 1, 10, -1)
	if got := points[9].KeyframeInterval; got != 2 {
		t.Errorf("keyframe interval = %v, want 2", got)
	}
}

// TestMeterJitter: the network delivers the same stream in bursts (24 units one second, 36
// the next, a backlog of three seconds after a stall); rates follow the media, not arrival.
func TestMeterJitter(t *testing.T) {
	var all []*stream.Unit
	for s := range 12 {
		all = append(all, videoSecond(s, 60)...)
	}
	var seconds [][]*stream.Unit
	at := 0
	for _, n := range []int{30, 24, 36, 30, 0, 0, 90, 30, 27, 33} {
		seconds = append(seconds, all[at:at+n])
		at += n
	}
	points := run(seconds)
	for i, p := range points {
		if i == 0 || i == 5 {
			continue
		}
		if !near(p.Framerate, 30, 0.001) || !near(float64(p.VideoBitrate), 240_000, 0.001) {
			t.Errorf("second %d: %.3f fps, %d bps; want 30 fps, 240000 bps", i, p.Framerate, p.VideoBitrate)
		}
	}
	// Nothing arrived in seconds 4 and 5: second 4 counts the frames held back for
	// reordering, second 5 measures nothing.
	for _, i := range []int{5} {
		if p := points[i]; p.Framerate != 0 || p.VideoBitrate != 0 {
			t.Errorf("second %d with no media: %.1f fps, %d bps; want zeros", i, p.Framerate, p.VideoBitrate)
		}
	}
}

// TestMeterGaps: frames missing from the timestamps (an encoder dropping 10 frames) lower
// the frame rate of that second only; a stall after which timestamps jump ahead (a live
// encoder skipping the lost time) measures zero during the stall and 30 fps after it.
func TestMeterGaps(t *testing.T) {
	var seconds [][]*stream.Unit
	for s := range 4 {
		units := videoSecond(s, 60)
		if s == 2 {
			units = append(units[:10:10], units[20:]...)
		}
		seconds = append(seconds, units)
	}
	seconds = append(seconds, nil, nil) // stall: seconds 4 and 5 never arrive
	for s := 6; s < 10; s++ {
		seconds = append(seconds, videoSecond(s, 60))
	}
	points := run(seconds)
	// Second 4 counts the frames held back for reordering at the end of second 3.
	want := []float64{0, 30, 20, 30, 30, 0, 30, 30, 30, 30}
	var got []float64
	for i, p := range points {
		if i == 0 {
			got = append(got, 0)
			continue
		}
		got = append(got, math.Round(p.Framerate*1000)/1000)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("frame rates (-want +got):\n%s", diff)
	}
}

func TestMeterKeyframeInterval(t *testing.T) {
	var seconds [][]*stream.Unit
	for s := range 14 {
		seconds = append(seconds, videoSecond(s, 120)) // a keyframe every 4 s
	}
	points := run(seconds)
	for i, p := range points {
		want := 0.0
		if i >= 5 { // the second keyframe, at 4 s, settles early in second 5's batch... or 4's
			want = 4
		}
		if i >= 5 && p.KeyframeInterval != want {
			t.Errorf("second %d: keyframe interval %v, want %v", i, p.KeyframeInterval, want)
		}
		if i < 4 && p.KeyframeInterval != 0 {
			t.Errorf("second %d: keyframe interval %v before a second keyframe", i, p.KeyframeInterval)
		}
	}
}

func TestEncodeMinute(t *testing.T) {
	minute := t0.Unix() / 60
	points := []Point{
		{At: t0, VideoBitrate: 2_512_000, AudioBitrate: 128_000, Framerate: 30, KeyframeInterval: 2, Views: 3},
		{At: t0.Add(time.Second), VideoBitrate: 2_380_000, AudioBitrate: 129_000, Framerate: 29.97, KeyframeInterval: 2, Views: 4},
		{At: t0.Add(5 * time.Second)}, // a gap, then a starved second
		{At: t0.Add(59 * time.Second), VideoBitrate: 3_000, Framerate: 60, KeyframeInterval: 4.004, Views: 1},
	}
	raw := EncodeMinute(points)
	got, err := DecodeMinute(minute, raw)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(points, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if len(raw) > 1+len(points)*12 {
		t.Errorf("encoded %d points in %d bytes; want compact", len(points), len(raw))
	}
	for _, bad := range [][]byte{nil, {9}, {minuteFormat, 60, 0, 0, 0, 0, 0}, {minuteFormat, 1, 0x80}} {
		if _, err := DecodeMinute(minute, bad); err == nil {
			t.Errorf("DecodeMinute(%v) = nil error, want one", bad)
		}
	}
}

func TestAggregate(t *testing.T) {
	var points []Point
	for i := range 12 {
		if i == 7 {
			continue // a missing second
		}
		points = append(points, Point{At: t0.Add(time.Duration(i) * time.Second), VideoBitrate: 1000 * (i + 1), Framerate: 30, Views: i})
	}
	s := Aggregate(points, 5, t0.Add(2*time.Second), t0.Add(12*time.Second))
	f := func(v float64) *float64 { return &v }
	if !s.AlignedStart.Equal(t0) || s.Period != 5 {
		t.Errorf("aligned start %v period %d, want %v 5", s.AlignedStart, s.Period, t0)
	}
	// from aligns down to 0: bucket [0,5) holds seconds 0..4, [5,10) seconds 5, 6, 8, 9 and
	// [10,15) seconds 10, 11.
	if diff := cmp.Diff([]*float64{f(3000), f(8000), f(11500)}, s.VideoBitrate); diff != "" {
		t.Errorf("video bitrate (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]*float64{nil, nil, nil}, s.KeyframeInterval); diff != "" {
		t.Errorf("keyframe interval without keyframes (-want +got):\n%s", diff)
	}
	if s.Averages.Framerate != 30 || s.Averages.VideoBitrate != round3(float64(1000+2000+3000+4000+5000+6000+7000+9000+10000+11000+12000)/11) {
		t.Errorf("averages %+v", s.Averages)
	}
	empty := Aggregate(nil, 60, t0, t0.Add(3*time.Minute))
	if diff := cmp.Diff([]*float64{nil, nil, nil}, empty.Framerate); diff != "" {
		t.Errorf("no points (-want +got):\n%s", diff)
	}
}

func TestConfigWarnings(t *testing.T) {
	ok := &IngestConfig{Width: 1280, Height: 720, TargetBitrate: 2_500_000, AudioSampleRate: 48000, AudioChannels: 2, AudioBitrate: 128_000}
	tests := []struct {
		name     string
		typ      string
		change   func(c *IngestConfig)
		keyframe float64
		want     []string
	}{
		{"fine", "BASIC", func(*IngestConfig) {}, 2, nil},
		{"keyframe 4 s", "BASIC", func(*IngestConfig) {}, 4, []string{"keyframeInterval"}},
		{"keyframe 3 s", "BASIC", func(*IngestConfig) {}, 3, []string{"keyframeInterval"}},
		{"over 1080p", "STANDARD", func(c *IngestConfig) { c.Width, c.Height = 2560, 1440 }, 2, []string{"resolution"}},
		{"BASIC 480p over 1.5", "BASIC", func(c *IngestConfig) { c.Width, c.Height = 854, 480 }, 2, []string{"targetBitrate"}},
		{"BASIC 720p over 3.5", "BASIC", func(c *IngestConfig) { c.TargetBitrate = 4_000_000 }, 2, []string{"targetBitrate"}},
		{"STANDARD 720p 4 Mbps", "STANDARD", func(c *IngestConfig) { c.TargetBitrate = 4_000_000 }, 2, nil},
		{"odd sample rate", "BASIC", func(c *IngestConfig) { c.AudioSampleRate = 32000 }, 2, []string{"audioSampleRate"}},
		{"5.1 audio", "BASIC", func(c *IngestConfig) { c.AudioChannels = 6 }, 2, []string{"audioChannels"}},
		{"audio 384 kbps", "BASIC", func(c *IngestConfig) { c.AudioBitrate = 384_000 }, 2, []string{"audioBitrate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *ok
			tt.change(&c)
			var got []string
			for _, w := range ConfigWarnings(tt.typ, &c, tt.keyframe) {
				got = append(got, w.Field)
				if w.Message == "" {
					t.Errorf("warning %s has no message", w.Field)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	breach := &Event{Name: EventLimitBreach, Type: "IVS Limit Breach", Detail: breach{Name: "Bitrate", Value: 1_500_000, ExceededBy: 500_000, Unit: "bps"}.detail()}
	d := Describe(breach)
	if d.Label != "Bitrate limit breach" || d.Severity != SeverityError || d.Message == "" {
		t.Errorf("Describe(bitrate breach) = %+v", d)
	}
	for name, want := range map[string]string{
		EventSessionCreated: "Session created", EventStreamStart: "Stream started", EventStreamEnd: "Stream ended",
		EventSessionEnded: "Session ended", EventStarvationStart: "Poor stability", EventStarvationEnd: "Good stability",
	} {
		if got := Describe(&Event{Name: name}).Label; got != want {
			t.Errorf("Describe(%s).Label = %q, want %q", name, got, want)
		}
	}
}
