package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/chat"
	"github.com/livehouse/livehouse/internal/polls"
	"github.com/livehouse/livehouse/internal/problem"
)

// handleGetPoll is GET /api/channels/{username}/poll: the channel's running poll, or its last
// one for a while after its end, with the caller's vote; {"poll": null} when there is none.
func handleGetPoll(acc *accounts.Service, chs *channels.Service, ps *polls.Service, log *slog.Logger) http.Handler {
	type response struct {
		Poll *polls.View `json:"poll"`
	}
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		viewer, err := optionalUser(acc, r)
		if err != nil {
			return 0, nil, err
		}
		p, err := chs.ByUsername(r.Context(), r.PathValue("username"))
		if err != nil {
			return 0, nil, err
		}
		var viewerID string
		if viewer != nil {
			viewerID = viewer.ID
		}
		// A private channel's poll is for the people who may watch it.
		if _, err := chs.Watchable(r.Context(), p.ChannelID, viewerID); err != nil {
			return 0, nil, err
		}
		v, err := ps.Current(r.Context(), p.ChannelID, viewerID)
		return http.StatusOK, response{Poll: v}, err
	})
}

// handleStartPoll is POST /api/channels/{username}/poll, for the channel's owner.
func handleStartPoll(chs *channels.Service, ps *polls.Service, log *slog.Logger) http.Handler {
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in polls.Input) (int, any, error) {
		c, err := chs.ForOwner(r.Context(), currentUser(r).ID)
		if err != nil {
			return 0, nil, err
		}
		p, err := ps.Start(r.Context(), c.ID, in)
		return http.StatusCreated, p, err
	})
}

// handleEndPoll is DELETE /api/channels/{username}/poll, for the channel's owner: the running
// poll ends now.
func handleEndPoll(chs *channels.Service, ps *polls.Service, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		c, err := chs.ForOwner(r.Context(), currentUser(r).ID)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusNoContent, nil, ps.End(r.Context(), c.ID)
	})
}

// handleVote is POST /api/channels/{username}/poll/votes: the caller's one vote.
func handleVote(chs *channels.Service, ps *polls.Service, log *slog.Logger) http.Handler {
	type request struct {
		Option *int `json:"option"`
	}
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in request) (int, any, error) {
		if in.Option == nil {
			return 0, nil, problem.Invalid("InvalidOption", "option", "option is required.")
		}
		p, err := chs.ByUsername(r.Context(), r.PathValue("username"))
		if err != nil {
			return 0, nil, err
		}
		// Only those who may watch the channel vote (not banned, on a private one's allowlist).
		if err := chs.MayWatch(r.Context(), p.ChannelID, currentUser(r).ID); err != nil {
			return 0, nil, err
		}
		v, err := ps.Vote(r.Context(), p.ChannelID, currentUser(r).ID, *in.Option)
		return http.StatusCreated, v, err
	})
}

// handleSessionPolls is GET /api/me/sessions/{sessionId}/polls: the polls of one of the
// caller's stream sessions, with their results.
func handleSessionPolls(chs *channels.Service, ps *polls.Service, log *slog.Logger) http.Handler {
	type response struct {
		Polls []*polls.Poll `json:"polls"`
	}
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		c, err := chs.ForOwner(r.Context(), currentUser(r).ID)
		if err != nil {
			return 0, nil, err
		}
		list, err := ps.SessionPolls(r.Context(), c.ID, r.PathValue("sessionId"))
		if list == nil {
			list = []*polls.Poll{}
		}
		return http.StatusOK, response{Polls: list}, err
	})
}

// handleGetChatSettings is GET /api/channels/{username}/chat-settings: the room's chat
// controls, for whoever may see the channel (everyone, unless it is private), so that
// viewers' chat can say why it refuses them.
func handleGetChatSettings(acc *accounts.Service, chs *channels.Service, hub *chat.Hub, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		p, err := chs.ByUsername(r.Context(), r.PathValue("username"))
		if err != nil {
			return 0, nil, err
		}
		if _, err := chs.Watchable(r.Context(), p.ChannelID, viewerID(acc, r)); err != nil {
			return 0, nil, err
		}
		s, err := hub.Settings(r.Context(), p.ChannelID)
		return http.StatusOK, s, err
	})
}

// handlePutChatSettings is PUT /api/channels/{username}/chat-settings, for the channel's
// owner.
func handlePutChatSettings(chs *channels.Service, hub *chat.Hub, log *slog.Logger) http.Handler {
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in chat.Settings) (int, any, error) {
		c, err := chs.ForOwner(r.Context(), currentUser(r).ID)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, in, hub.UpdateSettings(r.Context(), c.ID, in)
	})
}
