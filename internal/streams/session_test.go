package streams

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/media/stream"
)

// fakeOutput sends its reports, then fails, panics or runs until the session ends; it records
// that its goroutine returned.
type fakeOutput struct {
	reports   []Report
	err       error
	panics    bool
	tapPanics bool // a tap that panics on the first unit
	exited    atomic.Bool
}

func (o *fakeOutput) Start(v *View) Run {
	if o.tapPanics {
		v.Tap("packager", func(*stream.Unit) Report { panic("boom") })
	}
	return func(ctx context.Context, reports chan<- Report) error {
		defer o.exited.Store(true)
		for _, r := range o.reports {
			Send(ctx, reports, r)
		}
		if o.panics {
			panic("boom")
		}
		if o.err != nil {
			return o.err
		}
		<-ctx.Done()
		return nil
	}
}

// fakePackager reports the source packaged, and the stream started at the first keyframe it
// taps, as the HLS output does.
type fakePackager struct{}

func (fakePackager) Start(v *View) Run {
	started := false
	v.Tap("packager", func(u *stream.Unit) Report {
		if u.Key && !started {
			started = true
			return Report{Kind: ReportStarted}
		}
		return Report{}
	})
	return func(ctx context.Context, reports chan<- Report) error {
		Send(ctx, reports, Report{Kind: ReportPackaged})
		<-ctx.Done()
		return nil
	}
}

// fakeReader reads the fan-out in its own goroutine, counting units, until the session ends.
type fakeReader struct{ units atomic.Int64 }

func (o *fakeReader) Start(v *View) Run {
	r := v.NewReader("reader", 16)
	return func(context.Context, chan<- Report) error {
		for range r.C {
			o.units.Add(1)
		}
		return nil
	}
}

// fakeLadder joins the source's packaging once it exists, as the transcoder's rungs do.
type fakeLadder struct{ joined chan struct{} }

func (l *fakeLadder) Start(v *View) Run {
	return func(ctx context.Context, _ chan<- Report) error {
		select {
		case <-v.Packaged():
			close(l.joined)
		case <-ctx.Done():
			return nil
		}
		<-ctx.Done()
		return nil
	}
}

// TestOutputOrderDoesNotMatter starts a packager and a ladder that joins it in both orders:
// the ladder joins, and the session's events are the same.
func TestOutputOrderDoesNotMatter(t *testing.T) {
	for _, ladderFirst := range []bool{false, true} {
		s, store, _ := newService(t)
		s.starveAfter = time.Hour
		ladder := &fakeLadder{joined: make(chan struct{})}
		s.outputs = []Output{fakePackager{}, ladder}
		if ladderFirst {
			s.outputs = []Output{ladder, fakePackager{}}
		}
		ctx := context.Background()
		ch, _ := s.Authorize(ctx, "sk_key")
		st := stream.New(stream.Tracks{H264: &stream.H264{}})
		l, err := s.Begin(ctx, ch, st, func() {})
		if err != nil {
			t.Fatal(err)
		}
		st.Write(&stream.Unit{Kind: stream.Video, Key: true})
		select {
		case <-ladder.joined:
		case <-time.After(5 * time.Second):
			t.Fatalf("ladder first %v: the ladder did not join the packaging", ladderFirst)
		}
		var got []string
		for range 2 {
			got = append(got, store.next(t))
		}
		l.End("done")
		for range 2 {
			got = append(got, store.next(t))
		}
		if diff := cmp.Diff([]string{EventSessionCreated, EventStreamStart, EventStreamEnd, EventSessionEnded}, got); diff != "" {
			t.Errorf("ladder first %v: events (-want +got):\n%s", ladderFirst, diff)
		}
	}
}

// TestOutputFailureEndsTheSession: an output that returns an error or panics ends the session
// with a reason on record; one that reports a failure leaves it live.
func TestOutputFailureEndsTheSession(t *testing.T) {
	tests := []struct {
		name       string
		out        *fakeOutput
		wantReason string
	}{
		{"error", &fakeOutput{err: errors.New("internal error in the HLS packager")}, "internal error in the HLS packager"},
		{"panic", &fakeOutput{panics: true}, "internal error in a stream output"},
		{"tap panic", &fakeOutput{tapPanics: true}, "internal error in the packager"},
	}
	for _, tt := range tests {
		s, store, _ := newService(t)
		s.starveAfter = time.Hour
		s.outputs = []Output{tt.out}
		ctx := context.Background()
		ch, _ := s.Authorize(ctx, "sk_key")
		st := stream.New(stream.Tracks{H264: &stream.H264{}})
		l, err := s.Begin(ctx, ch, st, func() {})
		if err != nil {
			t.Fatal(err)
		}
		st.Write(&stream.Unit{Kind: stream.Video, Key: true})
		select {
		case <-l.done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the session did not end", tt.name)
		}
		if s.Live(ch.ID) != nil {
			t.Errorf("%s: the channel is still live", tt.name)
		}
		store.mu.Lock()
		var got []string
		var reason string
		for _, e := range store.events {
			got = append(got, e.Name)
			if e.Name == EventStreamEnd {
				reason = e.ParseDetail().Reason
			}
		}
		store.mu.Unlock()
		if diff := cmp.Diff([]string{EventSessionCreated, EventStreamEnd, EventSessionEnded}, got); diff != "" {
			t.Errorf("%s: events (-want +got):\n%s", tt.name, diff)
		}
		if reason != tt.wantReason {
			t.Errorf("%s: reason %q, want %q", tt.name, reason, tt.wantReason)
		}
	}

	// A reported failure is a Stream Failure; the session goes on.
	s, store, _ := newService(t)
	s.starveAfter = time.Hour
	s.outputs = []Output{&fakeOutput{reports: []Report{{Kind: ReportFailure, Reason: "transcoding: no ffmpeg"}}}}
	ctx := context.Background()
	ch, _ := s.Authorize(ctx, "sk_key")
	l, err := s.Begin(ctx, ch, stream.New(stream.Tracks{H264: &stream.H264{}}), func() {})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{EventSessionCreated, EventStreamFailure} {
		if got := store.next(t); got != want {
			t.Fatalf("event %s, want %s", got, want)
		}
	}
	if s.Live(ch.ID) != l.Live {
		t.Errorf("a reported failure ended the session")
	}
	l.End("done")
}

// TestEndWaitsForEveryOutput: End returns only once every output's goroutine and the
// session's own have returned.
func TestEndWaitsForEveryOutput(t *testing.T) {
	s, _, _ := newService(t)
	outs := []*fakeOutput{{}, {}, {reports: []Report{{Kind: ReportStarted}}}}
	for _, o := range outs {
		s.outputs = append(s.outputs, o)
	}
	reader := &fakeReader{}
	s.outputs = append(s.outputs, fakePackager{}, reader)
	before := runtime.NumGoroutine()
	ctx := context.Background()
	ch, _ := s.Authorize(ctx, "sk_key")
	st := stream.New(stream.Tracks{H264: &stream.H264{}})
	l, err := s.Begin(ctx, ch, st, func() {})
	if err != nil {
		t.Fatal(err)
	}
	st.Write(&stream.Unit{Kind: stream.Video, Key: true})
	l.End("done")
	if n := reader.units.Load(); n != 1 {
		t.Errorf("the reader counted %d units when End returned, want 1", n)
	}
	for i, o := range outs {
		if !o.exited.Load() {
			t.Errorf("output %d still runs after End", i)
		}
	}
	// The session's goroutines have closed what End waits for, and end right after it.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // polling the count, bounded
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d goroutines after End, %d before Begin", after, before)
	}
}
