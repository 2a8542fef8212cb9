package record

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/livehouse/livehouse/internal/media/cues"
	"github.com/livehouse/livehouse/internal/media/hls"
	"github.com/livehouse/livehouse/internal/media/llhls"
	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/recordings"
	"github.com/livehouse/livehouse/internal/storage"
	"github.com/livehouse/livehouse/internal/streams"
	"github.com/livehouse/livehouse/internal/streams/streamstest"
)

// Baseline SPSs (pic_order_cnt_type 2) from x264, as in llhls's tests.
var (
	sps1080 = []byte{0x67, 0x42, 0xc0, 0x28, 0xd9, 0x00, 0x78, 0x02, 0x27, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc9, 0x20}
	pps1080 = []byte{0x08, 0x06, 0x07, 0x08}
	sps360  = []byte{0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x0f, 0x16, 0x2e, 0x48}
	pps360  = []byte{0x68, 0xcb, 0x83, 0xcb, 0x20}
	aac     = &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelConfig: 2}
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeRecordings records what the recorder tells the domain.
type fakeRecordings struct {
	off  bool
	full bool // over quota

	mu    sync.Mutex
	begun []string
	ended map[string]recordings.Progress
	chat  []recordings.ChatLine
}

func (f *fakeRecordings) ShouldRecord(context.Context, string, string) (bool, error) {
	if f.full {
		return false, recordings.ErrQuota
	}
	return !f.off, nil
}
func (f *fakeRecordings) Begin(_ context.Context, id, ch, user string, at time.Time) (*recordings.Recording, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.begun = append(f.begun, id)
	return &recordings.Recording{ID: id, ChannelID: ch, UserID: user, Prefix: recordings.Prefix(ch, id), StartedAt: at}, nil
}
func (f *fakeRecordings) End(_ context.Context, id string, p recordings.Progress) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ended == nil {
		f.ended = map[string]recordings.Progress{}
	}
	f.ended[id] = p
	return nil
}

func (f *fakeRecordings) AddChat(_ context.Context, id string, l recordings.ChatLine) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chat = append(f.chat, l)
	return nil
}
func (f *fakeRecordings) RemoveChat(_ context.Context, id, messageID, senderID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chat = slices.DeleteFunc(f.chat, func(l recordings.ChatLine) bool {
		return l.MessageID == messageID || (messageID == "" && l.SenderID == senderID)
	})
	return nil
}

// publish writes seconds of 30 fps video (a keyframe every 2 s) and AAC with write; from
// switchAt seconds on (if > 0), with new parameter sets.
func publish(write func(*stream.Unit), seconds, switchAt int) {
	publishRange(write, 0, seconds, switchAt)
}

// publishRange writes the seconds [from, to) of what publish writes.
func publishRange(write func(*stream.Unit), from, to, switchAt int) {
	audio := time.Duration(from) * time.Second
	for i := 30 * from; i < 30*to; i++ {
		pts := time.Duration(i) * time.Second / 30
		sps, pps := sps1080, pps1080
		if switchAt > 0 && i >= 30*switchAt {
			sps, pps = sps360, pps360
		}
		u := &stream.Unit{Kind: stream.Video, PTS: pts, NTP: t0.Add(pts)}
		if i%60 == 0 {
			u.Key, u.Payload = true, [][]byte{sps, pps, {0x65, 0x88, byte(i)}}
		} else {
			u.Payload = [][]byte{{0x41, 0x9a, byte(i)}}
		}
		write(u)
		for ; audio < pts; audio += 1024 * time.Second / 48000 {
			write(&stream.Unit{Kind: stream.Audio, PTS: audio, NTP: t0.Add(audio), Payload: [][]byte{make([]byte, 200)}})
		}
	}
}

// fakeEvents collects the recorder's events written on sessions, and (from record) its
// reports, in the order they come.
type fakeEvents struct {
	mu  sync.Mutex
	got []streams.Report
}

