package hls

import (
	"sync"
	"time"
)

// SessionWindow is how long a playback session counts after its player last fetched a
// playlist from this node.
const SessionWindow = 30 * time.Second

// maxSessionsPerChannel bounds the memory one channel's sessions take. Sessions come from
// signed tokens, so they cannot be made up, but one viewer can mint many.
const maxSessionsPerChannel = 200_000

// sessions counts the playback sessions (from the verified tokens) that fetch each channel's
// playlists here. It is this node's view only, and it undercounts behind a shared cache; the
// players' beacons are the count that holds across nodes and caches.
type sessions struct {
	mu       sync.Mutex
	channels map[string]map[string]time.Time
}

func newSessions() *sessions { return &sessions{channels: map[string]map[string]time.Time{}} }

func (v *sessions) seen(channel, session string, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	m := v.channels[channel]
	if m == nil {
		m = map[string]time.Time{}
		v.channels[channel] = m
	}
	if _, known := m[session]; !known && len(m) >= maxSessionsPerChannel {
		v.pruneLocked(channel, now)
		if len(m) >= maxSessionsPerChannel {
			return
		}
	}
	m[session] = now
}

func (v *sessions) count(channel string, now time.Time) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.pruneLocked(channel, now)
	return len(v.channels[channel])
}

func (v *sessions) pruneLocked(channel string, now time.Time) {
	m := v.channels[channel]
	for t, last := range m {
		if now.Sub(last) > SessionWindow {
			delete(m, t)
		}
	}
	if len(m) == 0 {
		delete(v.channels, channel)
	}
}

func (v *sessions) forget(channel string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.channels, channel)
}

func (v *sessions) total(now time.Time) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := 0
	for channel := range v.channels {
		v.pruneLocked(channel, now)
		n += len(v.channels[channel])
	}
	return n
}
