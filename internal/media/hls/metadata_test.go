package hls

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
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
	p := fmp4.Part{SequenceNumber: 1, Tracks: []*fmp4.PartTrack{{ID: videoTrackID, BaseTime: base, Samples: samples}}}
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
		if e.SchemeIdUri != emsgScheme || e.Timescale != videoClock {
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
	tl := &timeline{}
	start := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	// Frames up to 0.5 s are written; a quiz of 4 s is stamped at the next frame (0.5 s).
	tl.stamp(0, start)
	tl.put(Metadata{ID: "quiz-1", Payload: json.RawMessage(`{"name":"quiz"}`), Duration: 4 * time.Second})
	tl.stamp(45000, start.Add(500*time.Millisecond))
	at := uint64(muxerStartDTS + 45000)

	// The part before it carries nothing; the part holding 0.5 s carries the cue at 0.5 s.
	before := fragment(t, muxerStartDTS, 15, true) // [0, 0.5 s)
	if got := tl.withMetadata(before); !bytes.Equal(got, before) {
		t.Errorf("a part before the cue changed")
	}
	holding := fragment(t, at-3000, 6, false)
	times, envs := emsgs(t, tl.withMetadata(holding))
	if len(times) != 1 || times[0] != at || envs[0].ID != "quiz-1" || envs[0].Elapsed != 0 || string(envs[0].Event) != `{"name":"quiz"}` {
		t.Fatalf("part with the cue: times %v envs %+v", times, envs)
	}
	// The part is still a valid fragment after the box.
	var parts fmp4.Parts
	if err := parts.Unmarshal(tl.withMetadata(holding)); err != nil || len(parts) != 1 {
		t.Errorf("rewritten part does not parse: %v", err)
	}

	// A later part starting on a keyframe announces it again, with how far into it it is.
	seg2 := uint64(muxerStartDTS + 2*videoClock)
	times, envs = emsgs(t, tl.withMetadata(fragment(t, seg2, 6, true)))
	if len(times) != 1 || times[0] != seg2 || envs[0].ID != "quiz-1" || envs[0].Elapsed != 1500 {
		t.Fatalf("segment start: times %v envs %+v", times, envs)
	}
	// ... but not in a part without a keyframe, nor once the cue has run its course.
	if times, _ := emsgs(t, tl.withMetadata(fragment(t, seg2+18000, 6, false))); len(times) != 0 {
		t.Errorf("a non-independent part repeats the cue")
	}
	if times, _ := emsgs(t, tl.withMetadata(fragment(t, muxerStartDTS+6*videoClock, 6, true))); len(times) != 0 {
		t.Errorf("an expired cue is announced")
	}

	// A segment made of parts gets the same boxes as its parts.
	seg := append(append([]byte{}, before...), holding...)
	if times, _ := emsgs(t, tl.withMetadata(seg)); len(times) != 1 || times[0] != at {
		t.Errorf("segment: %v", times)
	}

	// Clearing stops the announcements from its media time on, and says so in-band.
	tl.put(Metadata{ID: "quiz-1"})
	tl.stamp(3*videoClock, start.Add(3*time.Second))
	times, envs = emsgs(t, tl.withMetadata(fragment(t, muxerStartDTS+3*videoClock, 6, true)))
	if len(times) != 1 || string(envs[0].Event) != "null" {
		t.Fatalf("clear: times %v envs %+v", times, envs)
	}
	if times, _ := emsgs(t, tl.withMetadata(fragment(t, muxerStartDTS+4*videoClock, 6, true))); len(times) != 0 {
		t.Errorf("a cleared cue is announced")
	}

	// The playlist lists the cue as a DATERANGE with its start date and payload.
	ranges := tl.dateRanges()
	if !strings.Contains(ranges, `START-DATE="2026-12-02T10:00:00.500Z"`) || !strings.Contains(ranges, `END-DATE="2026-12-02T10:00:03.000Z"`) || strings.Contains(ranges, "DURATION") {
		t.Fatalf("daterange: %s", ranges)
	}
	b64 := ranges[strings.Index(ranges, `X-PAYLOAD="`)+11:]
	raw, err := base64.StdEncoding.DecodeString(b64[:strings.IndexByte(b64, '"')])
	if err != nil || !strings.Contains(string(raw), `"id":"quiz-1"`) {
		t.Errorf("X-PAYLOAD %q: %v", raw, err)
	}
	tl.put(Metadata{ID: "notice-1", Payload: json.RawMessage(`{"name":"notice"}`), Duration: 2 * time.Second})
	tl.stamp(5*videoClock, start.Add(5*time.Second))
	if ranges := tl.dateRanges(); !strings.Contains(ranges, `ID="notice-1-3",CLASS="net.livehouse.metadata",START-DATE="2026-12-02T10:00:05.000Z",DURATION=2.000,`) {
		t.Errorf("a timed cue that runs its course: %s", ranges)
	}
	pl := string(withDateRanges([]byte(edgePlaylist), tl))
	if strings.Index(pl, "#EXT-X-DATERANGE") > strings.Index(pl, "#EXT-X-PROGRAM-DATE-TIME") || strings.Count(pl, "#EXT-X-DATERANGE") != 2 {
		t.Errorf("playlist with dateranges:\n%s", pl)
	}
}

