package validate

import (
	"strings"
	"sync"
)

// TB is the part of testing.TB a Checker reports to.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
}

// Checker checks every media playlist a test fetches: each on its own (Check), and each
// against the previous answer for the same playlist (Session). Answers fetched concurrently
// may arrive out of order; one behind the newest seen is checked on its own only. Tests give
// it every playlist body they read, with its path; multivariant playlists are skipped.
type Checker struct {
	tb TB

	mu       sync.Mutex
	sessions map[string]*Session
	opts     map[string]Options
}

// NewChecker returns a checker that fails tb on a violation.
func NewChecker(tb TB) *Checker {
	return &Checker{tb: tb, sessions: map[string]*Session{}, opts: map[string]Options{}}
}

// Expect sets the options (the renditions it must report) for the playlist at path.
func (c *Checker) Expect(path string, opt Options) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opts[stripQuery(path)] = opt
}

// Playlist checks one answer for the playlist at path (a URL path, query ignored).
func (c *Checker) Playlist(path string, body []byte) {
	c.tb.Helper()
	if !IsMedia(body) {
		return
	}
	key := stripQuery(path)
	m, err := Parse(body)
	if err != nil {
		c.tb.Errorf("playlist %s: %v\n%s", path, err, body)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sessions[key]
	if s == nil {
		s = &Session{Options: c.opts[key]}
		c.sessions[key] = s
	}
	if p := s.prev; p != nil && behind(m, p) {
		if err := m.check(s.Options); err != nil {
			c.tb.Errorf("playlist %s: %v\n%s", path, err, body)
		}
		return
	}
	if err := s.Next(body); err != nil {
		c.tb.Errorf("playlist %s: %v\n%s", path, err, body)
	}
}

// IsMedia reports whether a playlist is a media playlist (not a multivariant one).
func IsMedia(body []byte) bool {
	b := string(body)
	return strings.HasPrefix(b, "#EXTM3U") && strings.Contains(b, "#EXT-X-TARGETDURATION")
}

// behind reports whether m is an older state of the playlist than p.
func behind(m, p *Media) bool {
	a, b := m.End(), p.End()
	return a < b || a == b && len(m.Pending) < len(p.Pending)
}

func stripQuery(path string) string {
	p, _, _ := strings.Cut(path, "?")
	return p
}
