package whep

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"

	"github.com/livehouse/livehouse/internal/media/rtc/rtctest"
	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/streams"
	"github.com/livehouse/livehouse/internal/viewers"
)

// fakeViewers accepts every token but the banned one.
type fakeViewers struct{ banned string }

func (f *fakeViewers) Check(_, token string) error {
	if token == "" {
		return problem.Forbidden("InvalidPlaybackToken", "bad token")
	}
	return nil
}

func (f *fakeViewers) Beacon(_ context.Context, _, token, _ string) (viewers.Ticket, error) {
	if token == f.banned {
		return viewers.Ticket{}, problem.Forbidden("BannedFromChannel", "You are banned from this channel.")
	}
	return viewers.Ticket{Token: token, RenewAfter: time.Minute}, nil
}

func (f *fakeViewers) Leave(_, _ string) error { return nil }

// offer is a receive-only offer from a Pion peer, as a WHEP viewer makes.
func offer(t *testing.T) string {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	return o.SDP
}

func liveView(t *testing.T, s *Server, channelID string) (*stream.Stream, context.CancelFunc, chan error) {
	t.Helper()
	st := stream.New(stream.Tracks{H264: &stream.H264{SPS: []byte{0x67}, PPS: []byte{0x68}}, Opus: &stream.Opus{ChannelCount: 2}})
	run := s.Start(streams.NewView("st-1", streams.Channel{ID: channelID}, st))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, make(chan streams.Report, 1)) }()
	return st, cancel, done
}

