package httpapi

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/playback"
	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/viewers"
)

type viewRequest struct {
	Token string `json:"token"`
}

type viewTicket struct {
	Token             string    `json:"token"`
	ExpiresAt         time.Time `json:"expiresAt"`
	RenewAfterSeconds int       `json:"renewAfterSeconds"`
}

func noViews() error {
	return problem.NotFound("NotFound", "Viewing beacons are not served by this node.")
}

// handleViewBeacon takes a player's report that it is playing the channel: the playback
// session counts as a viewer, and the player gets a fresh token (refused to a viewer banned
// since its token was minted).
func handleViewBeacon(ch *channels.Service, views *viewers.Service, trustProxy bool, log *slog.Logger) http.Handler {
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in viewRequest) (int, any, error) {
		if views == nil {
			return 0, nil, noViews()
		}
		if err := required("token", in.Token); err != nil {
			return 0, nil, err
		}
		p, err := ch.ByUsername(r.Context(), r.PathValue("username"))
		if err != nil {
			return 0, nil, err
		}
		t, err := views.Beacon(r.Context(), p.ChannelID, in.Token, clientAddr(r, trustProxy))
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, viewTicket{Token: t.Token, ExpiresAt: t.Expires.UTC(), RenewAfterSeconds: max(1, int(t.RenewAfter/time.Second))}, nil
	})
}

// handleViewLeave drops a playback session from the count at once: the player is leaving
// (the tab closes, or the viewer navigates away).
func handleViewLeave(ch *channels.Service, views *viewers.Service, log *slog.Logger) http.Handler {
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in viewRequest) (int, any, error) {
		if views == nil {
			return 0, nil, noViews()
		}
		if err := required("token", in.Token); err != nil {
			return 0, nil, err
		}
		p, err := ch.ByUsername(r.Context(), r.PathValue("username"))
		if err != nil {
			return 0, nil, err
		}
		return http.StatusNoContent, nil, views.Leave(p.ChannelID, in.Token)
	})
}

// checkPlaybackToken refuses an /hls/{channelId}/… request whose playback token is forged,
// for another channel or expired (403), and hands the rest on without the token, so that
// nothing downstream (playlists that carry their query on) repeats it and every viewer's
// request looks the same.
//
// A request without a token passes for now: native HLS players (iOS) and tools such as
// ffprobe cannot add one to the URLs a playlist lists. Requiring it on every media request is
// the HLS handler's decision (see the relay work of issue 16).
func checkPlaybackToken(views *viewers.Service, log *slog.Logger, next http.Handler) http.Handler {
	if views == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		token := q.Get(playback.Param)
		if !q.Has(playback.Param) {
			next.ServeHTTP(w, r)
			return
		}
		channelID, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/hls/"), "/")
		if err := views.Check(channelID, token); err != nil {
			w.Header().Set("Access-Control-Allow-Origin", "*")
			w.Header().Set("Cache-Control", "no-store")
			writeError(w, r, log, err)
			return
		}
		q.Del(playback.Param)
		r2 := r.Clone(r.Context())
		r2.URL.RawQuery = q.Encode()
		r2.RequestURI = r2.URL.RequestURI()
		next.ServeHTTP(w, r2)
	})
}
