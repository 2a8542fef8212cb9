package accounts

import (
	"sync"
	"time"

	"github.com/livehouse/livehouse/internal/problem"
)

// throttle counts attempts per key (an account, a client address, a mail recipient) in a
// fixed window. An attempt is taken — counted — before its expensive work starts, under one
// lock, so that concurrent attempts cannot all pass a check made before any of them is
// counted (100 parallel wrong passwords all got 401 when failures were counted after the
// hash). An attempt that turns out not to count (a success, a request refused for another
// reason) is given back. It lives in memory: on a cluster each node counts on its own,
// which bounds guessing per node.
type throttle struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	keys   map[string]*attempts
}

type attempts struct {
	n     int
	start time.Time
}

// maxThrottleKeys bounds a throttle's memory (about 100 bytes a key) under a spray of keys:
// past it expired windows are dropped, and while it is still full a new key is refused for
// a window — a throttle that forgot its counts under a spray would let guessing through.
const maxThrottleKeys = 100_000

func newThrottle(limit int, window time.Duration) *throttle {
	return &throttle{limit: limit, window: window, keys: map[string]*attempts{}}
}

// take counts an attempt for key if it is under the limit and returns 0, or else counts
// nothing and returns how long key must wait.
func (t *throttle) take(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.keys[key]
	if a == nil || now.Sub(a.start) >= t.window {
		if a == nil && len(t.keys) >= maxThrottleKeys {
			t.dropExpired(now)
			if len(t.keys) >= maxThrottleKeys {
				return t.window
			}
		}
		a = &attempts{start: now}
		t.keys[key] = a
	}
	if a.n >= t.limit {
		return max(a.start.Add(t.window).Sub(now), time.Second)
	}
	a.n++
	return 0
}

func (t *throttle) dropExpired(now time.Time) {
	for k, v := range t.keys {
		if now.Sub(v.start) >= t.window {
			delete(t.keys, k)
		}
	}
}

// giveBack uncounts one attempt taken for key.
func (t *throttle) giveBack(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if a := t.keys[key]; a != nil && a.n > 0 {
		a.n--
	}
}

// reset forgets key's attempts, after a success that proves the attempts were the owner's.
func (t *throttle) reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.keys, key)
}

// slot names one attempt in one throttle.
type slot struct {
	t   *throttle
	key string
}

// reservation is a set of attempts taken together.
type reservation []slot

// reserve takes an attempt in every slot, or in none: when one throttle refuses, the others
// are given back and the answer is a Throttled problem with the longest wait.
func reserve(now time.Time, code, message string, slots ...slot) (reservation, error) {
	for i, s := range slots {
		if wait := s.t.take(s.key, now); wait > 0 {
			reservation(slots[:i]).giveBack()
			return nil, problem.Throttled(code, message, wait)
		}
	}
	return slots, nil
}

// giveBack uncounts every attempt of the reservation.
func (r reservation) giveBack() {
	for _, s := range r {
		s.t.giveBack(s.key)
	}
}
