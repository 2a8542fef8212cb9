package hls

import (
	"bytes"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gohlslib/v2"
)

// edge follows one media playlist at the live edge and answers blocking reloads from it.
//
// gohlslib renders a playlist per waiting request, has no 503, and mishandles one valid
// request: asking for the part after the last part of a segment that has just completed waits
// for the whole next segment instead of answering with its part 0. The edge asks gohlslib for
// both candidates of the next update — the next part of the current segment, and part 0 of the
// next segment — takes whichever comes first, and shares that one rendering with every request
// it satisfies.
type edge struct {
	m    *gohlslib.Muxer
	tl   *timeline // the stream's timed metadata, listed as EXT-X-DATERANGE
	file string

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every update
	body    []byte
	st      plState
	closed  bool
}

// plState is what a media playlist says about the live edge.
type plState struct {
	seq      int   // media sequence number of the first segment listed
	parts    []int // parts listed for each complete segment, from seq
	cur      int   // msn of the segment being built
	curParts int   // its parts so far
	target   time.Duration
}

var (
	seqLineRE    = regexp.MustCompile(`#EXT-X-MEDIA-SEQUENCE:(\d+)`)
	targetLineRE = regexp.MustCompile(`#EXT-X-TARGETDURATION:(\d+)`)
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
		}
	}
	st.cur, st.curParts = st.seq+len(st.parts), parts
	return st, true
}

// has reports whether the playlist holds part `part` of segment msn (part < 0: the segment
// itself), with a part index past a completed segment's last part meaning part 0 of the next.
func (st plState) has(msn, part int) bool {
	switch {
	case msn < st.seq:
		return true
	case msn < st.cur:
		if part < 0 || part < st.parts[msn-st.seq] {
			return true
		}
		return st.has(msn+1, 0)
	case msn == st.cur:
		return part >= 0 && part < st.curParts
	}
	return false
}

func newEdge(m *gohlslib.Muxer, tl *timeline, file string) *edge {
	return &edge{m: m, tl: tl, file: file, changed: make(chan struct{})}
}

// render asks gohlslib for the playlist with the given query and returns it, or nil once the
// stream is over.
func (e *edge) render(query string) ([]byte, int) {
	req, _ := http.NewRequest(http.MethodGet, "/"+e.file+"?"+query, nil)
	rec := &recorder{header: http.Header{}}
	e.m.Handle(rec, req)
	return rec.body.Bytes(), rec.status
}

// follow keeps the edge's playlist current until the muxer closes.
func (e *edge) follow(renders func()) {
	type answer struct {
		body   []byte
		status int
	}
	body, status := e.render("")
	for status == http.StatusOK {
		st, ok := parseState(body)
		if !ok {
			break
		}
		e.publish(withDateRanges(body, e.tl), st)
		// Both candidates for the next update; the slower one is answered by gohlslib when
		// its turn comes (within a segment) and is discarded.
		next := make(chan answer, 2)
		for _, q := range []string{
			"_HLS_msn=" + strconv.Itoa(st.cur) + "&_HLS_part=" + strconv.Itoa(st.curParts),
			"_HLS_msn=" + strconv.Itoa(st.cur+1) + "&_HLS_part=0",
		} {
			go func() {
				b, s := e.render(q)
				next <- answer{b, s}
			}()
		}
		a := <-next
		body, status = a.body, a.status
		renders()
	}
	e.mu.Lock()
	e.closed = true
	close(e.changed)
	e.mu.Unlock()
}

func (e *edge) publish(body []byte, st plState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.body != nil && (st.cur < e.st.cur || st.cur == e.st.cur && st.curParts < e.st.curParts) {
		return // an older answer arriving late
	}
	e.body, e.st = body, st
	close(e.changed)
	e.changed = make(chan struct{})
}

// wait returns the playlist once it satisfies (msn, part) (msn < 0: at once), or nil after
// limit, or with ended set when the stream is over.
func (e *edge) wait(msn, part int, limit time.Duration) (body []byte, st plState, ended bool) {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		e.mu.Lock()
		body, st, closed, changed := e.body, e.st, e.closed, e.changed
		e.mu.Unlock()
		if closed {
			return body, st, true
		}
		if body != nil && (msn < 0 || st.has(msn, part)) {
			return body, st, false
		}
		select {
		case <-changed:
		case <-timer.C:
			return nil, st, false
		}
	}
}

// withDateRanges lists the stream's cues in a playlist, before its first segment.
func withDateRanges(body []byte, tl *timeline) []byte {
	if tl == nil {
		return body
	}
	tags := tl.dateRanges()
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
