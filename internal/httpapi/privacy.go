package httpapi

import (
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/problem"
)

// Private channels: the owner's switch, allowlist and invite links (all owner-only, behind
// ownerOf), and a signed-in user's acceptance of an invite.

type privacySetting struct {
	Private *bool `json:"private"`
}

// handleGetPrivacy is GET /api/channels/{username}/privacy.
func handleGetPrivacy(ch *channels.Service, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		p, err := ch.ByUsername(r.Context(), currentUser(r).Username)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, privacySetting{Private: &p.Private}, nil
	})
}

// handleSetPrivacy is PUT /api/channels/{username}/privacy {private}: at once, for everyone.
func handleSetPrivacy(ch *channels.Service, log *slog.Logger) http.Handler {
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in privacySetting) (int, any, error) {
		if in.Private == nil {
			return 0, nil, problem.Invalid("InvalidSetting", "private", "private must be true or false.")
		}
		if err := ch.SetPrivate(r.Context(), currentUser(r).ID, *in.Private); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, in, nil
	})
}

// handleAllowlist is GET /api/channels/{username}/allowlist.
func handleAllowlist(ch *channels.Service, log *slog.Logger) http.Handler {
	type response struct {
		Users []channelCard `json:"users"`
	}
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		own, err := ch.ForOwner(r.Context(), currentUser(r).ID)
		if err != nil {
			return 0, nil, err
		}
		list, err := ch.Allowlist(r.Context(), own.ID)
		return http.StatusOK, response{Users: cards(list)}, err
	})
}

// handleAllow is PUT (allow) or DELETE /api/channels/{username}/allowlist/{user}.
func handleAllow(ch *channels.Service, allow bool, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		u := currentUser(r)
		if allow {
			return http.StatusNoContent, nil, ch.Allow(r.Context(), u.ID, u.Username, r.PathValue("user"))
		}
		return http.StatusNoContent, nil, ch.Disallow(r.Context(), u.Username, r.PathValue("user"))
	})
}

// invite is an invite link as the owner sees it; URL and Code only in the answer that made it.
type invite struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
	Uses      int       `json:"uses"`
	Code      string    `json:"code,omitempty"`
	URL       string    `json:"url,omitempty"`
}

func inviteOf(inv *channels.Invite) invite {
	return invite{ID: inv.ID, CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt, Uses: inv.Uses}
}

// handleInvites is GET /api/channels/{username}/invites: the links that have not expired.
func handleInvites(ch *channels.Service, log *slog.Logger) http.Handler {
	type response struct {
		Invites []invite `json:"invites"`
	}
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		own, err := ch.ForOwner(r.Context(), currentUser(r).ID)
		if err != nil {
			return 0, nil, err
		}
		list, err := ch.Invites(r.Context(), own.ID)
		out := response{Invites: make([]invite, 0, len(list))}
		for _, inv := range list {
			out.Invites = append(out.Invites, inviteOf(inv))
		}
		return http.StatusOK, out, err
	})
}

// handleCreateInvite is POST /api/channels/{username}/invites {expiresInHours?}: a new link,
// shown once.
func handleCreateInvite(ch *channels.Service, u urls, log *slog.Logger) http.Handler {
	type request struct {
		ExpiresInHours int `json:"expiresInHours"`
	}
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in request) (int, any, error) {
		if in.ExpiresInHours < 0 || in.ExpiresInHours > int(channels.MaxInviteTTL/time.Hour) {
			return 0, nil, problem.Invalid("InvalidInviteExpiry", "expiresInHours", "An invite lasts from 1 hour to 30 days (720 hours).")
		}
		me := currentUser(r)
		inv, code, err := ch.CreateInvite(r.Context(), me.ID, time.Duration(in.ExpiresInHours)*time.Hour)
		if err != nil {
			return 0, nil, err
		}
		out := inviteOf(inv)
		out.Code = code
		out.URL = u.public + "/" + url.PathEscape(me.Username) + "/invite/" + code
		return http.StatusCreated, out, nil
	})
}

// handleRevokeInvite is DELETE /api/channels/{username}/invites/{id}.
func handleRevokeInvite(ch *channels.Service, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return http.StatusNoContent, nil, ch.RevokeInvite(r.Context(), currentUser(r).ID, r.PathValue("id"))
	})
}

// handleAcceptInvite is POST /api/invites/accept {code}: the signed-in caller joins the
// allowlist of the invite's channel, whose name comes back.
func handleAcceptInvite(ch *channels.Service, log *slog.Logger) http.Handler {
	type request struct {
		Code string `json:"code"`
	}
	type response struct {
		Username string `json:"username"`
	}
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in request) (int, any, error) {
		if err := required("code", in.Code); err != nil {
			return 0, nil, err
		}
		p, err := ch.AcceptInvite(r.Context(), currentUser(r).ID, in.Code)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, response{Username: p.Username}, nil
	})
}
