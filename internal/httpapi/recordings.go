package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/recordings"
	"github.com/livehouse/livehouse/internal/storage"
)

// video is a recording as the API shows it.
type video struct {
	ID              string    `json:"id"`
	ChannelID       string    `json:"channelId"`
	Title           string    `json:"title"`
	StartedAt       time.Time `json:"startedAt"`
	EndedAt         time.Time `json:"endedAt"`
	DurationSeconds float64   `json:"durationSeconds"`
	Hidden          bool      `json:"hidden"`
	PlaybackURL     string    `json:"playbackUrl"`
	PosterURL       string    `json:"posterUrl,omitempty"`
}

func videoOf(r *recordings.Recording) video {
	v := video{ID: r.ID, ChannelID: r.ChannelID, Title: r.Title, StartedAt: r.StartedAt, EndedAt: r.EndedAt,
		DurationSeconds: float64(r.Duration.Milliseconds()) / 1000, Hidden: r.Hidden, PlaybackURL: "/hls/vod/" + r.ID + "/index.m3u8"}
	if r.Poster {
		v.PosterURL = "/hls/vod/" + r.ID + "/poster.jpg"
	}
	return v
}

// viewerID is the signed-in caller's id, or "" for anyone else (a stale session included:
// public recordings play for them as for anyone).
func viewerID(acc *accounts.Service, r *http.Request) string {
	if u, err := optionalUser(acc, r); err == nil && u != nil {
		return u.ID
	}
	return ""
}

// handleChannelVideos is GET /api/channels/{username}/videos: the channel's past broadcasts,
// newest first; its owner sees hidden ones too.
func handleChannelVideos(acc *accounts.Service, chs *channels.Service, recs *recordings.Service, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		p, err := chs.ByUsername(r.Context(), r.PathValue("username"))
		if err != nil {
			return 0, nil, err
		}
		// Its past broadcasts too are for the owner and the allowlist only.
		if _, err := chs.Watchable(r.Context(), p.ChannelID, viewerID(acc, r)); err != nil {
			return 0, nil, err
		}
		list, err := recs.List(r.Context(), viewerID(acc, r), p.ChannelID, p.UserID, 0)
		if err != nil {
			return 0, nil, err
		}
		out := struct {
			Videos []video `json:"videos"`
		}{Videos: make([]video, 0, len(list))}
		for _, rec := range list {
			out.Videos = append(out.Videos, videoOf(rec))
		}
		return http.StatusOK, out, nil
	})
}

// handleVideo is GET /api/videos/{id}.
func handleVideo(acc *accounts.Service, chs *channels.Service, recs *recordings.Service, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		rec, err := recs.Playable(r.Context(), viewerID(acc, r), r.PathValue("id"))
		if err != nil {
			return 0, nil, err
		}
		if _, err := privateRecording(r, chs, rec.ChannelID, viewerID(acc, r)); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, videoOf(rec), nil
	})
}

// chatLine is a line of a recording's chat replay as the API shows it.
type chatLine struct {
	ID       string         `json:"id"`
	OffsetMS int64          `json:"offsetMs"`
	Sender   chatLineSender `json:"sender"`
	Content  string         `json:"content"`
}

type chatLineSender struct {
	UserID     string            `json:"userId"`
	Attributes map[string]string `json:"attributes"`
}

// handleVideoChat is GET /api/videos/{id}/chat?from=&to= (milliseconds into the recording;
// defaults 0 and the end): the chat of a recording the caller may play, in offset order, at
// most recordings.MaxChatPage lines; next is where to read on from when there may be more.
func handleVideoChat(acc *accounts.Service, chs *channels.Service, recs *recordings.Service, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		rec, err := recs.Playable(r.Context(), viewerID(acc, r), r.PathValue("id"))
		if err != nil {
			return 0, nil, err
		}
		if _, err := privateRecording(r, chs, rec.ChannelID, viewerID(acc, r)); err != nil {
			return 0, nil, err
		}
		q := r.URL.Query()
		from, to := int64(0), int64(1<<50)
		for name, dst := range map[string]*int64{"from": &from, "to": &to} {
			if v := q.Get(name); v != "" {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n < 0 || n > 1<<50 {
					return 0, nil, problem.Invalid("InvalidRange", name, "from and to are offsets in milliseconds, 0 <= from < to.")
				}
				*dst = n
			}
		}
		lines, err := recs.Chat(r.Context(), viewerID(acc, r), r.PathValue("id"), time.Duration(from)*time.Millisecond, time.Duration(to)*time.Millisecond)
		if err != nil {
			return 0, nil, err
		}
		out := struct {
			Messages []chatLine `json:"messages"`
			Next     *int64     `json:"next,omitempty"`
		}{Messages: make([]chatLine, 0, len(lines))}
		for _, l := range lines {
			var attrs map[string]string
			_ = json.Unmarshal([]byte(l.Sender), &attrs) // kept as written from a map
			out.Messages = append(out.Messages, chatLine{ID: l.MessageID, OffsetMS: l.Offset.Milliseconds(), Sender: chatLineSender{UserID: l.SenderID, Attributes: attrs}, Content: l.Content})
		}
		if len(lines) == recordings.MaxChatPage {
			next := lines[len(lines)-1].Offset.Milliseconds()
			out.Next = &next
		}
		return http.StatusOK, out, nil
	})
}