func (f *fakeEvents) RecordingEvent(_ context.Context, sessionID, channelID, name, detail string) {
	f.add(streams.Report{Kind: streams.ReportRecording, Event: name, Detail: detail})
}

func (f *fakeEvents) add(r streams.Report) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, r)
}

func (f *fakeEvents) all() []streams.Report {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.got)
}

// newTestRecorder returns a recorder whose events are collected, recording the packaging
// of pkgs.
func newTestRecorder(cfg Config, recs Recordings, media storage.Store, pkgs Packager) *Recorder {
	return New(cfg, recs, media, pkgs, &fakeEvents{}, quiet())
}

// record runs the recorder (its Run, and its output for one session of channel ch1, whose
// live packaging is a livePackaging) and returns its reports and events once the recording
// is finished. It publishes seconds of media into the packaging, then calls during (if not
// nil); the session then ends, and after the recorder's run has returned, so does the
// packaging, as the packager's run ends it.
func record(t *testing.T, cfg Config, recs Recordings, media storage.Store, seconds, switchAt int, during func(*Recorder, *livePackaging)) (*Recorder, []streams.Report) {
	t.Helper()
	tracks := stream.Tracks{H264: &stream.H264{SPS: sps1080, PPS: pps1080}, AAC: aac}
	pk := newLivePackaging(t, tracks, liveWindow)
	pkgs := &packagings{}
	pkgs.set("ch1", pk)
	rec := newTestRecorder(cfg, recs, media, pkgs)
	evs := rec.events.(*fakeEvents)
	stopRun := runRecorder(t, rec)
	v := streams.NewView("st-test", streams.Channel{ID: "ch1", UserID: "u1"}, stream.New(tracks))
	run := rec.Start(v)
	if run == nil {
		t.Fatal("Start returned no run")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reports := make(chan streams.Report, 64)
	done := make(chan error, 1)
	go func() { done <- run(ctx, reports) }()
	// The reports join the events as they come, as the session would write them, so that
	// their order among the events the recorder writes itself is the order they happened in.
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for r := range reports {
			evs.add(r)
		}
	}()
	// The session lasts until the recorder has taken it on, or decided not to record it (its
	// run returns): one that ends sooner is not what these tests are about.
	var ranOut *error
	for deadline := time.Now().Add(time.Minute); ranOut == nil; time.Sleep(2 * time.Millisecond) { // polling its state
		select {
		case err := <-done:
			ranOut = &err
			continue
		default:
		}
		rec.mu.Lock()
		taken := rec.live["ch1"] != nil
		rec.mu.Unlock()
		if taken {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the recorder neither took the session on nor declined it")
		}
	}
	if ranOut != nil {
		done <- *ranOut
	}
	publish(pk.write, seconds, switchAt)
	if during != nil {
		during(rec, pk)
	}
	cancel() // the session ends
	runEnded(t, done)
	close(reports) // the run has returned: nothing more is sent
	<-drained
	pk.close()                        // the packager ends the packaging after the session's end, in its own run
	if err := stopRun(); err != nil { // Run waits for the finishing in progress
		t.Fatal(err)
	}
	return rec, evs.all()
}

// runEnded waits for a recorder's run (its error on done) to return, without error.
func runEnded(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the recorder's run did not end")
	}
}

func events(rs []streams.Report) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Event)
	}
	return out
}

