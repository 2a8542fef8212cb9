package llhls

import (
	"bytes"
	"context"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"
	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/media/llhls/validate"
)

// Baseline SPSs (pic_order_cnt_type 2: decode order is presentation order) from x264.
var (
	sps1080 = []byte{0x67, 0x42, 0xc0, 0x28, 0xd9, 0x00, 0x78, 0x02, 0x27, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc9, 0x20}
	pps1080 = []byte{0x08, 0x06, 0x07, 0x08}
	sps360  = []byte{0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x0f, 0x16, 0x2e, 0x48}
	pps360  = []byte{0x68, 0xcb, 0x83, 0xcb, 0x20}
	aac     = &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelConfig: 2}
)

var testConfig = Config{SegmentMinDuration: 2 * time.Second, PartTarget: 200 * time.Millisecond, SegmentCount: 7}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// frame is video frame i at 30 fps with a keyframe every gop frames.
func frame(i, gop int, sps, pps []byte) (int64, [][]byte) {
	pts := int64(i) * 3000
	if i%gop == 0 {
		return pts, [][]byte{sps, pps, {0x65, 0x88, byte(i)}}
	}
	return pts, [][]byte{{0x41, 0x9a, byte(i)}}
}

// watcher checks every rendering of a playlist with the validator, as reloads would.
type watcher struct {
	t     *testing.T
	m     *Muxer
	name  string
	s     validate.Session
	last  []byte
	count int
}

func (w *watcher) check() {
	w.t.Helper()
	body, _, _, _ := w.m.Playlist(w.name)
	if body == nil || bytes.Equal(body, w.last) {
		return
	}
	w.last = body
	w.count++
	if err := w.s.Next(body); err != nil {
		w.t.Fatalf("reload %d of %s:\n%v\n%s", w.count, w.name, err, body)
	}
}

func TestVideoAndAudio(t *testing.T) {
	m, err := New(testConfig, Tracks{SPS: sps1080, PPS: pps1080, AAC: aac})
	if err != nil {
		t.Fatal(err)
	}
	vw := &watcher{t: t, m: m, name: "video1_stream.m3u8"}
	aw := &watcher{t: t, m: m, name: "audio2_stream.m3u8"}
	audioPTS := int64(0)
	for i := range 30 * 20 {
		pts, au := frame(i, 60, sps1080, pps1080)
		if err := m.WriteH264(pts, t0.Add(time.Duration(pts)*time.Second/VideoClock), au); err != nil {
			t.Fatal(err)
		}
		for ; audioPTS < pts; audioPTS += 1920 { // 1024 samples at 48 kHz, rounded to ms as RTMP does
			ms := audioPTS / 90 * 90
			if err := m.WriteAAC(ms, t0.Add(time.Duration(ms)*time.Second/VideoClock), []byte{1, 2, 3}); err != nil {
				t.Fatal(err)
			}
		}
		vw.check()
		aw.check()
	}
	if vw.count < 50 || aw.count < 50 {
		t.Errorf("%d and %d renderings", vw.count, aw.count)
	}
	for _, name := range m.Playlists() {
		body, _, _, _ := m.Playlist(name)
		pl, err := validate.Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		if pl.Target != 2 || len(pl.Segments) != 7 {
			t.Errorf("%s: target %d, %d segments:\n%s", name, pl.Target, len(pl.Segments), body)
		}
		for _, s := range pl.Segments[:len(pl.Segments)-1] {
			if s.Duration < 1.9 || s.Duration > 2.1 {
				t.Errorf("%s: segment %d lasts %.5f", name, s.MSN, s.Duration)
			}
		}
		// A segment is its parts, one after the other; each part a fragment of one track.
		last := pl.Segments[len(pl.Segments)-1]
		seg := media(t, m, last.URI)
		var cat []byte
		for _, p := range last.Parts {
			b := media(t, m, p.URI)
			var parts fmp4.Parts
			if err := parts.Unmarshal(b); err != nil || len(parts) != 1 {
				t.Fatalf("part %s: %v", p.URI, err)
			}
			cat = append(cat, b...)
		}
		if !bytes.Equal(seg, cat) {
			t.Errorf("%s: segment %s is not its parts", name, last.URI)
		}
		if init := media(t, m, regexp.MustCompile(`URI="([^"]+_init0\.mp4)"`).FindStringSubmatch(string(body))[1]); len(init) == 0 {
			t.Error("no init section")
		}
	}
	if v, a := m.Info(); v.Codec != "avc1.42c028" || v.Height != 1080 || a.Codec != "mp4a.40.2" || v.Peak == 0 {
		t.Errorf("info: %+v %+v", v, a)
	}
	m.Close()
	body, _, final, _ := m.Playlist("video1_stream.m3u8")
	if !final || !strings.HasSuffix(string(body), "#EXT-X-ENDLIST\n") || strings.Contains(string(body), "PRELOAD-HINT") {
		t.Errorf("after Close:\n%s", body)
	}
	if err := validate.Check(body, validate.Options{}); err != nil {
		t.Error(err)
	}
}

