// Package safe keeps a panic where it happens: in one connection, one stream or one turn of a
// background loop, logged with its stack, never taking the process down. A panic in a
// goroutine cannot be recovered by anyone but that goroutine, so every goroutine that handles
// network input or runs a loop starts through here.
package safe

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"
)

// PanicError is a recovered panic, with the stack where it happened.
type PanicError struct {
	Value any
	Stack []byte
}

func (p *PanicError) Error() string { return fmt.Sprintf("panic: %v", p.Value) }

// Run calls fn and returns its error, or a *PanicError when it panics (logged with its stack
// under name). The caller's cleanup after Run then proceeds as for any error.
func Run(log *slog.Logger, name string, fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			p := &PanicError{Value: v, Stack: debug.Stack()}
			log.Error("recovered from a panic", "in", name, "panic", fmt.Sprint(v), "stack", string(p.Stack))
			err = p
		}
	}()
	return fn()
}

// Go runs fn in its own goroutine through Run: a panic ends fn alone.
func Go(log *slog.Logger, name string, fn func()) {
	go Run(log, name, func() error { fn(); return nil }) //nolint:errcheck // logged by Run
}

// Backoff bounds the waits between restarts of a loop that keeps panicking.
var Backoff = struct{ First, Max time.Duration }{100 * time.Millisecond, 30 * time.Second}

// Supervise runs loop until it returns or ctx ends. A panic is logged and the loop started
// again after a wait that doubles with each panic in a row (from Backoff.First up to
// Backoff.Max) and resets once a run lasted longer than Backoff.Max.
func Supervise(ctx context.Context, log *slog.Logger, name string, loop func(context.Context) error) error {
	wait := Backoff.First
	for {
		began := time.Now()
		err := Run(log, name, func() error { return loop(ctx) })
		if _, panicked := err.(*PanicError); !panicked {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(began) > Backoff.Max {
			wait = Backoff.First
		}
		log.Warn("restarting after a panic", "loop", name, "in", wait.String())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		wait = min(2*wait, Backoff.Max)
	}
}

// Recover, deferred first thing in a goroutine, logs a panic there with its stack and ends
// the goroutine instead of the process. Deferred calls made after it (closing a connection,
// ending a stream) run before it.
func Recover(log *slog.Logger, name string) {
	if v := recover(); v != nil {
		log.Error("recovered from a panic", "in", name, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	}
}

// Callback wraps f, called on goroutines that others own (a bus subscription's delivery, a
// library's hook): a panic in one call is logged and ends that call only.
func Callback[A, B any](log *slog.Logger, name string, f func(A, B)) func(A, B) {
	return func(a A, b B) {
		defer Recover(log, name)
		f(a, b)
	}
}
