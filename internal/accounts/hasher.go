package accounts

import (
	"context"
	"runtime"
	"time"

	"github.com/livehouse/livehouse/internal/problem"
)

// hasher bounds password hashing. Each argon2id hash takes its memory parameter (19 MiB by
// default) for about 25 ms of one core; unbounded, 100 concurrent sign-ins took the process
// to 1.9-2.7 GB and 150 sign-ups to 1.5 GB with 119 failing after a minute. So at most
// `workers` hashes run at once, at most `queue` more requests wait for one, none longer than
// maxWait, and every other request is answered at once with 503 and Retry-After.
type hasher struct {
	running chan struct{} // a token per hash running
	waiting chan struct{} // a token per request running or waiting
	maxWait time.Duration
}

// Hashing bounds by default: enough workers to use the cores, a queue that drains in a few
// hashes' time.
const (
	DefaultHashQueue   = 16
	DefaultHashMaxWait = 5 * time.Second
)

// DefaultHashWorkers is max(2, GOMAXPROCS): one hash per core.
func DefaultHashWorkers() int { return max(2, runtime.GOMAXPROCS(0)) }

// errHashBusy is the answer when the hashing queue is full.
var errHashBusy = problem.Unavailable("ServerBusy", "The server is busy; please try again in a moment.", time.Second)

func newHasher(workers, queue int, maxWait time.Duration) *hasher {
	return &hasher{running: make(chan struct{}, workers), waiting: make(chan struct{}, workers+queue), maxWait: maxWait}
}

// do runs fn, the hashing of one request, within the bounds; it returns errHashBusy without
// running fn when the queue is full or the wait too long.
func (h *hasher) do(ctx context.Context, fn func()) error {
	select {
	case h.waiting <- struct{}{}:
	default:
		return errHashBusy
	}
	defer func() { <-h.waiting }()
	timer := time.NewTimer(h.maxWait)
	defer timer.Stop()
	select {
	case h.running <- struct{}{}:
	case <-timer.C:
		return errHashBusy
	case <-ctx.Done(): // the client left; what it reads no longer matters, but it is no 500
		return errHashBusy
	}
	defer func() { <-h.running }()
	fn()
	return nil
}