func media(t *testing.T, m *Muxer, name string) []byte {
	t.Helper()
	pieces, ok := m.Media(context.Background(), name, time.Second)
	if !ok {
		t.Fatalf("no %s", name)
	}
	return bytes.Join(pieces, nil)
}

// TestHintedPartWaits: the part a playlist hints at is answered once it is made.
func TestHintedPartWaits(t *testing.T) {
	m, err := New(testConfig, Tracks{SPS: sps1080, PPS: pps1080})
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	write := func(n int) {
		for range n {
			pts, au := frame(i, 60, sps1080, pps1080)
			if err := m.WriteH264(pts, t0, au); err != nil {
				t.Fatal(err)
			}
			i++
		}
	}
	write(70)
	body, _, _, _ := m.Playlist("video1_stream.m3u8")
	pl, err := validate.Parse(body)
	if err != nil || pl.Hint == "" {
		t.Fatalf("%v\n%s", err, body)
	}
	got := make(chan bool)
	go func() {
		_, ok := m.Media(context.Background(), pl.Hint, time.Minute)
		got <- ok
	}()
	write(10)
	if !<-got {
		t.Error("the hinted part was not served once made")
	}
	if _, ok := m.Media(context.Background(), strings.Replace(pl.Hint, "part", "part9", 1), time.Minute); ok {
		t.Error("a part far ahead was served")
	}
}

