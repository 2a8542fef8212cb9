package hls

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livehouse/livehouse/internal/media/llhls"
)

// edge holds one media playlist at the live edge and answers blocking reloads from it. A
// follower keeps it current: followMuxer for a stream packaged here, a relay's follower for a
// stream packaged on another node. Every request waiting for the same update shares the one
// rendering the follower publishes.
type edge struct {
	lastUsed atomic.Int64 // unix nanoseconds of the last request, for idle followers to stop

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every update
	body    []byte
	st      plState
	closed  bool // no more updates: the stream ended (the body gets EXT-X-ENDLIST)
	lost    bool // the follower cannot reach its source now (a relay's upstream)

	deltaOf []byte // the body delta was made of
	delta   []byte // its delta update (delta.go), made at the first request for it
}

// deltaFor returns the delta update of body, a playlist this edge published: made once per
// playlist, however many requests ask for it.
func (e *edge) deltaFor(body []byte) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(body) > 0 && len(e.deltaOf) == len(body) && &e.deltaOf[0] == &body[0] {
		return e.delta
	}
	e.deltaOf, e.delta = body, deltaPlaylist(body)
	return e.delta
}

// plState is what a media playlist says about the live edge.
type plState struct {
	seq      int   // media sequence number of the first segment listed
	parts    []int // parts listed for each complete segment, from seq
	cur      int   // msn of the segment being built
	curParts int   // its parts so far
	target   time.Duration
	ended    bool // the playlist carries EXT-X-ENDLIST
}

var (
	seqLineRE    = regexp.MustCompile(`#EXT-X-MEDIA-SEQUENCE:(\d{1,9})`)
	targetLineRE = regexp.MustCompile(`#EXT-X-TARGETDURATION:(\d{1,4})`)
)

func parseState(pl []byte) (plState, bool) {
	text := string(pl)
	m := seqLineRE.FindStringSubmatch(text)
	if m == nil {
		return plState{}, false
	}
	var st plState
	st.seq, _ = strconv.Atoi(m[1])
	if t := targetLineRE.FindStringSubmatch(text); t != nil {
		n, _ := strconv.Atoi(t[1])
		st.target = time.Duration(n) * time.Second
	}
	parts := 0
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "#EXT-X-PART:"):
			parts++
		case strings.HasPrefix(line, "#EXTINF"):
			st.parts = append(st.parts, parts)
			parts = 0
		case strings.HasPrefix(line, "#EXT-X-ENDLIST"):
			st.ended = true
		}
	}
	st.cur, st.curParts = st.seq+len(st.parts), parts
	return st, true
}

// has reports whether the playlist holds part `part` of segment msn (part < 0: the segment
// itself), with a part index past a completed segment's last part meaning part 0 of the next.
func (st plState) has(msn, part int) bool {
	for {
		switch {
		case msn < st.seq:
			return true
		case msn < st.cur:
			if part < 0 || part < st.parts[msn-st.seq] {
				return true
			}
			msn, part = msn+1, 0
			continue
		case msn == st.cur:
			return part >= 0 && part < st.curParts
		}
		return false
	}
}

// blockLimit is how long a blocking reload may wait: three target durations, per the rules.
func (st plState) blockLimit(fallback time.Duration) time.Duration {
	if st.target > 0 {
		return 3 * st.target
	}
	return fallback
}

func newEdge() *edge {
	e := &edge{changed: make(chan struct{})}
	e.touch()
	return e
}

func (e *edge) touch() { e.lastUsed.Store(time.Now().UnixNano()) }

func (e *edge) idle(now time.Time) time.Duration {
	return now.Sub(time.Unix(0, e.lastUsed.Load()))
}

// publish makes body the current playlist, unless it is older than the one held.
func (e *edge) publish(body []byte, st plState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	if e.body != nil && !e.lost && (st.cur < e.st.cur || st.cur == e.st.cur && st.curParts < e.st.curParts) {
		return // an older answer arriving late
	}
	e.body, e.st, e.lost = body, st, false
	e.wake()
}

// setLost marks the source unreachable (waiters are told so) or reachable again.
func (e *edge) setLost(lost bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.lost != lost && !e.closed {
		e.lost = lost
		e.wake()
	}
}

// finish ends the playlist: no more updates; final, if not nil, replaces the body.
func (e *edge) finish(final []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	if final != nil {
		e.body = final
	}
	e.closed, e.lost = true, false
	close(e.changed)
}

func (e *edge) wake() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// waitResult is how a wait for the playlist ended.
type waitResult int

const (
	waitOK      waitResult = iota // the playlist satisfies the request
	waitEnded                     // the stream is over: the body is the last playlist (may be nil)
	waitTimeout                   // nothing satisfying came within the limit
	waitLost                      // the source is unreachable
)

// wait returns the playlist once it satisfies (msn, part) (msn < 0: any playlist), or why not
// within limit or before ctx is done (the viewer went away).
func (e *edge) wait(ctx context.Context, msn, part int, limit time.Duration) ([]byte, plState, waitResult) {
	e.touch()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		e.mu.Lock()
		body, st, closed, lost, changed := e.body, e.st, e.closed, e.lost, e.changed
		e.mu.Unlock()
		switch {
		case closed:
			return body, st, waitEnded
		case lost:
			return nil, st, waitLost
		case body != nil && (msn < 0 || st.has(msn, part)):
			return body, st, waitOK
		}
		select {
		case <-changed:
		case <-timer.C:
			return nil, st, waitTimeout
		case <-ctx.Done():
			return nil, st, waitTimeout
		}
	}
}

// followMuxer keeps an edge current from a local muxer until the muxer closes: the muxer
// renders each playlist once per change, and the edge shares that rendering (with the
// channel's EXT-X-DATERANGEs) with every request it satisfies.
func followMuxer(e *edge, m *llhls.Muxer, tl *timeline, file string, renders func()) {
	for {
		body, changed, final, ok := m.Playlist(file)
		if !ok {
			e.finish(nil)
			return
		}
		if body != nil {
			if st, parsed := parseState(body); parsed {
				if final {
					e.finish(withDateRanges(body, tl))
					return
				}
				e.publish(withDateRanges(body, tl), st)
				renders()
			}
		} else if final {
			e.finish(nil)
			return
		}
		<-changed
	}
}

// withDateRanges lists the stream's cues in a playlist, before its first segment.
func withDateRanges(body []byte, tl *timeline) []byte {
	if tl == nil {
		return body
	}
	tags := tl.DateRanges()
	if tags == "" {
		return body
	}
	i := bytes.Index(body, []byte("#EXT-X-PROGRAM-DATE-TIME"))
	if i < 0 {
		return body
	}
	out := make([]byte, 0, len(body)+len(tags))
	out = append(out, body[:i]...)
	out = append(out, tags...)
	return append(out, body[i:]...)
}
