package streams

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/media/stream"
)

// kicks returns a kick function and a channel that receives each kick.
func kicks() (func(), chan struct{}) {
	c := make(chan struct{}, 4)
	return func() { c <- struct{}{} }, c
}

func waitKick(t *testing.T, c chan struct{}) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(5 * time.Second):
		t.Fatal("the publisher was not disconnected")
	}
}

// nextState skips health events, which a slow machine may write at any point.
func (m *memStore) nextState(t *testing.T) string {
	t.Helper()
	for {
		if got := m.next(t); got != EventStarvationStart && got != EventStarvationEnd {
			return got
		}
	}
}

func TestAnotherNodesSessionHoldsTheChannelUntilItsLeaseExpires(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s, store, _ := newService(t)
	s.now = func() time.Time { return now }
	ctx := context.Background()
	store.elsewhere["st-other"] = "ch_1"
	store.staleAfter = now.Add(time.Second)

	if _, err := s.Authorize(ctx, "sk_key"); !errors.Is(err, ErrAlreadyLive) {
		t.Fatalf("Authorize while another node's lease is valid: %v, want ErrAlreadyLive", err)
	}
	// Between Authorize and Begin another node may go live: the store refuses the session.
	if _, err := s.Begin(ctx, &Channel{ID: "ch_1"}, stream.New(stream.Tracks{H264: &stream.H264{}}), func() {}); !errors.Is(err, ErrAlreadyLive) {
		t.Fatalf("Begin while another node's session is open: %v, want ErrAlreadyLive", err)
	}
	if s.Live("ch_1") != nil {
		t.Fatal("a refused Begin left the channel live here")
	}

	now = now.Add(2 * time.Second) // the other node's lease has expired
	ch, err := s.Authorize(ctx, "sk_key")
	if err != nil {
		t.Fatalf("Authorize after the lease expired: %v", err)
	}
	for range 2 {
		store.next(t)
	}
	store.mu.Lock()
	got := append([]Event(nil), store.events...)
	store.mu.Unlock()
	// Stamped with the session's end as the store found it (the fake: when the lease ran
	// out), not with when it was noticed.
	end := store.staleAfter
	want := []Event{
		{SessionID: "st-other", At: end, Name: EventStreamEnd, Type: "IVS Stream State Change", Detail: `{"reason":"the node running the session stopped answering"}`},
		{SessionID: "st-other", At: end, Name: EventSessionEnded, Type: "IVS Stream State Change", Detail: `{"reason":"the node running the session stopped answering"}`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events of the stale session (-want +got):\n%s", diff)
	}
	if _, err := s.Begin(ctx, ch, stream.New(stream.Tracks{H264: &stream.H264{}}), func() {}); err != nil {
		t.Fatalf("Begin after the stale session ended: %v", err)
	}
}

func TestSuspendedAccountIsRefused(t *testing.T) {
	s, store, _ := newService(t)
	store.suspended = true
	if _, err := s.Authorize(context.Background(), "sk_key"); !errors.Is(err, ErrSuspended) {
		t.Errorf("Authorize of a suspended account: %v, want ErrSuspended", err)
	}
}

func TestUnverifiedAccountIsRefused(t *testing.T) {
	s, store, _ := newService(t)
	store.unverified = true
	if _, err := s.Authorize(context.Background(), "sk_key"); !errors.Is(err, ErrNotVerified) {
		t.Errorf("Authorize of an unverified account: %v, want ErrNotVerified", err)
	}
	store.unverified = false
	if _, err := s.Authorize(context.Background(), "sk_key"); err != nil {
		t.Errorf("Authorize once verified: %v", err)
	}
}

func TestLeaseRoundEndsSuspendedAndDropsSessionsEndedElsewhere(t *testing.T) {
	s, store, _ := newService(t)
	ctx := context.Background()
	if _, err := s.Recover(ctx, "node-a"); err != nil {
		t.Fatal(err)
	}
	ch, _ := s.Authorize(ctx, "sk_key")
	kick, kicked := kicks()
	l, err := s.Begin(ctx, ch, stream.New(stream.Tracks{H264: &stream.H264{}}), kick)
	if err != nil {
		t.Fatal(err)
	}
	store.nextState(t) // Session Created

	// Another node ended it (this node's lease had lapsed): dropped, no events of ours.
	store.mu.Lock()
	store.open[l.SessionID] = false
	store.mu.Unlock()
	s.renew(ctx)
	waitKick(t, kicked)
	if s.Live(ch.ID) != nil {
		t.Fatal("a session ended elsewhere stays live here")
	}
	store.mu.Lock()
	n := len(store.events)
	store.mu.Unlock()
	if n != 1 {
		t.Errorf("%d events after the drop, want only Session Created", n)
	}

	// The owner is suspended: the next round ends the session with its events.
	ch, _ = s.Authorize(ctx, "sk_key")
	if _, err := s.Begin(ctx, ch, stream.New(stream.Tracks{H264: &stream.H264{}}), kick); err != nil {
		t.Fatal(err)
	}
	store.nextState(t) // Session Created
	store.mu.Lock()
	store.suspended = true
	store.mu.Unlock()
	s.renew(ctx)
	waitKick(t, kicked)
	for _, want := range []string{EventStreamEnd, EventSessionEnded} {
		if got := store.nextState(t); got != want {
			t.Fatalf("event %s, want %s", got, want)
		}
	}
	store.mu.Lock()
	detail := store.events[len(store.events)-1].Detail
	_, leased := store.leases["node-a"]
	store.mu.Unlock()
	if detail != `{"reason":"account suspended"}` {
		t.Errorf("end detail %s", detail)
	}
	if !leased {
		t.Errorf("node-a holds no lease after Recover and a round")
	}
}

func TestStopGoesOverTheBusWhenNotLiveHere(t *testing.T) {
	s, store, bus := newService(t)
	s.Stop("ch_elsewhere", ReasonSuspended)
	bus.mu.Lock()
	got := append([]string(nil), bus.subjects...)
	bus.mu.Unlock()
	if diff := cmp.Diff([]string{"streams.stop.ch_elsewhere"}, got); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}

	// The node that runs it ends it when the request arrives.
	ctx := context.Background()
	ch, _ := s.Authorize(ctx, "sk_key")
	kick, kicked := kicks()
	if _, err := s.Begin(ctx, ch, stream.New(stream.Tracks{H264: &stream.H264{}}), kick); err != nil {
		t.Fatal(err)
	}
	store.nextState(t)
	s.DeliverStop("streams.stop.ch_other", []byte(`{"reason":"account suspended"}`)) // not ours
	s.DeliverStop("streams.stop.ch_1", []byte(`not json`))
	if s.Live(ch.ID) == nil {
		t.Fatal("a stop for another channel, or a malformed one, ended the session")
	}
	s.DeliverStop("streams.stop.ch_1", []byte(`{"reason":"account suspended"}`))
	waitKick(t, kicked)
	for _, want := range []string{EventStreamEnd, EventSessionEnded} {
		if got := store.nextState(t); got != want {
			t.Fatalf("event %s, want %s", got, want)
		}
	}
}
