package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/livehouse/livehouse/internal/channels"
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
		channelID, err := beaconChannel(ch, views, r, in)
		if err != nil {
			return 0, nil, err
		}
		t, err := views.Beacon(r.Context(), channelID, in.Token, clientAddr(r, trustProxy))
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
		channelID, err := beaconChannel(ch, views, r, in)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusNoContent, nil, views.Leave(channelID, in.Token)
	})
}

// beaconChannel checks what both beacon routes need (a node that counts views, a token) and
// returns the channel the beacon is for.
func beaconChannel(ch *channels.Service, views *viewers.Service, r *http.Request, in viewRequest) (string, error) {
	if views == nil {
		return "", noViews()
	}
	if err := required("token", in.Token); err != nil {
		return "", err
	}
	p, err := ch.ByUsername(r.Context(), r.PathValue("username"))
	if err != nil {
		return "", err
	}
	return p.ChannelID, nil
}
