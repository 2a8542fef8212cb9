package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/chat"
	"github.com/livehouse/livehouse/internal/problem"
)

// handleChatToken issues a single-use token for a channel's chat room: view-only for
// anonymous callers, sending for signed-in users, and moderation for the channel's owner.
// A user banned from the channel gets 403, as does anyone not allowed to watch a private one. The room is keyed by the channel id.
func handleChatToken(acc *accounts.Service, chs *channels.Service, hub *chat.Hub, log *slog.Logger) http.Handler {
	type request struct {
		Channel                  string `json:"channel"`
		SessionDurationInMinutes int    `json:"sessionDurationInMinutes"`
	}
	type response struct {
		Token                 string    `json:"token"`
		SessionExpirationTime time.Time `json:"sessionExpirationTime"`
		TokenExpirationTime   time.Time `json:"tokenExpirationTime"`
		Capabilities          []string  `json:"capabilities"`
	}
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in request) (int, any, error) {
		if err := required("channel", in.Channel); err != nil {
			return 0, nil, err
		}
		minutes := in.SessionDurationInMinutes
		if minutes == 0 {
			minutes = int(chat.DefaultSession / time.Minute)
		}
		if maxMinutes := int(chat.MaxSession / time.Minute); minutes < 1 || minutes > maxMinutes {
			return 0, nil, problem.Invalid("InvalidSessionDuration", "sessionDurationInMinutes", fmt.Sprintf("sessionDurationInMinutes must be from 1 to %d.", maxMinutes))
		}
		viewer, err := optionalUser(acc, r)
		if err != nil {
			return 0, nil, err
		}
		p, err := chs.ByUsername(r.Context(), in.Channel)
		if err != nil {
			return 0, nil, err
		}
		// A banned user, and anyone but the owner and the allowlist of a private channel, is
		// refused (anonymous readers of a public channel need no look-up).
		if viewer != nil || p.Private {
			userID := ""
			if viewer != nil {
				userID = viewer.ID
			}
			if err := chs.MayWatch(r.Context(), p.ChannelID, userID); err != nil {
				return 0, nil, err
			}
		}
		g := &chat.Grant{RoomID: p.ChannelID, UserID: chat.AnonymousPrefix + chat.NewID(), SessionDuration: time.Duration(minutes) * time.Minute}
		if viewer != nil {
			vp, err := chs.ByUsername(r.Context(), viewer.Username)
			if err != nil {
				return 0, nil, err
			}
			g.UserID = viewer.ID
			g.Attributes = map[string]string{"username": vp.Username, "displayName": vp.Username, "color": vp.Color, "avatar": vp.Avatar,
				"avatarUrl": assetURL(vp.ChannelID, channels.AssetAvatar, vp.AvatarVersion)}
			g.Capabilities = []string{chat.CapSend}
			if viewer.ID == p.UserID {
				g.Capabilities = append(g.Capabilities, chat.CapDelete, chat.CapDisconnect)
			}
		}
		token, tokenExp, sessionExp, err := hub.IssueToken(r.Context(), g)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, response{Token: token, SessionExpirationTime: sessionExp, TokenExpirationTime: tokenExp,
			Capabilities: append(append([]string{}, g.Capabilities...), chat.CapView)}, nil
	})
}

// handleChatSocket is the chat WebSocket: the token comes as the subprotocol and is echoed,
// as the IVS Chat client expects.
func handleChatSocket(hub *chat.Hub, sockets ChatSockets, trustProxy bool, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimSpace(strings.Split(r.Header.Get("Sec-WebSocket-Protocol"), ",")[0])
		if token == "" {
			writeError(w, r, log, problem.Unauthenticated("MissingToken", "Connect with a chat token as the WebSocket subprotocol."))
			return
		}
		g, err := hub.Redeem(r.Context(), token)
		if errors.Is(err, chat.ErrInvalidToken) {
			writeError(w, r, log, problem.Unauthenticated("InvalidToken", "This chat token is invalid, used or expired."))
			return
		}
		if err == nil {
			err = sockets.Accept(w, r, g, token, clientAddr(r, trustProxy))
		}
		if err != nil {
			writeError(w, r, log, err)
		}
	})
}