func read(t *testing.T, s storage.Store, key string) string {
	t.Helper()
	rc, _, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

var extinf = regexp.MustCompile(`#EXTINF:([0-9.]+),`)

func playlistSeconds(t *testing.T, body string) float64 {
	t.Helper()
	total := 0.0
	for _, m := range extinf.FindAllStringSubmatch(body, -1) {
		f, _ := strconv.ParseFloat(m[1], 64)
		total += f
	}
	return total
}

// testConfig queues a whole test session's objects (the tests publish faster than real
// time) and takes the segments more often than in production.
var testConfig = func() Config { c := DefaultConfig; c.Queue, c.Poll = 64, 20*time.Millisecond; return c }()

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestRecordsASession(t *testing.T) {
	t.Parallel()
	media, err := storage.NewFolder(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	recs := &fakeRecordings{}
	_, reps := record(t, testConfig, recs, media, 30, 0, nil)
	if got := events(reps); len(got) != 2 || got[0] != streams.EventRecordingStart || got[1] != streams.EventRecordingEnd {
		t.Fatalf("events = %v, want Recording Start, Recording End", got)
	}
	prefix := recordings.Prefix("ch1", "st-test")
	index := read(t, media, prefix+"index.m3u8")
	for _, want := range []string{"#EXT-X-STREAM-INF:", `CODECS="avc1.42c028,mp4a.40.2"`, "RESOLUTION=1920x1080", `TYPE=AUDIO`, `URI="audio2.m3u8"`, "\nvideo1.m3u8\n"} {
		if !strings.Contains(index, want) {
			t.Errorf("index.m3u8 lacks %q:\n%s", want, index)
		}
	}
	video := read(t, media, prefix+"video1.m3u8")
	for _, want := range []string{"#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-ENDLIST", `#EXT-X-MAP:URI="video1/init0.mp4"`, "#EXT-X-TARGETDURATION:6"} {
		if !strings.Contains(video, want) {
			t.Errorf("video1.m3u8 lacks %q:\n%s", want, video)
		}
	}
	if strings.Contains(video, "DISCONTINUITY") || strings.Contains(video, "GAP") {
		t.Errorf("an unbroken session's playlist has a discontinuity or gap:\n%s", video)
	}
	// The whole session is there, to within a frame (the last frame's duration is guessed).
	if secs := playlistSeconds(t, video); secs < 29.9 || secs > 30.1 {
		t.Errorf("video1.m3u8 lists %.3f s, want 30:\n%s", secs, video)
	}
	if secs := playlistSeconds(t, read(t, media, prefix+"audio2.m3u8")); secs < 29.5 || secs > 30.5 {
		t.Errorf("audio2.m3u8 lists %.3f s, want about 30", secs)
	}
	// Every file a playlist names is stored: the live output's segments, three of 2 s in an
	// object, one moof/mdat pair a part of 200 ms.
	for _, line := range strings.Split(video, "\n") {
		if strings.HasSuffix(line, ".m4s") {
			body := read(t, media, prefix+line)
			if !strings.Contains(body[:12], "moof") {
				t.Errorf("%s does not start with a moof", line)
			}
			if n := strings.Count(body, "moof"); n < 25 || n > 35 {
				t.Errorf("%s holds %d fragments, want the 30 parts of 6 s", line, n)
			}
		}
	}
	p := recs.ended["st-test"]
	if p.Segments != 5 || p.Duration < 29900*time.Millisecond || p.Bytes == 0 || p.Dropped != 0 {
		t.Errorf("progress = %+v, want 5 segments over 30 s", p)
	}
}

func TestNewParametersStartANewInit(t *testing.T) {
	t.Parallel()
	media, _ := storage.NewFolder(t.TempDir())
	record(t, testConfig, &fakeRecordings{}, media, 20, 10, nil)
	video := read(t, media, recordings.Prefix("ch1", "st-test")+"video1.m3u8")
	if strings.Count(video, "#EXT-X-DISCONTINUITY\n") != 1 || !strings.Contains(video, `#EXT-X-MAP:URI="video1/init1.mp4"`) {
		t.Errorf("want one discontinuity and a second init section:\n%s", video)
	}
	if secs := playlistSeconds(t, video); secs < 19.9 || secs > 20.1 {
		t.Errorf("video lists %.3f s, want 20", secs)
	}
}

func TestChannelThatDoesNotRecord(t *testing.T) {
	t.Parallel()
	media, _ := storage.NewFolder(t.TempDir())
	recs := &fakeRecordings{off: true}
	_, reps := record(t, testConfig, recs, media, 6, 0, nil)
	if len(reps) != 0 || len(recs.begun) != 0 {
		t.Errorf("reports %v, begun %v; want none", events(reps), recs.begun)
	}
	if objs, _ := media.List(context.Background(), "", "", 10); len(objs) != 0 {
		t.Errorf("stored %v", objs)
	}
}

// slowStore blocks segment writes until released.
type slowStore struct {
	storage.Store
	release chan struct{}
}

func (s *slowStore) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if strings.HasSuffix(key, ".m4s") {
		<-s.release
	}
	return s.Store.Put(ctx, key, r, size)
}

func TestSlowStoreDropsSegments(t *testing.T) {
	t.Parallel()
	folder, _ := storage.NewFolder(t.TempDir())
	media := &slowStore{Store: folder, release: make(chan struct{})}
	cfg := testConfig
	cfg.Queue = 2
	recs := &fakeRecordings{}
	// 40 s of media: 7 video and 7 audio objects. While the store takes none, the queue
	// holds 2 and the writer 1; the packaging is never held up (the recorder only reads it).
	// The store is released once the recorder has reported an object dropped (not merely
	// counted it: the report follows the count, and a store released in between wrote its
	// Recording Start first on a busy machine).
	_, reps := record(t, cfg, recs, media, 40, 0, func(rec *Recorder, _ *livePackaging) {
		deadline := time.Now().Add(2 * time.Minute)
		for !slices.Contains(events(rec.events.(*fakeEvents).all()), streams.EventRecordingDropped) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond) // polling the events
		}
		close(media.release)
	})
	got := events(reps)
	if len(got) == 0 || got[0] != streams.EventRecordingDropped {
		t.Fatalf("events = %v, want Recording Segments Dropped first", got)
	}
	p := recs.ended["st-test"]
	if p.Dropped == 0 {
		t.Errorf("progress = %+v, want segments dropped", p)
	}
	// The recording keeps the media's timeline: objects lost between stored ones are listed
	// as gaps, in the playlist of whichever track lost them (video and audio objects share
	// the queue, and which finds it full depends on timing: each poll hands video first).
	// Objects lost after a track's last stored one are a gap up to the video's end.
	gaps := 0
	for _, track := range []string{"video1", "audio2"} {
		pl := read(t, media, recordings.Prefix("ch1", "st-test")+track+".m3u8")
		gaps += strings.Count(pl, "#EXT-X-GAP")
		secs := playlistSeconds(t, pl)
		if secs < 39.9 || secs > 40.1 {
			t.Errorf("%s lists %.3f s with its gaps, want 40:\n%s", track, secs, pl)
		}
	}
	if gaps == 0 {
		t.Errorf("no gap listed for the %d objects dropped", p.Dropped)
	}
}

