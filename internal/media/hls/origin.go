package hls

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bluenviron/gohlslib/v2"
)

// Blocking playlist reloads, per draft-pantos-hls-rfc8216bis §6.2.5.2: every waiter for the
// same update shares one rendering (made by the stream's edge), a request that names a part
// too far ahead is refused with 400, and one blocked longer than three target durations gets
// 503.

// recorder captures one rendering of a playlist from gohlslib.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

// advanceParts is the Advance Part Limit for 200 ms parts: three seconds' worth.
const advanceParts = 15

// servePlaylist answers a media playlist request from the stream's edge. Viewer tokens were
// taken off the query already, so the playlist carries nothing per viewer and its part URIs
// stay cacheable. _HLS_skip is answered with the full playlist, which the rules allow.
func (s *Server) servePlaylist(w http.ResponseWriter, m *gohlslib.Muxer, tl *timeline, channelID, file string, query url.Values) {
	s.playlistRequests.Inc()
	msnS, partS := query.Get("_HLS_msn"), query.Get("_HLS_part")
	msn, part := -1, -1
	var err error
	if msnS != "" {
		if msn, err = strconv.Atoi(msnS); err != nil || msn < 0 {
			http.Error(w, "bad _HLS_msn", http.StatusBadRequest)
			return
		}
	}
	if partS != "" {
		if msnS == "" {
			http.Error(w, "_HLS_part needs _HLS_msn", http.StatusBadRequest)
			return
		}
		if part, err = strconv.Atoi(partS); err != nil || part < 0 {
			http.Error(w, "bad _HLS_part", http.StatusBadRequest)
			return
		}
	}
	e := s.edgeFor(channelID, m, tl, file)
	body, st, ended := e.wait(-1, -1, s.blockLimit())
	if !ended && body != nil && msn >= 0 {
		if msn > st.cur+1 || msn == st.cur && part > st.curParts+advanceParts {
			http.Error(w, "the requested part is too far ahead of the live edge", http.StatusBadRequest)
			return
		}
		body, _, ended = e.wait(msn, part, s.blockLimit())
	}
	if body == nil {
		s.playlistTimeouts.Inc()
		w.Header().Set("Cache-Control", "no-cache")
		http.Error(w, "the requested part did not arrive in time", http.StatusServiceUnavailable)
		return
	}
	if ended {
		body = endPlaylists(map[string][]byte{file: body})[file]
	}
	w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(body)
}

// edgeFor returns the edge following one media playlist of a stream, starting it if needed.
func (s *Server) edgeFor(channelID string, m *gohlslib.Muxer, tl *timeline, file string) *edge {
	s.mu.Lock()
	defer s.mu.Unlock()
	files := s.edges[channelID]
	if files == nil {
		files = map[string]*edge{}
		s.edges[channelID] = files
	}
	e := files[file]
	if e == nil || e.m != m {
		e = newEdge(m, tl, file)
		files[file] = e
		go e.follow(s.playlistRenders.Inc)
	}
	return e
}

// blockLimit is three target durations: a segment lasts at least SegmentMinDuration and is
// cut at the next keyframe, so the target duration is at least that.
func (s *Server) blockLimit() time.Duration { return 3 * s.cfg.SegmentMinDuration }

func isMediaPlaylist(file string) bool {
	return strings.HasSuffix(file, ".m3u8") && file != "index.m3u8"
}