// TestPlayRefusesAndCaps: a channel not live, bad offers, a banned viewer and the caps are
// refused and leave no session; the stream's end ends the viewers it had.
func TestPlayRefusesAndCaps(t *testing.T) {
	s := New(Config{Engine: rtctest.LoopbackEngine(t), MaxPerAddress: 1, MaxPerChannel: 2}, &fakeViewers{banned: "banned"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srvDone := make(chan error, 1)
	srvCtx, stopSrv := context.WithCancel(context.Background())
	go func() { srvDone <- s.Run(srvCtx) }()
	defer func() { stopSrv(); <-srvDone }()

	if _, _, err := s.Play(ctx, "ch-1", "tok", "10.0.0.1", offer(t)); !errors.Is(err, ErrNotLive) {
		t.Errorf("an offline channel: err = %v, want ErrNotLive", err)
	}
	_, endStream, runDone := liveView(t, s, "ch-1")
	for _, tt := range []struct {
		name, token, addr, offer string
		kind                     error
	}{
		{"no token", "", "10.0.0.1", offer(t), problem.ErrForbidden},
		{"banned", "banned", "10.0.0.1", offer(t), problem.ErrForbidden},
		{"not SDP", "tok", "10.0.0.1", "hello", problem.ErrInvalid},
		{"too large", "tok", "10.0.0.1", string(make([]byte, maxOfferSize+1)), problem.ErrTooLarge},
	} {
		if _, _, err := s.Play(ctx, "ch-1", tt.token, tt.addr, tt.offer); !errors.Is(err, tt.kind) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.kind)
		}
	}
	if n := s.Viewers("ch-1"); n != 0 {
		t.Errorf("after refusals, %d viewers", n)
	}
	id, answer, err := s.Play(ctx, "ch-1", "tok", "10.0.0.1", offer(t))
	if err != nil || id == "" || answer == "" {
		t.Fatalf("Play: %q, %v", id, err)
	}
	if _, _, err := s.Play(ctx, "ch-1", "tok", "10.0.0.1", offer(t)); !errors.Is(err, problem.ErrThrottled) {
		t.Errorf("a second viewer from one address: err = %v, want throttled", err)
	}
	if _, _, err := s.Play(ctx, "ch-1", "tok", "10.0.0.2", offer(t)); err != nil {
		t.Errorf("a viewer from another address: %v", err)
	}
	if _, _, err := s.Play(ctx, "ch-1", "tok", "10.0.0.3", offer(t)); !errors.Is(err, problem.ErrUnavailable) {
		t.Errorf("a viewer over the channel's cap: err = %v, want unavailable", err)
	}
	if got := s.Viewers("ch-1"); got != 2 {
		t.Errorf("Viewers = %d, want 2", got)
	}
	if err := s.Leave("ch-other", id); !errors.Is(err, ErrNoSession) {
		t.Errorf("Leave under another channel: err = %v", err)
	}
	if err := s.Leave("ch-1", id); err != nil {
		t.Errorf("Leave: %v", err)
	}
	// The stream ends: its viewers end with it, and their places are free again.
	endStream()
	if err := <-runDone; err != nil {
		t.Errorf("run: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.mu.Lock()
		n := len(s.viewers)
		s.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d viewers left after the stream ended", n)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
	if _, _, err := s.Play(ctx, "ch-1", "tok", "10.0.0.1", offer(t)); !errors.Is(err, ErrNotLive) {
		t.Errorf("after the end: err = %v, want ErrNotLive", err)
	}
}

// TestFeedStartsViewersAtTheKeyframe: a joining viewer gets the current group of pictures
// from its keyframe, then live units; a viewer whose queue overflowed skips to the next
// keyframe.
func TestFeedStartsViewersAtTheKeyframe(t *testing.T) {
	s := New(Config{}, &fakeViewers{}, nil)
	f := &feed{srv: s, passOpus: true, viewers: map[*viewer]struct{}{}}
	unit := func(pts int, key bool) *stream.Unit {
		return &stream.Unit{Kind: stream.Video, PTS: time.Duration(pts) * time.Millisecond, Key: key, Payload: [][]byte{{0x41}}}
	}
	f.unit(unit(0, false)) // before any keyframe: not kept
	f.unit(unit(33, true))
	f.unit(unit(66, false))
	f.unit(unit(100, true))
	f.unit(unit(133, false))
	v := &viewer{queue: make(chan item, 4), audio: &webrtc.TrackLocalStaticRTP{}}
	f.pending.Add(1)
	if !f.join(v) {
		t.Fatal("join refused")
	}
	f.unit(unit(166, false))
	f.unit(&stream.Unit{Kind: stream.Audio, PTS: 150 * time.Millisecond, Payload: [][]byte{{1}}})
	f.unit(unit(200, false)) // the queue (4) is full: lost, and so is what follows until a keyframe
	f.unit(unit(233, false))
	var got []time.Duration
	for range 4 {
		got = append(got, (<-v.queue).pts/time.Millisecond)
	}
	f.unit(unit(266, false))
	f.unit(unit(300, true))
	got = append(got, (<-v.queue).pts/time.Millisecond)
	if want := []time.Duration{100, 133, 166, 150, 300}; !cmp.Equal(got, want) {
		t.Errorf("queued %v, want %v", got, want)
	}
	if len(v.queue) != 0 || v.dropped != 3 {
		t.Errorf("%d left in the queue, %d dropped; want 0 and 3", len(v.queue), v.dropped)
	}
}

// TestSenderSqueezesTheStartingBurst: the frames queued when the viewer connects are sent
// burstStep apart, and live frames follow at their own spacing from the last of them.
func TestSenderSqueezesTheStartingBurst(t *testing.T) {
	s := &sender{burst: 4}
	ms := time.Millisecond
	var got []time.Duration
	for _, it := range []item{
		{video: true, key: true, pts: 1000 * ms}, {video: true, pts: 1033 * ms},
		{pts: 1050 * ms}, // audio in the burst: not sent
		{video: true, pts: 1066 * ms},
		{video: true, pts: 1100 * ms}, {pts: 1090 * ms}, {video: true, pts: 1133 * ms},
	} {
		if at, ok := s.place(it); ok {
			got = append(got, at)
		} else {
			got = append(got, -1)
		}
	}
	want := []time.Duration{0, ms, -1, 2 * ms, 36 * ms, 26 * ms, 69 * ms}
	if !cmp.Equal(got, want) {
		t.Errorf("viewer times %v, want %v", got, want)
	}
}

// oggOf writes Opus packets into an Ogg stream with Pion's writer.
func oggOf(t testing.TB, packets [][]byte) []byte {
	var b bytes.Buffer
	w, err := oggwriter.NewWith(&b, 48000, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range packets {
		if err := w.WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(960 * i)}, Payload: p}); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func TestOggReader(t *testing.T) {
	packets := [][]byte{{0xfc, 1, 2}, bytes.Repeat([]byte{7}, 255), bytes.Repeat([]byte{9}, 600), {0xfc}}
	r := &oggReader{r: bufio.NewReader(bytes.NewReader(oggOf(t, packets)))}
	var got [][]byte
	for {
		p, err := r.next()
		if err != nil {
			break
		}
		got = append(got, p)
	}
	if len(got) != len(packets)+2 || string(got[0][:8]) != "OpusHead" || string(got[1][:8]) != "OpusTags" {
		t.Fatalf("read %d packets, want OpusHead, OpusTags and %d", len(got), len(packets))
	}
	if diff := cmp.Diff(packets, got[2:]); diff != "" {
		t.Errorf("packets (-want +got):\n%s", diff)
	}
	if _, err := (&oggReader{r: bufio.NewReader(bytes.NewReader([]byte("NotOgg, not at all, no")))}).next(); err == nil {
		t.Error("a stream that is not Ogg was read")
	}
}

// FuzzOggReader: any input ends in an error or packets, never a panic, and packets stay
// within maxOggPacket.
func FuzzOggReader(f *testing.F) {
	f.Add(oggOf(f, [][]byte{{0xfc, 1, 2}, bytes.Repeat([]byte{7}, 255)}))
	f.Add([]byte("OggS\x00\x02"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &oggReader{r: bufio.NewReader(bytes.NewReader(data))}
		for range 10_000 {
			p, err := r.next()
			if err != nil {
				return
			}
			if len(p) > maxOggPacket {
				t.Fatalf("a packet of %d bytes", len(p))
			}
		}
	})
}
