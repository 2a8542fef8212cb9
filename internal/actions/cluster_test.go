package actions

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/bus"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/streams"
)

// TestActionsAcrossNodes: two services on one bus, as two nodes; the stream runs on A, the
// streamer's requests arrive at B and reach A's stream.
func TestActionsAcrossNodes(t *testing.T) {
	ctx := context.Background()
	b, err := bus.Open(ctx, bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := &clock{time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	sinkA, sinkB := &fakeSink{}, &fakeSink{}
	live := &streams.Live{SessionID: "st-1", Channel: streams.Channel{ID: "ch_1"}}
	nodeA := NewService(fakeStore{}, sinkA, fakeLives{"ch_1": live}, log, c.now, Options{})
	nodeB := NewService(fakeStore{}, sinkB, fakeLives{}, log, c.now, Options{})
	nodeA.SetCluster(b)
	nodeB.SetCluster(b)
	ch := &channels.Channel{ID: "ch_1", UserID: "u_1"}

	// Before the stream's output starts on A, the channel is live nowhere.
	if _, err := nodeB.Start(ctx, ch, Celebration, nil); !errors.Is(err, problem.ErrNotFound) {
		t.Fatalf("before A serves the stream: %v, want ChannelNotBroadcasting", err)
	}
	run := nodeA.Output().Start(streams.NewView(live.SessionID, live.Channel, stream.New(stream.Tracks{})))
	ended, end := context.WithCancel(ctx)
	stopped := make(chan error)
	stopOutput := func() {
		end()
		if err := <-stopped; err != nil {
			t.Error(err)
		}
	}
	go func() { stopped <- run(ended, nil) }()
	if err := b.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	a, err := nodeB.Start(ctx, ch, Quiz, json.RawMessage(quiz))
	if err != nil {
		t.Fatalf("start through B: %v", err)
	}
	if len(sinkA.cues) != 1 || sinkA.cues[0].ID != a.ID || len(sinkB.cues) != 0 {
		t.Errorf("cues on A %+v, on B %+v; want the quiz on A only", sinkA.cues, sinkB.cues)
	}
	if got := nodeB.Current(ctx, ch); got == nil || got.ID != a.ID {
		t.Errorf("the active action seen through B = %+v, want %s", got, a.ID)
	}
	if nodeA.Active("ch_1") == nil || nodeB.Active("ch_1") != nil {
		t.Errorf("the action should be held by A only")
	}

	// Problems come back as they are: invalid input, and A's rate limit with its wait.
	if _, err := nodeB.Start(ctx, ch, Quiz, json.RawMessage(`{"question":"Q","answers":["a"],"correctAnswerIndex":0,"duration":15}`)); !errors.Is(err, problem.ErrInvalid) {
		t.Errorf("invalid quiz through B: %v", err)
	}
	var throttled error
	for range RatePerSecond {
		if _, err := nodeB.Start(ctx, ch, Celebration, nil); err != nil {
			throttled = err
			break
		}
	}
	if p, ok := problem.As(throttled); !ok || !errors.Is(throttled, problem.ErrThrottled) || p.RetryAfter <= 0 {
		t.Errorf("the sixth action in a second through B: %v, want throttled with a wait", throttled)
	}
	c.t = c.t.Add(2 * time.Second)
	if err := nodeB.Stop(ctx, ch); err != nil {
		t.Fatalf("stop through B: %v", err)
	}
	if last := sinkA.cues[len(sinkA.cues)-1]; last.Payload != nil || nodeA.Active("ch_1") != nil {
		t.Errorf("after the stop through B: last cue %+v, active %v", last, nodeA.Active("ch_1"))
	}

	// The stream ends on A: the channel is live nowhere again.
	stopOutput()
	if err := b.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := nodeB.Start(ctx, ch, Celebration, nil); !errors.Is(err, problem.ErrNotFound) {
		t.Errorf("after the stream ended: %v, want ChannelNotBroadcasting", err)
	}
	if err := nodeB.Stop(ctx, ch); !errors.Is(err, problem.ErrNotFound) {
		t.Errorf("stop after the stream ended: %v, want ChannelNotBroadcasting", err)
	}
}

func TestMalformedRequestIsAnswered(t *testing.T) {
	s, _, _, _, _ := setup(t)
	var r reply
	if err := json.Unmarshal(s.answer("x", []byte("not json")), &r); err != nil || r.Error == "" {
		t.Errorf("answer to a malformed request: %+v, %v", r, err)
	}
	if err := json.Unmarshal(s.answer("x", []byte(`{"op":"start","channel":{"ID":"ch_other"}}`)), &r); err != nil || !r.NotLive {
		t.Errorf("answer for a channel not live here: %+v, %v", r, err)
	}
}
