package safe

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunTurnsAPanicIntoAnError(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	err := Run(log, "conn", func() error { panic(errors.New("boom")) })
	var p *PanicError
	if !errors.As(err, &p) {
		t.Fatalf("err = %v, want a PanicError", err)
	}
	if got := logs.String(); !strings.Contains(got, "in=conn") || !strings.Contains(got, "safe_test.go") {
		t.Errorf("log %q lacks the name and the stack", got)
	}
	want := errors.New("plain")
	if err := Run(log, "conn", func() error { return want }); err != want {
		t.Errorf("err = %v, want %v", err, want)
	}
}

func TestGoKeepsThePanicInItsGoroutine(t *testing.T) {
	log := slog.New(slog.NewTextHandler(&syncBuffer{}, nil))
	done := make(chan struct{})
	Go(log, "worker", func() {
		defer close(done)
		panic("boom")
	})
	<-done // had the panic escaped, the test binary would have died
}

func TestSuperviseRestartsAfterAPanic(t *testing.T) {
	old := Backoff
	Backoff.First, Backoff.Max = time.Millisecond, 10*time.Millisecond
	defer func() { Backoff = old }()
	log := slog.New(slog.NewTextHandler(&syncBuffer{}, nil))
	runs := 0
	err := Supervise(context.Background(), log, "janitor", func(ctx context.Context) error {
		runs++
		if runs < 3 {
			panic("boom")
		}
		return errors.New("done")
	})
	if err == nil || err.Error() != "done" || runs != 3 {
		t.Errorf("Supervise = %v after %d runs, want done after 3", err, runs)
	}
}

func TestSuperviseStopsWithItsContext(t *testing.T) {
	log := slog.New(slog.NewTextHandler(&syncBuffer{}, nil))
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- Supervise(ctx, log, "lease", func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			panic("panicking on the way out") // still not restarted: ctx is done
		})
	}()
	<-started
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Supervise = %v, want nil after cancel", err)
	}
}

func TestCallbackEndsOnlyThatCall(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var got []string
	h := Callback(log, "bus handler", func(subject string, data []byte) {
		if subject == "bad" {
			panic("malformed message")
		}
		got = append(got, subject)
	})
	h("a", nil)
	h("bad", nil) // would kill the process unwrapped: the bus calls it on its own goroutine
	h("b", nil)
	if strings.Join(got, ",") != "a,b" || !strings.Contains(logs.String(), "malformed message") {
		t.Errorf("delivered %v, log %q", got, logs.String())
	}
}
