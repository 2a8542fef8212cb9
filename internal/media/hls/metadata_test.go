package hls

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"github.com/livehouse/livehouse/internal/media/llhls"
	"github.com/livehouse/livehouse/internal/media/stream"
	"regexp"
	"strings"
	"testing"
	"time"

	amp4 "github.com/abema/go-mp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
)

// fragment builds one fMP4 fragment whose video starts at base (fMP4 timeline) with n frames
// of 3000 ticks, a keyframe first when key is set.
func fragment(t *testing.T, base uint64, n int, key bool) []byte {
	t.Helper()
	var samples []*fmp4.Sample
	for i := 0; i < n; i++ {
		samples = append(samples, &fmp4.Sample{Duration: 3000, IsNonSyncSample: i > 0 || !key, Payload: []byte{0, 0, 0, 1, 0x65}})
	}
	p := fmp4.Part{SequenceNumber: 1, Tracks: []*fmp4.PartTrack{{ID: 1, BaseTime: base, Samples: samples}}}
	var buf seekablebuffer.Buffer
	if err := p.Marshal(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// emsgs decodes the emsg boxes at the top level of a part or segment.
func emsgs(t *testing.T, body []byte) (times []uint64, envs []Envelope) {
	t.Helper()
	boxes, err := amp4.ExtractBoxWithPayload(bytes.NewReader(body), nil, amp4.BoxPath{amp4.BoxTypeEmsg()})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range boxes {
		e := b.Payload.(*amp4.Emsg)
		if e.SchemeIdUri != llhls.EmsgScheme || e.Timescale != videoClock {
			t.Fatalf("emsg scheme %q timescale %d", e.SchemeIdUri, e.Timescale)
		}
		data := e.MessageData
		if !bytes.HasPrefix(data, []byte("ID3\x04")) || string(data[10:14]) != "TXXX" {
			t.Fatalf("not an ID3v2.4 TXXX tag: %q", data)
		}
		value := data[bytes.IndexByte(data[21:], 0)+22:] // after encoding byte, "livehouse" and its NUL
		var env Envelope
		if err := json.Unmarshal(value, &env); err != nil {
			t.Fatalf("payload %q: %v", value, err)
		}
		times = append(times, e.PresentationTime)
		envs = append(envs, env)
	}
	return times, envs
}

func TestTimedMetadataInParts(t *testing.T) {
	tl := newTimeline()
	start := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	// Frames up to 0.5 s are written; a quiz of 4 s is stamped at the next frame (0.5 s).
	tl.Stamp(0, start)
	tl.Put(Metadata{ID: "quiz-1", Payload: json.RawMessage(`{"name":"quiz"}`), Duration: 4 * time.Second})
	tl.Stamp(45000, start.Add(500*time.Millisecond))
	at := uint64(muxerStartDTS + 45000)

	// The part before it carries nothing; the part holding 0.5 s carries the cue at 0.5 s.
	before := fragment(t, muxerStartDTS, 15, true) // [0, 0.5 s)
	if got := withMetadata(tl, before); !bytes.Equal(got, before) {
		t.Errorf("a part before the cue changed")
	}
	holding := fragment(t, at-3000, 6, false)
	times, envs := emsgs(t, withMetadata(tl, holding))
	if len(times) != 1 || times[0] != at || envs[0].ID != "quiz-1" || envs[0].Elapsed != 0 || string(envs[0].Event) != `{"name":"quiz"}` {
		t.Fatalf("part with the cue: times %v envs %+v", times, envs)
	}
	// The part is still a valid fragment after the box.
	var parts fmp4.Parts
	if err := parts.Unmarshal(withMetadata(tl, holding)); err != nil || len(parts) != 1 {
		t.Errorf("rewritten part does not parse: %v", err)
	}

	// A later part starting on a keyframe announces it again, with how far into it it is.
	seg2 := uint64(muxerStartDTS + 2*videoClock)
	times, envs = emsgs(t, withMetadata(tl, fragment(t, seg2, 6, true)))
	if len(times) != 1 || times[0] != seg2 || envs[0].ID != "quiz-1" || envs[0].Elapsed != 1500 {
		t.Fatalf("segment start: times %v envs %+v", times, envs)
	}
	// ... but not in a part without a keyframe, nor once the cue has run its course.
	if times, _ := emsgs(t, withMetadata(tl, fragment(t, seg2+18000, 6, false))); len(times) != 0 {
		t.Errorf("a non-independent part repeats the cue")
	}
	if times, _ := emsgs(t, withMetadata(tl, fragment(t, muxerStartDTS+6*videoClock, 6, true))); len(times) != 0 {
		t.Errorf("an expired cue is announced")
	}

	// A segment made of parts gets the same boxes as its parts.
	seg := append(append([]byte{}, before...), holding...)
	if times, _ := emsgs(t, withMetadata(tl, seg)); len(times) != 1 || times[0] != at {
		t.Errorf("segment: %v", times)
	}

	// Clearing stops the announcements from its media time on, and says so in-band.
	tl.Put(Metadata{ID: "quiz-1"})
	tl.Stamp(3*videoClock, start.Add(3*time.Second))
	times, envs = emsgs(t, withMetadata(tl, fragment(t, muxerStartDTS+3*videoClock, 6, true)))
	if len(times) != 1 || string(envs[0].Event) != "null" {
		t.Fatalf("clear: times %v envs %+v", times, envs)
	}
	if times, _ := emsgs(t, withMetadata(tl, fragment(t, muxerStartDTS+4*videoClock, 6, true))); len(times) != 0 {
		t.Errorf("a cleared cue is announced")
	}

	// The playlist lists the cue as a DATERANGE with its start date and payload.
	ranges := tl.DateRanges()
	if !strings.Contains(ranges, `START-DATE="2026-12-02T10:00:00.500Z"`) || !strings.Contains(ranges, `END-DATE="2026-12-02T10:00:03.000Z"`) || strings.Contains(ranges, "DURATION") {
		t.Fatalf("daterange: %s", ranges)
	}
	b64 := ranges[strings.Index(ranges, `X-PAYLOAD="`)+11:]
	raw, err := base64.StdEncoding.DecodeString(b64[:strings.IndexByte(b64, '"')])
	if err != nil || !strings.Contains(string(raw), `"id":"quiz-1"`) {
		t.Errorf("X-PAYLOAD %q: %v", raw, err)
	}
	tl.Put(Metadata{ID: "notice-1", Payload: json.RawMessage(`{"name":"notice"}`), Duration: 2 * time.Second})
	tl.Stamp(5*videoClock, start.Add(5*time.Second))
	if ranges := tl.DateRanges(); !strings.Contains(ranges, `ID="notice-1-3",CLASS="net.livehouse.metadata",START-DATE="2026-12-02T10:00:05.000Z",DURATION=2.000,`) {
		t.Errorf("a timed cue that runs its course: %s", ranges)
	}
	pl := string(withDateRanges([]byte(edgePlaylist), tl))
	if strings.Index(pl, "#EXT-X-DATERANGE") > strings.Index(pl, "#EXT-X-PROGRAM-DATE-TIME") || strings.Count(pl, "#EXT-X-DATERANGE") != 2 {
		t.Errorf("playlist with dateranges:\n%s", pl)
	}
}

// withMetadata returns a fragment (or fragments) with the timeline's emsg boxes in front of
// each, as the packager asks for them (Config.Metadata) when it makes a part. Bytes that do not parse as fMP4 fragments are returned unchanged.
func withMetadata(t *timeline, body []byte) []byte {
	var out []byte
	changed := false
	for pos := 0; pos < len(body); {
		size, typ, ok := boxAt(body, pos)
		if !ok {
			return body
		}
		if typ == "moof" {
			fragEnd := pos + size
			if next, ntyp, ok := boxAt(body, fragEnd); ok && ntyp == "mdat" {
				fragEnd += next
			}
			if d0, d1, sync, ok := videoSpan(body[pos:fragEnd]); ok {
				for _, box := range t.Announcements(d0, d1, sync) {
					if !changed {
						out = append(make([]byte, 0, len(body)+len(box)), body[:pos]...)
						changed = true
					}
					out = append(out, box...)
				}
			}
			if changed {
				out = append(out, body[pos:fragEnd]...)
			}
			pos = fragEnd
			continue
		}
		if changed {
			out = append(out, body[pos:pos+size]...)
		}
		pos += size
	}
	if !changed {
		return body
	}
	return out
}

func boxAt(b []byte, pos int) (int, string, bool) {
	if pos+8 > len(b) {
		return 0, "", false
	}
	size := int(binary.BigEndian.Uint32(b[pos:]))
	if size < 8 || pos+size > len(b) {
		return 0, "", false
	}
	return size, string(b[pos+4 : pos+8]), true
}

// videoSpan reads a fragment's video decode-time range and whether it starts with a keyframe.
func videoSpan(frag []byte) (d0, d1 int64, sync, ok bool) {
	var parts fmp4.Parts
	if err := parts.Unmarshal(frag); err != nil || len(parts) != 1 {
		return 0, 0, false, false
	}
	for _, tr := range parts[0].Tracks {
		if tr.ID != 1 || len(tr.Samples) == 0 {
			continue
		}
		d0 = int64(tr.BaseTime)
		d1 = d0
		for _, s := range tr.Samples {
			d1 += int64(s.Duration)
		}
		return d0, d1, !tr.Samples[0].IsNonSyncSample, true
	}
	return 0, 0, false, false
}

// TestCuesInServedParts: a cue put on a live channel is in the parts the packager makes, as
// served, from its media time on, and in the media playlist as a DATERANGE.
func TestCuesInServedParts(t *testing.T) {
	s, lv := openVideo(t, Config{SegmentCount: 7, SegmentMinDuration: time.Second, PartMinDuration: 200 * time.Millisecond}, false)
	t0 := time.Now()
	for i := range 120 {
		if i == 60 {
			if err := s.pkg.PutMetadata("ch", Metadata{ID: "quiz-1", Payload: json.RawMessage(`{"name":"quiz"}`), Duration: 10 * time.Second}); err != nil {
				t.Fatal(err)
			}
		}
		pts, au, key := frame(i, 30)
		d := time.Duration(pts) * time.Second / videoClock
		if err := lv.write(&stream.Unit{Kind: stream.Video, PTS: d, NTP: t0.Add(d), Payload: au, Key: key}); err != nil {
			t.Fatal(err)
		}
	}
	pl := serve(t, s, "/hls/ch/video1_stream.m3u8")
	if !strings.Contains(pl, "#EXT-X-DATERANGE:ID=\"quiz-1-1\"") {
		t.Errorf("no DATERANGE for the cue:\n%s", pl)
	}
	var cued []uint64
	for _, m := range listedPartRE.FindAllStringSubmatch(pl, -1) {
		times, envs := emsgs(t, []byte(serve(t, s, "/hls/ch/"+m[1])))
		for i, at := range times {
			if envs[i].ID != "quiz-1" {
				t.Errorf("part %s: cue %q", m[1], envs[i].ID)
			}
			cued = append(cued, at)
		}
	}
	if want := uint64(muxerStartDTS + 60*3000); len(cued) == 0 || cued[0] != want && cued[0] < want {
		t.Errorf("cue times in parts %v, want the first at %d or later (a keyframe's announcement)", cued, want)
	}
}

var listedPartRE = regexp.MustCompile(`#EXT-X-PART:[^\n]*URI="([^"]+)"`)