// A crash leaves segments and no playlists; Finish writes them from what was stored.
func TestFinishAfterACrash(t *testing.T) {
	t.Parallel()
	media, _ := storage.NewFolder(t.TempDir())
	record(t, testConfig, &fakeRecordings{}, media, 18, 0, nil)
	ctx := context.Background()
	prefix := recordings.Prefix("ch1", "st-test")
	want := read(t, media, prefix+"video1.m3u8")
	for _, f := range []string{"index.m3u8", "video1.m3u8", "audio2.m3u8"} {
		if err := media.Delete(ctx, prefix+f); err != nil {
			t.Fatal(err)
		}
	}
	// The last segment, being written at the crash, never made it.
	objs, _ := media.List(ctx, prefix+"video1/0", "", 100)
	if err := media.Delete(ctx, objs[len(objs)-1].Key); err != nil {
		t.Fatal(err)
	}
	p, err := Store{Media: media}.Finish(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	got := read(t, media, prefix+"video1.m3u8")
	if got == want || !strings.Contains(got, "#EXT-X-ENDLIST") || p.Segments != 2 {
		t.Errorf("after Finish (%+v):\n%s", p, got)
	}
	read(t, media, prefix+"index.m3u8")
}

// segmentNames are TestParseSegmentName's cases, and FuzzParseSegment's seeds.
var segmentNames = []struct {
	name string
	ok   bool
}{
	{segmentName(7, 900000, 360000, 90000, 1, true), true},
	{segmentName(7, 900000, 360000, 90000, 0, false), true},
	{"000000007_1_2_3.m4s", false},
	{"000000007_1_2_0_0.m4s", false}, // no timescale
	{"000000007_-1_2_3_0.m4s", false},
	{"a_1_2_3_0.m4s", false},
	{"000000007_1_2_3_0_x.m4s", false},
	{"init0.mp4", false},
}

func TestParseSegmentName(t *testing.T) {
	for _, tt := range segmentNames {
		if _, ok := parseSegment("video1", tt.name, 1); ok != tt.ok {
			t.Errorf("parseSegment(%q) ok = %v, want %v", tt.name, ok, tt.ok)
		}
	}
}

// A stream action put at 10 s is in the recording's object covering 10 s (the live output
// wrote it into its fragments), and the objects after it (each starting with a keyframe)
// announce it again, so a seek lands on it.
func TestStreamActionsReplay(t *testing.T) {
	t.Parallel()
	media, _ := storage.NewFolder(t.TempDir())
	prefix := recordings.Prefix("ch1", "st-test")
	record(t, testConfig, &fakeRecordings{}, media, 0, 0, func(_ *Recorder, pk *livePackaging) {
		publish(func(u *stream.Unit) {
			if u.Kind == stream.Video && u.PTS == 10*time.Second {
				pk.tl.Put(cues.Cue{ID: "act-1", Payload: []byte(`{"name":"notice","data":{"title":"Hello"}}`)})
			}
			pk.write(u)
		}, 20, 0)
	})
	objs, _ := media.List(context.Background(), prefix+"video1/0", "", 100)
	var with []int64 // start seconds of the objects that carry the action
	for _, o := range objs {
		seg, ok := parseSegment("video1", strings.TrimPrefix(o.Key, prefix+"video1/"), o.Size)
		if !ok {
			t.Fatalf("bad name %s", o.Key)
		}
		body := read(t, media, o.Key)
		if strings.Contains(body, "emsg") && strings.Contains(body, `"id":"act-1"`) && strings.Contains(body, "https://aomedia.org/emsg/ID3") {
			with = append(with, (seg.start-llhlsStart)/seg.scale)
		}
	}
	// Objects of 6 s from 0: the one from 6 s holds 10 s; 12 and 18 announce it again.
	if want := []int64{6, 12, 18}; !slices.Equal(with, want) {
		t.Errorf("objects with the action start at %v s, want %v", with, want)
	}
}

const llhlsStart = llhls.StartDTS

// deadStore never completes a segment's write.
type deadStore struct{ storage.Store }

func (d deadStore) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if strings.HasSuffix(key, ".m4s") {
		<-ctx.Done()
		return ctx.Err()
	}
	return d.Store.Put(ctx, key, r, size)
}

