package hls

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bluenviron/gohlslib/v2"
)

// Blocking playlist reloads, done the way draft-pantos-hls-rfc8216bis asks and gohlslib does
// not quite: every waiter for the same playlist update gets one rendering, shared; and a
// request blocked longer than three target durations is answered 503.

// recorder captures one rendering of a playlist.
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

// rendering is a finished playlist response, shared by every request that asked for it.
type rendering struct {
	status int
	header http.Header
	body   []byte
}

var unavailable = &rendering{status: http.StatusServiceUnavailable, header: http.Header{"Cache-Control": {"no-cache"}}, body: []byte("the requested part did not arrive in time\n")}

// servePlaylist answers a media playlist request through the collapsing layer. query is the
// request's query without the viewer token, so that every viewer shares one rendering and
// the part URIs in it carry no per-viewer data (which keeps parts cacheable).
func (s *Server) servePlaylist(w http.ResponseWriter, r *http.Request, m *gohlslib.Muxer, channelID, file string, query url.Values) {
	clean := query.Encode()
	key := channelID + "/" + file + "?" + clean
	s.playlistRequests.Inc()
	v, _, _ := s.flight.Do(key, func() (any, error) {
		s.playlistRenders.Inc()
		r2 := r.Clone(r.Context())
		r2.URL.RawQuery = clean
		rec := &recorder{header: http.Header{}}
		done := make(chan struct{})
		go func() {
			defer close(done)
			m.Handle(rec, r2)
		}()
		timer := time.NewTimer(s.blockLimit())
		defer timer.Stop()
		select {
		case <-done:
			if rec.status == 0 {
				rec.status = http.StatusNotFound
			}
			if rec.status == http.StatusOK {
				s.remember(channelID, file, rec.body.Bytes())
			}
			return &rendering{status: rec.status, header: rec.header, body: rec.body.Bytes()}, nil
		case <-timer.C:
			// The muxer goroutine finishes when the part arrives or the stream ends; its
			// answer is dropped.
			s.playlistTimeouts.Inc()
			return unavailable, nil
		}
	})
	res := v.(*rendering)
	for k, vals := range res.header {
		w.Header()[k] = vals
	}
	w.WriteHeader(res.status)
	_, _ = w.Write(res.body)
}

// remember keeps the newest rendering of a media playlist, to end it with when the stream ends.
func (s *Server) remember(channelID, file string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.muxers[channelID] == nil {
		return
	}
	if s.last[channelID] == nil {
		s.last[channelID] = map[string][]byte{}
	}
	s.last[channelID][file] = body
}

// blockLimit is three target durations: a segment lasts at least SegmentMinDuration and is
// cut at the next keyframe, so the target duration is at least that.
func (s *Server) blockLimit() time.Duration { return 3 * s.cfg.SegmentMinDuration }

func isMediaPlaylist(file string) bool {
	return strings.HasSuffix(file, ".m3u8") && file != "index.m3u8"
}
