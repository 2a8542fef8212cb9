package hls

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/bluenviron/gohlslib/v2"
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
	mediaFileRE = regexp.MustCompile(`^[0-9a-f]{12}_(video|audio)[0-9]{1,2}_(init|seg[0-9]{1,18}|part[0-9]{1,18})\.mp4$`)
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

// mediaPlaylists are the names of the media playlists a muxer serves: one per track, named as
// gohlslib names them (video1_stream.m3u8, audio2_stream.m3u8, …).
func mediaPlaylists(m *gohlslib.Muxer) []string {
	out := make([]string, 0, len(m.Tracks))
	for i, t := range m.Tracks {
		kind := "audio"
		if t.Codec.IsVideo() {
			kind = "video"
		}
		out = append(out, kind+strconv.Itoa(i+1)+"_stream.m3u8")
	}
	return out
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

// serveMuxerIndex answers a muxer's own multivariant playlist, rendered without the request's
// query (gohlslib copies it onto every URI; the token must not be there).
func serveMuxerIndex(w http.ResponseWriter, r *http.Request, m *gohlslib.Muxer) {
	body, status, err := render(m, "index.m3u8", "")
	if err != nil || status != http.StatusOK {
		w.Header().Set("Retry-After", "1")
		fail(w, http.StatusServiceUnavailable, "the stream is not ready")
		return
	}
	writePlaylist(w, r, body, cacheShort)
}

// serveMuxerFile lets gohlslib answer a part, segment or init section (waiting for a hinted
// part), with our caching headers; gohlslib writes nothing for a name it does not have.
func serveMuxerFile(w http.ResponseWriter, r *http.Request, m *gohlslib.Muxer) {
	cw := &cacheWriter{ResponseWriter: w}
	m.Handle(cw, r)
	if !cw.wrote {
		fail(w, http.StatusNotFound, "no such file")
	}
}

// cacheWriter sets Cache-Control on what gohlslib writes: immutable for a 200, never stored
// otherwise.
type cacheWriter struct {
	http.ResponseWriter
	wrote bool
}

func (c *cacheWriter) WriteHeader(status int) {
	if c.wrote {
		return
	}
	c.wrote = true
	if status == http.StatusOK {
		c.Header().Set("Cache-Control", cacheImmutable)
	} else {
		c.Header().Set("Cache-Control", cacheNone)
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *cacheWriter) Write(b []byte) (int, error) {
	if !c.wrote {
		c.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(b)
}