// A store that takes nothing costs the session's end a bounded wait, and the loss is counted.
func TestDeadStoreEndsInTime(t *testing.T) {
	t.Parallel()
	folder, _ := storage.NewFolder(t.TempDir())
	cfg := testConfig
	cfg.PutTimeout = 200 * time.Millisecond
	recs := &fakeRecordings{}
	start := time.Now()
	_, reps := record(t, cfg, recs, deadStore{folder}, 12, 0, nil)
	if took := time.Since(start); took > time.Minute {
		t.Errorf("the recording took %v to end", took)
	}
	if got := events(reps); len(got) != 0 {
		t.Errorf("events = %v, want none (nothing was recorded)", got)
	}
	if p := recs.ended["st-test"]; p.Dropped == 0 || p.Segments != 0 {
		t.Errorf("progress = %+v, want segments dropped and none stored", p)
	}
}

func TestOverQuota(t *testing.T) {
	t.Parallel()
	media, _ := storage.NewFolder(t.TempDir())
	recs := &fakeRecordings{full: true}
	_, reps := record(t, testConfig, recs, media, 6, 0, nil)
	if got := events(reps); len(got) != 1 || got[0] != streams.EventRecordingFailure || !strings.Contains(reps[0].Detail, "quota") {
		t.Errorf("reports = %+v, want one Recording Start Failure naming the quota", reps)
	}
	if objs, _ := media.List(context.Background(), "", "", 10); len(objs) != 0 || len(recs.begun) != 0 {
		t.Errorf("stored %v, begun %v", objs, recs.begun)
	}
}