// privateRecording hides the recordings of a private channel from everyone but its owner and
// its allowlist (channels.Service.Watchable), as if they did not exist: a recording's id does
// not tell whose it is.
func privateRecording(r *http.Request, chs *channels.Service, channelID, viewerID string) (channels.Access, error) {
	a, err := chs.Watchable(r.Context(), channelID, viewerID)
	if channels.IsPrivate(err) {
		return a, problem.NotFound("RecordingNotFound", "There is no such recording.")
	}
	return a, err
}

type videoChange struct {
	Title  *string `json:"title"`
	Hidden *bool   `json:"hidden"`
}

// handleUpdateVideo is PATCH /api/videos/{id}: the owner renames or hides a recording.
func handleUpdateVideo(recs *recordings.Service, log *slog.Logger) http.Handler {
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in videoChange) (int, any, error) {
		rec, err := recs.Update(r.Context(), currentUser(r).ID, r.PathValue("id"), recordings.Change{Title: in.Title, Hidden: in.Hidden})
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, videoOf(rec), nil
	})
}

// handleDeleteVideo is DELETE /api/videos/{id}: the owner deletes a recording and its media.
func handleDeleteVideo(recs *recordings.Service, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return http.StatusNoContent, nil, recs.Delete(r.Context(), currentUser(r).ID, r.PathValue("id"))
	})
}

type recordingSetting struct {
	Enabled *bool `json:"enabled"`
}

// handleGetRecordingSetting is GET /api/me/recording: whether the caller's channel records.
func handleGetRecordingSetting(chs *channels.Service, recs *recordings.Service, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		own, err := chs.ForOwner(r.Context(), currentUser(r).ID)
		if err != nil {
			return 0, nil, err
		}
		on, err := recs.ChannelRecording(r.Context(), own.ID)
		return http.StatusOK, recordingSetting{Enabled: &on}, err
	})
}

// handlePutRecordingSetting is PUT /api/me/recording {enabled}: from the next session on.
func handlePutRecordingSetting(chs *channels.Service, recs *recordings.Service, log *slog.Logger) http.Handler {
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in recordingSetting) (int, any, error) {
		if in.Enabled == nil {
			return 0, nil, problem.Invalid("InvalidSetting", "enabled", "enabled must be true or false.")
		}
		own, err := chs.ForOwner(r.Context(), currentUser(r).ID)
		if err != nil {
			return 0, nil, err
		}
		if err := recs.SetChannelRecording(r.Context(), own.ID, *in.Enabled); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, in, nil
	})
}

// vodCache is how long shared caches keep a recording's files. Media never changes (an
// object's name says what it holds); a playlist only disappears (hidden, deleted), which
// reaches caches within a minute.
const (
	vodMediaCache    = "public, max-age=31536000, immutable"
	vodPlaylistCache = "public, max-age=60"
)

// handleVOD is GET /hls/vod/{id}/{file...}: a complete recording's playlists, init sections
// and segments, from the recordings storage. A hidden recording plays for its owner only
// (by the sign-in cookie, which the web player sends with its same-origin requests), and is
// then never cached by others.
func handleVOD(acc *accounts.Service, chs *channels.Service, recs *recordings.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(err error) {
			w.Header().Set("Cache-Control", "no-store")
			writeError(w, r, log, err)
		}
		file := r.PathValue("file")
		if storage.CheckKey(file) != nil || !(strings.HasSuffix(file, ".m3u8") || strings.HasSuffix(file, ".m4s") || strings.HasSuffix(file, ".mp4") || file == "poster.jpg") {
			fail(problem.NotFound("NoSuchFile", "There is no such file in this recording."))
			return
		}
		rec, err := recs.Playable(r.Context(), viewerID(acc, r), r.PathValue("id"))
		if err != nil {
			fail(err)
			return
		}
		access, err := privateRecording(r, chs, rec.ChannelID, viewerID(acc, r))
		if err != nil {
			fail(err)
			return
		}
		body, size, err := recs.Media().Get(r.Context(), rec.Prefix+file)
		if errors.Is(err, storage.ErrNotFound) {
			fail(problem.NotFound("NoSuchFile", "There is no such file in this recording."))
			return
		}
		if err != nil {
			fail(err)
			return
		}
		defer body.Close()
		h := w.Header()
		switch {
		case strings.HasSuffix(file, ".m3u8"):
			h.Set("Content-Type", "application/vnd.apple.mpegurl")
			h.Set("Cache-Control", vodPlaylistCache)
		case file == "poster.jpg":
			h.Set("Content-Type", "image/jpeg")
			h.Set("Cache-Control", vodPlaylistCache)
		default:
			h.Set("Content-Type", "video/mp4")
			h.Set("Cache-Control", vodMediaCache)
		}
		if rec.Hidden || access.Private {
			h.Set("Cache-Control", "private, max-age=60")
		}
		h.Set("Content-Length", strconv.FormatInt(size, 10))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = io.Copy(w, body)
		}
	})
}
