package whip

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/streams"
)

// fakeIngest authorizes one key for one channel and never begins a session.
type fakeIngest struct{}

func (fakeIngest) Authorize(_ context.Context, key string) (*streams.Channel, error) {
	if key != "sk_good" {
		return nil, streams.ErrUnknownKey
	}
	return &streams.Channel{ID: "ch_1"}, nil
}

func (fakeIngest) Begin(context.Context, *streams.Channel, *stream.Stream, func()) (*streams.Encoder, error) {
	return nil, errors.New("not in this test")
}

// offer is a browser-like send-only H.264 + Opus offer from a Pion peer that sends nothing.
func offer(t *testing.T) string {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	for _, c := range []webrtc.RTPCodecCapability{{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: "packetization-mode=1;profile-level-id=42e01f"}, {MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}} {
		tr, err := webrtc.NewTrackLocalStaticSample(c, "t", "s")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return o.SDP
}

func TestPublishRefusesAndReplaces(t *testing.T) {
	s, err := Listen(Config{UDPAddr: "127.0.0.1:0"}, fakeIngest{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	if _, _, err := s.Publish(ctx, "sk_bad", offer(t), "test"); !errors.Is(err, streams.ErrUnknownKey) {
		t.Errorf("wrong key: err = %v, want ErrUnknownKey", err)
	}
	id1, answer, err := s.Publish(ctx, "sk_good", offer(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(s.waiting("ch_1")); got != 1 {
		t.Fatalf("waiting sessions = %d, want 1", got)
	}
	var d webrtc.SessionDescription
	d.Type, d.SDP = webrtc.SDPTypeAnswer, answer
	if _, err := d.Unmarshal(); err != nil {
		t.Errorf("the answer is not SDP: %v", err)
	}

	// A second offer for the channel before media started replaces the first.
	id2, _, err := s.Publish(ctx, "sk_good", offer(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.waiting("ch_1"); len(got) != 1 || got[0].id != id2 {
		t.Errorf("waiting sessions after a second offer: %d, want only the second", len(got))
	}
	if err := s.End(id1, "sk_good"); !errors.Is(err, ErrNoSession) {
		t.Errorf("End of the replaced session: err = %v, want ErrNoSession", err)
	}
	if err := s.End(id2, "sk_other"); !errors.Is(err, ErrNoSession) {
		t.Errorf("End with another key: err = %v, want ErrNoSession", err)
	}
	if err := s.End(id2, "sk_good"); err != nil {
		t.Errorf("End: %v", err)
	}
	if got := len(s.waiting("ch_1")); got != 0 {
		t.Errorf("waiting sessions after End = %d, want 0", got)
	}
}
