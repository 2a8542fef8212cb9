package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

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

// thumbnailIndex tells which live channels have a thumbnail yet, so that cards name only
// those: a card pointing at one not made yet (a stream's first seconds, or no ffmpeg on the
// ingesting node) made every page showing it log a failed image load. It asks the storage
// (any node's answer, as the route's) and remembers an answer for a while, so a directory
// page costs at most one lookup per live channel every few seconds.
type thumbnailIndex struct {
	recs *recordings.Service // nil: no storage, no thumbnails
	now  func() time.Time

	mu    sync.Mutex
	known map[string]thumbnailSeen
}

type thumbnailSeen struct {
	has   bool
	until time.Time
}

// How long an answer holds: a thumbnail, once made, stays while the channel is live; the
// first one of a stream comes from its first keyframe.
const (
	thumbnailKnownFor  = 30 * time.Second
	thumbnailMissedFor = 3 * time.Second
	thumbnailIndexSize = 10_000 // channels remembered at most; beyond, the memory starts over
)

func newThumbnailIndex(recs *recordings.Service) *thumbnailIndex {
	return &thumbnailIndex{recs: recs, now: time.Now, known: map[string]thumbnailSeen{}}
}

// has reports whether channelID's thumbnail is in the storage.
func (x *thumbnailIndex) has(ctx context.Context, channelID string) bool {
	if x == nil || x.recs == nil {
		return false
	}
	now := x.now()
	x.mu.Lock()
	seen, ok := x.known[channelID]
	x.mu.Unlock()
	if ok && now.Before(seen.until) {
		return seen.has
	}
	body, _, err := x.recs.Media().Get(ctx, recordings.ThumbnailKey(channelID))
	if err == nil {
		body.Close()
	}
	seen = thumbnailSeen{has: err == nil, until: now.Add(thumbnailMissedFor)}
	if seen.has {
		seen.until = now.Add(thumbnailKnownFor)
	}
	x.mu.Lock()
	if len(x.known) >= thumbnailIndexSize {
		clear(x.known)
	}
	x.known[channelID] = seen
	x.mu.Unlock()
	return seen.has
}

// fill drops the thumbnail of the cards whose channel has none yet.
func (x *thumbnailIndex) fill(ctx context.Context, list []channelCard) {
	for i := range list {
		if list[i].ThumbnailURL != "" && !x.has(ctx, list[i].ChannelID) {
			list[i].ThumbnailURL = ""
		}
	}
}

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