// FuzzParseSegment: a stored name that parses describes itself (it is what segmentName
// writes for the values read), and no name panics.
func FuzzParseSegment(f *testing.F) {
	for _, tt := range segmentNames {
		f.Add(tt.name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		seg, ok := parseSegment("video1", name, 1)
		if !ok {
			return
		}
		if again := segmentName(seg.msn, seg.start, seg.dur, seg.scale, seg.init, seg.disc); again != name {
			s2, ok := parseSegment("video1", again, 1)
			s2.file = seg.file // leading zeros differ
			if !ok || s2 != seg {
				t.Errorf("%q parses to %+v, written back as %q", name, seg, again)
			}
		}
	})
}

// TestChatReplay: the chat of a channel being recorded is kept with its recording at its
// offset from the first frame (noted by the recorder's tap, so through a streams session);
// a deleted message and a banned user's lines are removed; another channel's chat is not
// kept.
func TestChatReplay(t *testing.T) {
	t.Parallel()
	media, _ := storage.NewFolder(t.TempDir())
	recs := &fakeRecordings{}
	pkg := hls.NewPackager(hls.DefaultConfig, quiet(), nil)
	rec := newTestRecorder(testConfig, recs, media, hlsPackager{pkg})
	stopRun := runRecorder(t, rec)
	svc := streams.NewService(streams.Deps{Store: streamstest.New(streams.Channel{}), Log: quiet(), Outputs: []streams.Output{pkg, rec}})
	st := stream.New(stream.Tracks{H264: &stream.H264{SPS: sps1080, PPS: pps1080}, AAC: aac})
	enc, err := svc.Begin(context.Background(), &streams.Channel{ID: "ch1", UserID: "u1", Type: "BASIC"}, st, func() {})
	if err != nil {
		t.Fatal(err)
	}
	publishPaced(t, st, pkg, "ch1", 6)
	// The recorder has taken the session on once its first frame has come.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(5 * time.Millisecond) { // polling its state
		rec.mu.Lock()
		s := rec.live["ch1"]
		rec.mu.Unlock()
		if s != nil && s.firstFrame.Load() != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the recording never began")
		}
	}
	for _, l := range []recordings.ChatLine{{MessageID: "m1", SenderID: "u1", Content: "one"}, {MessageID: "m2", SenderID: "u2", Content: "two"},
		{MessageID: "m3", SenderID: "u3", Content: "three"}, {MessageID: "m4", SenderID: "u3", Content: "four"}} {
		rec.PutChat("ch1", l)
	}
	rec.PutChat("ch2", recordings.ChatLine{MessageID: "x", SenderID: "u1", Content: "elsewhere"})
	rec.RemoveChat("ch1", "m1", "")
	rec.RemoveChat("ch1", "", "u3")
	enc.End("the streamer stopped")
	if err := stopRun(); err != nil {
		t.Fatal(err)
	}
	recs.mu.Lock()
	defer recs.mu.Unlock()
	var got []string
	for _, l := range recs.chat {
		got = append(got, l.MessageID)
		if l.Offset < 0 || l.Offset > time.Minute {
			t.Errorf("line %s at %v", l.MessageID, l.Offset)
		}
	}
	if want := []string{"m2"}; !slices.Equal(got, want) {
		t.Errorf("chat kept %v, want %v", got, want)
	}
	if p := recs.ended[enc.SessionID]; p.Segments == 0 {
		t.Errorf("the session's recording: %+v, want its media", p)
	}
}