// Not fMP4: served as it is.
func TestTimedMetadataLeavesOtherBytes(t *testing.T) {
	tl := &timeline{}
	tl.put(Metadata{ID: "x", Payload: json.RawMessage(`1`)})
	tl.stamp(0, time.Now())
	body := []byte("not a box at all")
	if got := tl.withMetadata(body); !bytes.Equal(got, body) {
		t.Errorf("changed: %q", got)
	}
}

// The cost of serving a part with a cue in force: parsing its fragment and adding the box.
func BenchmarkPartWithMetadata(b *testing.B) {
	tl := &timeline{}
	tl.put(Metadata{ID: "quiz-1", Payload: json.RawMessage(`{"name":"quiz","data":{"question":"Capital of Canada?","answers":["Vancouver","Ottawa","Calgary"],"correctAnswerIndex":1,"duration":30}}`), Duration: 30 * time.Second})
	tl.stamp(0, time.Now())
	var samples []*fmp4.Sample
	for i := 0; i < 6; i++ {
		samples = append(samples, &fmp4.Sample{Duration: 3000, IsNonSyncSample: i > 0, Payload: bytes.Repeat([]byte{1}, 12_000)}) // ~2.9 Mbps of video
	}
	p := fmp4.Part{SequenceNumber: 1, Tracks: []*fmp4.PartTrack{{ID: videoTrackID, BaseTime: muxerStartDTS + 90000, Samples: samples}}}
	var buf seekablebuffer.Buffer
	if err := p.Marshal(&buf); err != nil {
		b.Fatal(err)
	}
	part := buf.Bytes()
	b.SetBytes(int64(len(part)))
	b.ReportAllocs()
	for b.Loop() {
		if out := tl.withMetadata(part); len(out) <= len(part) {
			b.Fatal("no cue added")
		}
	}
}

// A file is rewritten once; later requests get the same bytes without asking gohlslib again,
// and the cache stays within its byte budget.
func TestRewrittenOnce(t *testing.T) {
	tl := &timeline{}
	tl.put(Metadata{ID: "p", Payload: json.RawMessage(`{"name":"product"}`)})
	tl.stamp(0, time.Now())
	part := fragment(t, muxerStartDTS, 6, true)
	calls := 0
	get := func() ([]byte, bool) { calls++; return part, true }
	first, ok1 := tl.rewritten("a_part1.mp4", get)
	again, ok2 := tl.rewritten("a_part1.mp4", get)
	if !ok1 || !ok2 || calls != 1 || !bytes.Equal(first, again) || len(first) <= len(part) {
		t.Fatalf("calls %d, ok %v %v, sizes %d %d", calls, ok1, ok2, len(first), len(again))
	}
	if _, ok := tl.rewritten("missing.mp4", func() ([]byte, bool) { return nil, false }); ok {
		t.Errorf("a failed fetch reported ok")
	}
	big := bytes.Repeat([]byte{0}, servedKeep/3)
	for i := 0; i < 5; i++ {
		tl.rewritten(string(rune('b'+i)), func() ([]byte, bool) { return big, true })
	}
	if tl.servedBytes > servedKeep || len(tl.served) != len(tl.servedOrder) {
		t.Errorf("cache holds %d bytes in %d files (%d listed)", tl.servedBytes, len(tl.served), len(tl.servedOrder))
	}
}