// TestNewSPSStartsADiscontinuity: an encoder that changes resolution mid-segment (OBS
// changing its canvas) gets a segment cut at the new keyframe, after EXT-X-DISCONTINUITY and
// with a new init section carrying the new SPS.
func TestNewSPSStartsADiscontinuity(t *testing.T) {
	m, err := New(testConfig, Tracks{SPS: sps1080, PPS: pps1080, AAC: aac})
	if err != nil {
		t.Fatal(err)
	}
	w := &watcher{t: t, m: m, name: "video1_stream.m3u8"}
	aw := &watcher{t: t, m: m, name: "audio2_stream.m3u8"}
	audioPTS := int64(0)
	for i := range 30 * 36 {
		sps, pps := sps1080, pps1080
		if i >= 200 && i < 500 {
			sps, pps = sps360, pps360
		}
		pts, au := frame(i, 60, sps, pps)
		if i == 200 || i == 500 { // a keyframe off the 2 s grid: the new configuration
			au = [][]byte{sps, pps, {0x65, 0x88}}
		}
		if err := m.WriteH264(pts, t0.Add(time.Duration(pts)*time.Second/VideoClock), au); err != nil {
			t.Fatal(err)
		}
		for ; audioPTS < pts; audioPTS += 1920 {
			if err := m.WriteAAC(audioPTS, t0, []byte{1}); err != nil {
				t.Fatal(err)
			}
		}
		w.check()
		aw.check()
		if i == 250 {
			// The audio rendition marks the discontinuity under the same number (hls.js
			// matches audio to video fragments by discontinuity sequence).
			vb, _, _, _ := m.Playlist(w.name)
			ab, _, _, _ := m.Playlist(aw.name)
			vp, _ := validate.Parse(vb)
			ap, _ := validate.Parse(ab)
			discs := func(p *validate.Media) (out []uint64) {
				for _, s := range p.Segments {
					if s.Disc {
						out = append(out, s.MSN)
					}
				}
				return out
			}
			if v, a := discs(vp), discs(ap); len(v) != 1 || !cmp.Equal(v, a) {
				t.Errorf("discontinuities at %v in video, %v in audio", v, a)
			}
		}
		if i == 250 {
			body, _, _, _ := m.Playlist(w.name)
			if n := strings.Count(string(body), "#EXT-X-DISCONTINUITY\n"); n != 1 {
				t.Fatalf("%d discontinuities after the change:\n%s", n, body)
			}
			init := regexp.MustCompile(`#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="([^"]+)"`).FindStringSubmatch(string(body))
			if init == nil || !strings.HasSuffix(init[1], "_init1.mp4") {
				t.Fatalf("no new init section after the discontinuity:\n%s", body)
			}
			var in fmp4.Init
			if err := in.Unmarshal(bytes.NewReader(media(t, m, init[1]))); err != nil {
				t.Fatal(err)
			}
			if h, ok := in.Tracks[0].Codec.(*codecs.H264); !ok || !bytes.Equal(h.SPS, sps360) {
				t.Errorf("the new init section carries %#v", in.Tracks[0].Codec)
			}
		}
	}
	// Both discontinuities have left the window: the discontinuity sequence counts them.
	body, _, _, _ := m.Playlist(w.name)
	if !strings.Contains(string(body), "#EXT-X-DISCONTINUITY-SEQUENCE:2\n") {
		t.Errorf("after both changes left the window:\n%s", body)
	}
}

// TestFollowerGap: a rendition that follows the source and misses some of its segments (its
// transcoder restarted) lists them as EXT-X-GAP under the source's numbers, and reports
// the same sequence numbers and program-date-times for the segments both have.
func TestFollowerGap(t *testing.T) {
	sched := &Schedule{}
	lead, err := New(Config{SegmentMinDuration: time.Second, PartTarget: 200 * time.Millisecond, SegmentCount: 7, Schedule: sched}, Tracks{SPS: sps1080, PPS: pps1080})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{SegmentMinDuration: time.Second, PartTarget: 200 * time.Millisecond, SegmentCount: 7, Schedule: sched, Follow: true}, Tracks{}); err == nil {
		t.Fatal("a muxer without tracks")
	}
	follow, err := New(Config{SegmentMinDuration: time.Second, PartTarget: 200 * time.Millisecond, SegmentCount: 7, Schedule: sched, Follow: true}, Tracks{SPS: sps360, PPS: pps360})
	if err != nil {
		t.Fatal(err)
	}
	w := &watcher{t: t, m: follow, name: "video1_stream.m3u8"}
	for i := range 30 * 14 {
		pts, au := frame(i, 15, sps1080, pps1080)
		if err := lead.WriteH264(pts, t0.Add(time.Duration(pts)*time.Second/VideoClock), au); err != nil {
			t.Fatal(err)
		}
		if j := i - 10; j >= 20 && (j < 150 || j >= 255) { // it starts late, and stops from 5 s to 8.5 s
			pts, au := frame(j, 15, sps360, pps360)
			if err := follow.WriteH264(pts, time.Time{}, au); err != nil {
				t.Fatal(err)
			}
			w.check()
		}
	}
	lb, _, _, _ := lead.Playlist("video1_stream.m3u8")
	fb, _, _, _ := follow.Playlist("video1_stream.m3u8")
	lp, _ := validate.Parse(lb)
	fp, _ := validate.Parse(fb)
	if n := strings.Count(string(fb), "#EXT-X-GAP"); n < 2 {
		t.Errorf("%d gaps:\n%s", n, fb)
	}
	byMSN := map[uint64]validate.Segment{}
	for _, s := range lp.Segments {
		byMSN[s.MSN] = s
	}
	for _, s := range fp.Segments {
		l, ok := byMSN[s.MSN]
		if !ok {
			continue
		}
		if !l.PDT.Equal(s.PDT) {
			t.Errorf("segment %d: program-date-time %v, the source's %v", s.MSN, s.PDT, l.PDT)
		}
		if !s.Gap && s.Duration != l.Duration && s.MSN+1 < fp.MediaSequence+uint64(len(fp.Segments)) {
			if next, ok := byMSN[s.MSN+1]; ok && next.Gap == false {
				t.Logf("segment %d: %.5f vs the source's %.5f", s.MSN, s.Duration, l.Duration)
			}
		}
	}
}

