package hls

import (
	"sync"
	"time"
)

// ViewerWindow is how long a playback session counts after its player last asked for a
// playlist. LL-HLS players reload every part (about 0.2 s), so a viewer is counted at once
// and dropped ViewerWindow after they stop.
const ViewerWindow = 30 * time.Second

// maxViewersPerChannel bounds the memory a flood of made-up tokens can take.
const maxViewersPerChannel = 200_000

// viewers counts playback sessions per channel by the token each player carries in its
// playlist URLs (vt=…), not by address: many viewers share an address behind NAT, and one
// viewer's address changes on mobile networks.
type viewers struct {
	mu       sync.Mutex
	channels map[string]map[string]time.Time
}

func newViewers() *viewers { return &viewers{channels: map[string]map[string]time.Time{}} }

func validToken(t string) bool {
	if len(t) < 16 || len(t) > 40 {
		return false
	}
	for _, c := range t {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// seen records that token's player fetched a playlist of channel at now.
func (v *viewers) seen(channel, token string, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	m := v.channels[channel]
	if m == nil {
		m = map[string]time.Time{}
		v.channels[channel] = m
	}
	if _, known := m[token]; !known && len(m) >= maxViewersPerChannel {
		v.pruneLocked(channel, now)
		if len(m) >= maxViewersPerChannel {
			return
		}
	}
	m[token] = now
}

// count returns how many playback sessions of channel were active within the window.
func (v *viewers) count(channel string, now time.Time) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.pruneLocked(channel, now)
	return len(v.channels[channel])
}

func (v *viewers) pruneLocked(channel string, now time.Time) {
	m := v.channels[channel]
	for t, last := range m {
		if now.Sub(last) > ViewerWindow {
			delete(m, t)
		}
	}
	if len(m) == 0 {
		delete(v.channels, channel)
	}
}

// forget drops a channel's viewers when its stream ends.
func (v *viewers) forget(channel string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.channels, channel)
}

// total counts the playback sessions of every channel.
func (v *viewers) total(now time.Time) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := 0
	for channel := range v.channels {
		v.pruneLocked(channel, now)
		n += len(v.channels[channel])
	}
	return n
}
