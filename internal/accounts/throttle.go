package accounts

import (
	"sync"
	"time"
)

// throttle counts failed sign-ins per key (an account's login name, a client address) in a
// fixed window and says how long a key must wait once it has failed too often. It lives in
// memory: on a cluster each node counts on its own, which bounds guessing per node.
type throttle struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	keys   map[string]*attempts
}

type attempts struct {
	failures int
	start    time.Time
}

func newThrottle(limit int, window time.Duration) *throttle {
	return &throttle{limit: limit, window: window, keys: map[string]*attempts{}}
}

// wait returns how long key must wait before trying again (0 = may try now).
func (t *throttle) wait(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.keys[key]
	if a == nil || now.Sub(a.start) >= t.window {
		return 0
	}
	if a.failures >= t.limit {
		return a.start.Add(t.window).Sub(now)
	}
	return 0
}

// fail records a failure for key.
func (t *throttle) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.keys[key]
	if a == nil || now.Sub(a.start) >= t.window {
		a = &attempts{start: now}
		t.keys[key] = a
	}
	a.failures++
	if len(t.keys) > 100_000 { // bound memory under a spray of keys: drop expired windows
		for k, v := range t.keys {
			if now.Sub(v.start) >= t.window {
				delete(t.keys, k)
			}
		}
	}
}

// reset forgets key's failures after a success.
func (t *throttle) reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.keys, key)
}