// TestPartsNeverOverrunTheTarget: with the jittery timing of a WebRTC publisher, no part is
// longer than PART-TARGET and every reload passes the validator.
func TestPartsNeverOverrunTheTarget(t *testing.T) {
	m, err := New(testConfig, Tracks{SPS: sps1080, PPS: pps1080, OpusChannels: 2})
	if err != nil {
		t.Fatal(err)
	}
	vw := &watcher{t: t, m: m, name: "video1_stream.m3u8"}
	aw := &watcher{t: t, m: m, name: "audio2_stream.m3u8"}
	rng := rand.New(rand.NewPCG(1, 2))
	pts, audio := int64(0), int64(0)
	opusPacket := []byte{0xfc, 1, 2} // 20 ms CELT
	for i := range 30 * 30 {
		_, au := frame(i, 60, sps1080, pps1080)
		if err := m.WriteH264(pts, t0.Add(time.Duration(pts)*time.Second/VideoClock), au); err != nil {
			t.Fatal(err)
		}
		for ; audio < pts; audio += 1800 {
			if err := m.WriteOpus(audio+rng.Int64N(900), t0, opusPacket); err != nil {
				t.Fatal(err)
			}
		}
		vw.check()
		aw.check()
		pts += 1500 + rng.Int64N(4000) // 17 to 61 ms
		if i%97 == 0 {
			pts += 30000 // a 333 ms stall
		}
	}
	if vw.count < 50 || aw.count < 50 {
		t.Errorf("%d and %d renderings", vw.count, aw.count)
	}
}

// TestDatesFollowTheMedia: an encoder connects with 3 s of media buffered and sends it at
// once, later it misses 6 s of media. Within a discontinuity each segment's program-date-time
// is the previous one's plus its EXTINF (players align reloads and renditions by these dates:
// hls.js moved its timeline by a disagreement and a viewer started a keyframe early); where
// the clock's estimate has moved (the backlog drained) a segment begins a new mapping after
// a discontinuity, so that once the backlog is gone the dates are the capture times again.
func TestDatesFollowTheMedia(t *testing.T) {
	m, err := New(testConfig, Tracks{SPS: sps1080, PPS: pps1080})
	if err != nil {
		t.Fatal(err)
	}
	capture := t0 // when frame 0 was captured
	w := &watcher{t: t, m: m, name: "video1_stream.m3u8"}
	const frames, missing = 30 * 20, 30 * 6 // 20 s of media, then 6 s missing, then 20 s
	for i := range 2 * frames {
		n := i
		if i >= frames {
			n = i + missing
		}
		pts, au := frame(n, 60, sps1080, pps1080)
		media := time.Duration(pts) * time.Second / VideoClock
		arrival := capture.Add(media + 100*time.Millisecond)
		if media < 3*time.Second {
			arrival = capture.Add(3*time.Second + media/100) // the backlog, sent at once
		}
		if err := m.WriteH264(pts, arrival, au); err != nil {
			t.Fatal(err)
		}
		w.check()
		check := map[int]string{30 * 7: "the backlog drained", frames - 1: "steady", frames + 30*6: "after the missing media"}
		what, ok := check[i]
		if !ok {
			continue
		}
		body, _, _, _ := m.Playlist("video1_stream.m3u8")
		if err := validate.Check(body, validate.Options{}); err != nil {
			t.Fatalf("%v\n%s", err, body)
		}
		pl, err := validate.Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		discs := 0
		for k, s := range pl.Segments {
			if k > 0 && s.Disc && (what != "steady" || s.MSN > 3) {
				discs++ // the backlog's are over by segment 3
			}
			if k > 0 && !s.Disc {
				prev := pl.Segments[k-1]
				want := prev.PDT.Add(time.Duration(prev.Duration * float64(time.Second)))
				if d := s.PDT.Sub(want); d < -time.Millisecond || d > time.Millisecond {
					t.Errorf("%s: segment %d: program-date-time %v, want the previous one's plus its %.3f s: %v", what, s.MSN, s.PDT, prev.Duration, want)
				}
			}
			// Once the backlog has drained the dates are the capture times (the least delay
			// seen: the backlog's last frame came 63 ms after its capture, the rest 100 ms);
			// a new date comes at least half a segment after the one before, so catching up
			// 3 s takes until segment 3.
			if s.MSN < 3 {
				continue
			}
			start := time.Duration(s.MSN) * 2 * time.Second
			if s.MSN >= 10 {
				start += 6 * time.Second // the missing media
			}
			if want, d := capture.Add(start+80*time.Millisecond), 30*time.Millisecond; s.PDT.Before(want.Add(-d)) || s.PDT.After(want.Add(d)) {
				t.Errorf("%s: segment %d: program-date-time %v, want about %v", what, s.MSN, s.PDT, want)
			}
		}
		if discs == 0 && what != "steady" {
			t.Errorf("%s: no discontinuity in the playlist:\n%s", what, body)
		}
		if discs > 0 && what == "steady" {
			t.Errorf("%s: %d discontinuities in the playlist:\n%s", what, discs, body)
		}
	}
}

