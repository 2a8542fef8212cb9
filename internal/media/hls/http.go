package hls

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/livehouse/livehouse/internal/media/llhls"
)

// Cache-Control per artifact, so that a shared cache (nginx, a CDN) in front of the nodes
// serves every viewer of a channel from one copy:
//   - playlists without delivery directives (multivariant and media) and ended playlists:
//     one second. A player loads them once, then blocks on the next part; a copy one second
//     old starts it at most a second behind the edge, and the next blocking reload catches
//     up. no-cache would send every first load to the origin; a second lets a cache absorb a
//     crowd that arrives at once (a raid, a notification) while rungs that appear or a
//     stream that ends show within a second.
//   - playlists answering _HLS_msn/_HLS_part: three target durations. The answer stays true
//     (it holds the part asked for) for as long as that part is in the window, and every
//     viewer waiting on the same part asks for the same URL.
//   - parts, segments and init sections: immutable. Their names carry the muxer's random
//     prefix and their number, so a name is never reused, not even by the next stream.
//   - errors: never stored.
const (
	cacheShort     = "public, max-age=1"
	cacheImmutable = "public, max-age=3600, immutable"
	cacheNone      = "no-store"
)

func cacheBlocking(st plState) string {
	secs := 6
	if st.target > 0 {
		secs = 3 * int(st.target.Seconds())
	}
	return "public, max-age=" + strconv.Itoa(secs)
}

// hlsRequest is a checked request path: /hls/{channelID}/[{rung}/]{file}.
type hlsRequest struct {
	channelID, rung, file string
	key                   string // the file within the channel: file, or rung/file
}

var (
	idRE        = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	rungRE      = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
	fileRE      = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}\.(m3u8|mp4)$`)
	mediaFileRE = regexp.MustCompile(`^[0-9a-f]{12}_(video|audio)[0-9]{1,2}_(init[0-9]{1,9}|seg[0-9]{1,18}|part[0-9]{1,18})\.mp4$`)
)

// parsePath checks the shape of every name in the path before anything is looked up.
func parsePath(path string) (hlsRequest, bool) {
	rest, ok := strings.CutPrefix(path, "/hls/")
	if !ok {
		return hlsRequest{}, false
	}
	parts := strings.Split(rest, "/")
	var req hlsRequest
	switch len(parts) {
	case 2:
		req = hlsRequest{channelID: parts[0], file: parts[1], key: parts[1]}
	case 3:
		req = hlsRequest{channelID: parts[0], rung: parts[1], file: parts[2], key: parts[1] + "/" + parts[2]}
		if !rungRE.MatchString(req.rung) {
			return hlsRequest{}, false
		}
	default:
		return hlsRequest{}, false
	}
	return req, idRE.MatchString(req.channelID) && fileRE.MatchString(req.file)
}

// fail answers an error: a short text body that no cache keeps.
func fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Cache-Control", cacheNone)
	http.Error(w, msg, status)
}

func writePlaylist(w http.ResponseWriter, r *http.Request, body []byte, cacheControl string) {
	writeBody(w, r, body, "application/vnd.apple.mpegurl", cacheControl)
}

// writeMedia answers a part, segment or init section held whole. Range requests get all of
// it, which a 200 allows.
func writeMedia(w http.ResponseWriter, r *http.Request, body []byte) {
	writeBody(w, r, body, "video/mp4", cacheImmutable)
}

// writeBody answers 200 with body whole (none for HEAD).
func writeBody(w http.ResponseWriter, r *http.Request, body []byte, contentType, cacheControl string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", cacheControl)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// serveMuxerIndex answers a muxer's own multivariant playlist (a BASIC channel's, or one
// rung's).
func serveMuxerIndex(w http.ResponseWriter, r *http.Request, m *llhls.Muxer, wait time.Duration) {
	waitReady(r.Context(), m, wait)
	body, ok := muxerIndex(m)
	if !ok {
		w.Header().Set("Retry-After", "1")
		fail(w, http.StatusServiceUnavailable, "the stream is not ready")
		return
	}
	writePlaylist(w, r, body, cacheShort)
}

// serveMuxerFile answers a part, segment or init section, waiting up to wait for the part a
// playlist hints at. Each is held whole: range requests get all of it, which a 200 allows.
//
// The hinted part that does not come within the wait, on a stream still live, gets 503 with
// Retry-After as a blocking reload does, not 404: its encoder has dropped and the session
// waits for it to reconnect (the reconnect grace period), and the part comes when it does.
// hls.js retries a 503 and gives up on a 404 (a 4xx is never retried), which left a viewer
// on "The stream could not be loaded." through a reconnect the session survived.
func serveMuxerFile(w http.ResponseWriter, r *http.Request, m *llhls.Muxer, file string, wait time.Duration) {
	b, ok := m.Open(r.Context(), file, wait)
	if !ok {
		if r.Context().Err() == nil && hinted(m, file) {
			w.Header().Set("Retry-After", "1")
			fail(w, http.StatusServiceUnavailable, "the part did not arrive in time")
			return
		}
		fail(w, http.StatusNotFound, "no such file")
		return
	}
	// The packager's own bytes, held until written: no copy per request.
	defer b.Release()
	n := 0
	for _, p := range b.Pieces {
		n += len(p)
	}
	h := w.Header()
	h.Set("Content-Type", "video/mp4")
	h.Set("Cache-Control", cacheImmutable)
	h.Set("Content-Length", strconv.Itoa(n))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	for _, p := range b.Pieces {
		if _, err := w.Write(p); err != nil {
			return
		}
	}
}

// hinted reports whether file is the part a live playlist of m hints at (EXT-X-PRELOAD-HINT):
// one that comes if the stream goes on.
func hinted(m *llhls.Muxer, file string) bool {
	for _, name := range m.Playlists() {
		body, _, final, _ := m.Playlist(name)
		if !final && bytes.Contains(body, []byte(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="`+file+`"`)) {
			return true
		}
	}
	return false
}

// waitReady waits, up to limit, until every playlist of a muxer lists a complete segment: a
// player that asks for the multivariant playlist as the stream starts is answered once there
// is something to play, rather than refused.
func waitReady(ctx context.Context, m *llhls.Muxer, limit time.Duration) {
	var timer *time.Timer
	for {
		var changed <-chan struct{}
		for _, name := range m.Playlists() {
			body, c, final, _ := m.Playlist(name)
			if body == nil && !final {
				changed = c
				break
			}
		}
		if changed == nil {
			return
		}
		if timer == nil {
			timer = time.NewTimer(limit)
			defer timer.Stop()
		}
		select {
		case <-changed:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}
