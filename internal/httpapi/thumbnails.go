package httpapi

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/recordings"
	"github.com/livehouse/livehouse/internal/storage"
)

// thumbnailCache: a live thumbnail is replaced every 30 s under the same URL, so caches keep it
// no longer than that; a private channel's only in the viewer's browser.
const (
	thumbnailCache        = "public, max-age=30"
	thumbnailPrivateCache = "private, max-age=30"
)

// thumbnailURL is a live channel's thumbnail: one stable URL a channel.
func thumbnailURL(username string) string { return "/api/channels/" + username + "/thumbnail.jpg" }

// handleThumbnail is GET /api/channels/{username}/thumbnail.jpg: the live channel's latest
// thumbnail (a JPEG of a keyframe, refreshed every 30 s), from the recordings storage, so any
// node serves it. Only those who may watch the channel get it (a private channel's allowlist,
// not the banned); an offline channel has none (404).
func handleThumbnail(acc *accounts.Service, chs *channels.Service, recs *recordings.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(err error) {
			w.Header().Set("Cache-Control", "no-store")
			writeError(w, r, log, err)
		}
		none := problem.NotFound("NoThumbnail", "This channel has no live thumbnail: it is offline, or has only just gone live.")
		p, err := chs.ByUsername(r.Context(), r.PathValue("username"))
		if err != nil {
			fail(err)
			return
		}
		if err := chs.MayWatch(r.Context(), p.ChannelID, viewerID(acc, r)); err != nil {
			fail(err)
			return
		}
		if p.LiveSince == nil || recs == nil {
			fail(none)
			return
		}
		body, size, err := recs.Media().Get(r.Context(), recordings.ThumbnailKey(p.ChannelID))
		if errors.Is(err, storage.ErrNotFound) {
			fail(none)
			return
		}
		if err != nil {
			fail(err)
			return
		}
		defer body.Close()
		h := w.Header()
		h.Set("Content-Type", "image/jpeg")
		h.Set("Cache-Control", thumbnailCache)
		if p.Private {
			h.Set("Cache-Control", thumbnailPrivateCache)
		}
		h.Set("Content-Length", strconv.FormatInt(size, 10))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = io.Copy(w, body)
		}
	})
}