// TestMissedSegmentsAreDropped: segments that left the live window before the recorder took
// them (a recorder held up longer than the window) are counted as dropped; the recording
// holds what the window still had.
func TestMissedSegmentsAreDropped(t *testing.T) {
	t.Parallel()
	media, _ := storage.NewFolder(t.TempDir())
	recs := &fakeRecordings{}
	tracks := stream.Tracks{H264: &stream.H264{SPS: sps1080, PPS: pps1080}, AAC: aac}
	pk := newLivePackaging(t, tracks, 3) // a window of 3 segments
	pkgs := &packagings{}
	pkgs.set("ch1", pk)
	cfg := testConfig
	cfg.Poll = time.Hour // the recorder takes nothing until the session's end
	rec := newTestRecorder(cfg, recs, media, pkgs)
	stopRun := runRecorder(t, rec)
	v := streams.NewView("st-test", streams.Channel{ID: "ch1", UserID: "u1"}, stream.New(tracks))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rec.Start(v)(ctx, make(chan streams.Report, 16)) }()
	// The recorder takes the session on before the media comes (as it does live).
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) { // polling its state
		rec.mu.Lock()
		s := rec.live["ch1"]
		rec.mu.Unlock()
		if s != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the recording never began")
		}
	}
	publish(pk.write, 20, 0)
	cancel()
	runEnded(t, done)
	pk.close()
	if err := stopRun(); err != nil {
		t.Fatal(err)
	}
	p := recs.ended["st-test"]
	if p.Dropped == 0 {
		t.Errorf("progress = %+v, want the missed segments counted", p)
	}
	video := read(t, media, recordings.Prefix("ch1", "st-test")+"video1.m3u8")
	if secs := playlistSeconds(t, video); secs < 5.9 || secs > 6.1 {
		t.Errorf("video lists %.3f s, want the window's 6:\n%s", secs, video)
	}
}

// TestLateAudioIsNotADrop: a source whose audio begins seconds after its video (a browser's
// often does) has its audio's first segment numbered after the video's first; that is where
// the audio begins, not segments lost, so nothing is counted dropped and the audio is listed
// with a leading gap to the video's start.
func TestLateAudioIsNotADrop(t *testing.T) {
	t.Parallel()
	media, _ := storage.NewFolder(t.TempDir())
	recs := &fakeRecordings{}
	_, reports := record(t, testConfig, recs, media, 0, 0, func(_ *Recorder, pk *livePackaging) {
		publish(func(u *stream.Unit) {
			if u.Kind == stream.Audio && u.PTS < 5*time.Second {
				return // no audio for the first 5 s
			}
			pk.write(u)
		}, 20, 0)
	})
	if slices.Contains(events(reports), streams.EventRecordingDropped) {
		t.Errorf("events %v: a late audio reported as segments dropped", events(reports))
	}
	p := recs.ended["st-test"]
	if p.Dropped != 0 || p.Segments == 0 {
		t.Errorf("progress = %+v, want media and nothing dropped", p)
	}
	prefix := recordings.Prefix("ch1", "st-test")
	for _, track := range []string{"video1", "audio2"} {
		body := read(t, media, prefix+track+".m3u8")
		if secs := playlistSeconds(t, body); secs < 17.9 || secs > 20.1 {
			t.Errorf("%s lists %.3f s, want the video's 18–20:\n%s", track, secs, body)
		}
	}
}
