package hls

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/livehouse/livehouse/internal/media/llhls"
)

// Blocking playlist reloads, per draft-pantos-hls-rfc8216bis §6.2.5.2: every waiter for the
// same update shares one rendering (the muxer's, published by the stream's edge), a request that names a part
// too far ahead is refused with 400, and one blocked longer than three target durations gets
// 503.

// advanceParts is the Advance Part Limit for 200 ms parts: three seconds' worth.
const advanceParts = 15

// servePlaylist answers a media playlist request from an edge (fed by a local muxer, or by a
// relay from the node that packages the stream). The playlist carries nothing per viewer, so
// its part URIs stay cacheable. _HLS_skip=YES (or v2) gets the delta update (delta.go); an
// ended playlist is answered whole. limit is how long to wait before the playlist's own
// target duration is known.
func (s *Server) servePlaylist(w http.ResponseWriter, r *http.Request, e *edge, limit time.Duration, query url.Values) {
	s.playlistRequests.Inc()
	msnS, partS := query.Get("_HLS_msn"), query.Get("_HLS_part")
	msn, part := -1, -1
	var err error
	if msnS != "" {
		if msn, err = strconv.Atoi(msnS); err != nil || msn < 0 {
			fail(w, http.StatusBadRequest, "bad _HLS_msn")
			return
		}
	}
	if partS != "" {
		if msnS == "" {
			fail(w, http.StatusBadRequest, "_HLS_part needs _HLS_msn")
			return
		}
		if part, err = strconv.Atoi(partS); err != nil || part < 0 {
			fail(w, http.StatusBadRequest, "bad _HLS_part")
			return
		}
	}
	skip := false
	switch query.Get("_HLS_skip") {
	case "":
	case "YES", "v2":
		skip = true
	default:
		fail(w, http.StatusBadRequest, "bad _HLS_skip: YES or v2")
		return
	}
	body, st, res := e.wait(r.Context(), -1, -1, limit)
	if res == waitOK && msn >= 0 {
		if msn > st.cur+1 || msn == st.cur && part > st.curParts+advanceParts || msn == st.cur+1 && part > advanceParts {
			fail(w, http.StatusBadRequest, "the requested part is too far ahead of the live edge")
			return
		}
		body, st, res = e.wait(r.Context(), msn, part, st.blockLimit(limit))
	}
	switch res {
	case waitTimeout:
		s.playlistTimeouts.Inc()
		w.Header().Set("Retry-After", "1")
		fail(w, http.StatusServiceUnavailable, "the requested part did not arrive in time")
	case waitLost:
		w.Header().Set("Retry-After", "1")
		fail(w, http.StatusServiceUnavailable, "the node packaging this stream cannot be reached")
	case waitEnded:
		if body == nil {
			fail(w, http.StatusNotFound, "this channel is not live")
			return
		}
		writePlaylist(w, r, endPlaylist(body), cacheShort)
	default:
		cc := cacheShort
		if msn >= 0 {
			cc = cacheBlocking(st)
		}
		if skip {
			body = e.deltaFor(body)
		}
		writePlaylist(w, r, body, cc)
	}
}

// localEdge is an edge that follows one of this node's muxers.
type localEdge struct {
	e *edge
	m *llhls.Muxer
}

// localEdge returns the edge following one media playlist of a local stream, starting its
// follower if needed: a goroutine of the channel's packaging, which waits for it once it has
// closed the muxers (the follower ends with them). file is one the muxer serves (checked by the caller), so the edges of a
// stream are bounded by its renditions.
func (s *Server) localEdge(lv *live, m *llhls.Muxer, key, file string) *edge {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	le := lv.edges[key]
	if le == nil || le.m != m {
		le = &localEdge{e: newEdge(), m: m}
		lv.edges[key] = le
		if lv.closed { // its muxers are closed: the follower finishes the edge at once
			followMuxer(le.e, m, lv.tl, file, s.playlistRenders.Inc)
			return le.e
		}
		lv.followers.Add(1) // before the packaging's run waits for them: lv is not closed
		go func() {
			defer lv.followers.Done()
			followMuxer(le.e, m, lv.tl, file, s.playlistRenders.Inc)
		}()
	}
	return le.e
}

// blockLimit is three target durations: a segment lasts at least SegmentMinDuration and is
// cut at the next keyframe, so the target duration is at least that.
func (s *Server) blockLimit() time.Duration { return 3 * s.cfg.SegmentMinDuration }