// TestMarshalPartIsMediacommons: the part writer writes what mediacommon's fmp4.Part.Marshal
// writes.
func TestMarshalPartIsMediacommons(t *testing.T) {
	for _, tc := range []struct {
		name    string
		samples []*sample
	}{
		{"video", []*sample{
			{dts: 0, pts: 3000, dur: 3000, key: true, nalus: [][]byte{{0x65, 1, 2}, {0x65, 3}}},
			{dts: 3000, pts: 9000, dur: 3000, nalus: [][]byte{{0x41, 4}}},
			{dts: 6000, pts: 6000, dur: 2999, nalus: [][]byte{{0x01, 5, 6, 7}}},
		}},
		{"audio", []*sample{{dts: 0, pts: 0, dur: 1024, key: true, data: []byte{9, 9}}, {dts: 1024, pts: 1024, dur: 1024, key: true, data: []byte{8}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := marshalPart(7, 1, 900000, tc.samples, nil)
			pt := &fmp4.PartTrack{ID: 1, BaseTime: 900000}
			for _, s := range tc.samples {
				payload := s.data
				if s.nalus != nil {
					payload = nil
					for _, n := range s.nalus {
						payload = append(payload, 0, 0, byte(len(n)>>8), byte(len(n)))
						payload = append(payload, n...)
					}
				}
				pt.Samples = append(pt.Samples, &fmp4.Sample{Duration: uint32(s.dur), PTSOffset: int32(s.pts - s.dts), IsNonSyncSample: !s.key, Payload: payload})
			}
			var buf seekablebuffer.Buffer
			if err := (fmp4.Part{SequenceNumber: 7, Tracks: []*fmp4.PartTrack{pt}}).Marshal(&buf); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(buf.Bytes(), got); diff != "" {
				t.Errorf("-mediacommon +ours:\n%s", diff)
			}
			if cap(got) != len(got) {
				t.Errorf("a part of %d bytes holds %d", len(got), cap(got))
			}
		})
	}
}

func BenchmarkWriteH264(b *testing.B) {
	m, err := New(testConfig, Tracks{SPS: sps1080, PPS: pps1080})
	if err != nil {
		b.Fatal(err)
	}
	payload := bytes.Repeat([]byte{0x9a}, 12000) // a 3 Mbps frame
	i := 0
	for b.Loop() {
		pts, au := frame(i, 60, sps1080, pps1080)
		au[len(au)-1] = append(au[len(au)-1][:3:3], payload...)
		if err := m.WriteH264(pts, t0, au); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// FuzzWriteH264: access units from the network never make the muxer panic, and what it
// makes keeps the rules; seeded from the frames of the tests above.
func FuzzWriteH264(f *testing.F) {
	f.Add([]byte{0x65, 0x88, 0}, []byte{0x41, 0x9a, 1}, uint16(3000), true)
	f.Add(sps360, pps360, uint16(0), false)
	f.Add([]byte{0x67}, []byte{0x65}, uint16(65535), true)
	f.Fuzz(func(t *testing.T, a, b []byte, step uint16, newParams bool) {
		m, err := New(testConfig, Tracks{SPS: sps1080, PPS: pps1080, AAC: aac})
		if err != nil {
			t.Fatal(err)
		}
		pts := int64(0)
		for i := range 200 {
			_, au := frame(i, 30, sps1080, pps1080)
			switch {
			case i%7 == 3:
				au = [][]byte{a, b}
			case i%30 == 0 && newParams && i > 0:
				au = [][]byte{a, pps360, {0x65, 1}}
			}
			_ = m.WriteH264(pts, t0, au)
			_ = m.WriteAAC(pts, t0, b)
			pts += int64(step)
		}
		body, _, _, _ := m.Playlist("video1_stream.m3u8")
		if body != nil {
			if _, err := validate.Parse(body); err != nil {
				t.Fatalf("%v\n%s", err, body)
			}
		}
	})
}

// TestPartsHeldAtExactSize: what a stream holds is its window of media, each part at its
// exact size (no buffer grown by doubling), and nothing older.
func TestPartsHeldAtExactSize(t *testing.T) {
	m, err := New(testConfig, Tracks{SPS: sps1080, PPS: pps1080, AAC: aac})
	if err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte{0x9a}, 12_500) // 3 Mbps at 30 fps
	audioPTS := int64(0)
	for i := range 30 * 60 {
		pts, au := frame(i, 60, sps1080, pps1080)
		au[len(au)-1] = append(au[len(au)-1][:3:3], payload...)
		if err := m.WriteH264(pts, t0, au); err != nil {
			t.Fatal(err)
		}
		for ; audioPTS < pts; audioPTS += 1920 {
			if err := m.WriteAAC(audioPTS, t0, make([]byte, 340)); err != nil { // 128 kbps
				t.Fatal(err)
			}
		}
	}
	for _, tr := range m.tracks {
		held, media := 0, 0
		slabsUsed := map[*slab]bool{}
		for _, s := range append(append([]*segment{}, tr.segs...), tr.cur) {
			for _, p := range s.parts {
				n := 0
				for _, piece := range p.data {
					if cap(piece) != len(piece) {
						t.Errorf("%s part %d: a piece of %d bytes in %d", tr.name, p.n, len(piece), cap(piece))
					}
					n += len(piece)
				}
				if n != p.size {
					t.Errorf("%s part %d: %d bytes in pieces for %d", tr.name, p.n, n, p.size)
				}
				held += n
				for _, sl := range p.slabs {
					slabsUsed[sl] = true
				}
			}
			media += s.size
		}
		if len(tr.segs) != testConfig.SegmentCount || held != media {
			t.Errorf("%s: %d segments, %d bytes held for %d of media", tr.name, len(tr.segs), held, media)
		}
		if tr == m.video && (held < 7*2*3_000_000/8 || held > 9*2*3_100_000/8) {
			t.Errorf("video holds %d bytes: not the 7 segments of 2 s at 3 Mbps and the one in progress", held)
		}
		// The slabs the track references are those of its window, less than a slab wasted at
		// either end of it.
		if len(tr.st.slabs) != len(slabsUsed) || len(slabsUsed)*slabSize > held+2*slabSize {
			t.Errorf("%s: %d slabs referenced, %d used by its parts, for %d bytes", tr.name, len(tr.st.slabs), len(slabsUsed), held)
		}
	}
}
