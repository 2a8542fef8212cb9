package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/problem"
)

// meResponse is the account as its owner sees it, with its channel.
type meResponse struct {
	ID            string      `json:"id"`
	Username      string      `json:"username"`
	Email         string      `json:"email"`
	EmailVerified bool        `json:"emailVerified"`
	PendingEmail  string      `json:"pendingEmail,omitempty"`
	Color         string      `json:"color"`
	Avatar        string      `json:"avatar"`
	AvatarURL     string      `json:"avatarUrl,omitempty"`
	BannerURL     string      `json:"bannerUrl,omitempty"`
	CreatedAt     time.Time   `json:"createdAt"`
	Channel       channelSelf `json:"channel"`
}

type channelSelf struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	StreamKey   string `json:"streamKey,omitempty"` // only once the email is verified
	ChatRoomID  string `json:"chatRoomId"`
	RTMPURL     string `json:"rtmpUrl"`
	RTMPSURL    string `json:"rtmpsUrl,omitempty"` // the key follows, as for rtmpUrl
	SRTURL      string `json:"srtUrl,omitempty"`   // the key follows: srt://host:port?streamid=publish:KEY
	WHIPURL     string `json:"whipUrl"`
	PlaybackURL string `json:"playbackUrl"`
	streamInfo
}

// me reads the account's channel (unsealing its stream key) and shapes the owner's view.
func me(r *http.Request, chs *channels.Service, u urls, user *accounts.User) (*meResponse, error) {
	ch, err := chs.ForOwner(r.Context(), user.ID)
	if err != nil {
		return nil, err
	}
	p, err := chs.ByUsername(r.Context(), user.Username)
	if err != nil {
		return nil, err
	}
	if !user.Verified() {
		ch.StreamKey = "" // ingest refuses it until the email is confirmed; do not hand it out
	}
	preview, _ := u.playback(ch.ID, user.ID) // the owner's own, for the stream manager's preview
	return &meResponse{
		ID: user.ID, Username: user.Username, Email: user.Email, EmailVerified: user.Verified(), PendingEmail: user.PendingEmail,
		Color: p.Color, Avatar: p.Avatar, CreatedAt: user.CreatedAt,
		AvatarURL: assetURL(ch.ID, channels.AssetAvatar, p.AvatarVersion),
		BannerURL: assetURL(ch.ID, channels.AssetBanner, p.BannerVersion),
		Channel: channelSelf{
			ID: ch.ID, Type: ch.Type, StreamKey: ch.StreamKey, ChatRoomID: ch.ChatRoomID,
			RTMPURL: u.rtmp, RTMPSURL: u.rtmps, SRTURL: u.srt, WHIPURL: u.whip(), PlaybackURL: preview,
			streamInfo: infoOf(p),
		},
	}, nil
}

func handleRegister(acc *accounts.Service, chs *channels.Service, links urls, trustProxy bool, log *slog.Logger) http.Handler {
	type request struct {
		Username string `json:"username"`
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	type response struct {
		User                 *meResponse `json:"user"`
		VerificationRequired bool        `json:"verificationRequired"`
	}
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in request) (int, any, error) {
		if err := required("username", in.Username, "email", in.Email, "password", in.Password); err != nil {
			return 0, nil, err
		}
		u, pending, err := acc.Register(r.Context(), accounts.RegisterInput{Username: in.Username, Email: in.Email, Password: in.Password, ClientAddr: clientAddr(r, trustProxy)})
		if err != nil {
			return 0, nil, err
		}
		view, err := me(r, chs, links, u)
		return http.StatusCreated, response{User: view, VerificationRequired: pending}, err
	})
}

func handleVerify(acc *accounts.Service, log *slog.Logger) http.Handler {
	type request struct {
		Code string `json:"code"`
	}
	type response struct {
		Username string `json:"username"`
		Email    string `json:"email"`
		Purpose  string `json:"purpose"`
	}
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in request) (int, any, error) {
		if err := required("code", in.Code); err != nil {
			return 0, nil, err
		}
		u, purpose, err := acc.Verify(r.Context(), in.Code)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, response{Username: u.Username, Email: u.Email, Purpose: purpose}, nil
	})
}

func handleResendVerification(acc *accounts.Service, trustProxy bool, log *slog.Logger) http.Handler {
	type request struct {
		Username string `json:"username"`
	}
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in request) (int, any, error) {
		if err := required("username", in.Username); err != nil {
			return 0, nil, err
		}
		return http.StatusAccepted, struct{}{}, acc.ResendVerification(r.Context(), in.Username, clientAddr(r, trustProxy))
	})
}

func handleLogin(acc *accounts.Service, chs *channels.Service, links urls, jar cookies, trustProxy bool, log *slog.Logger) http.Handler {
	type request struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	type response struct {
		Token string      `json:"token"`
		User  *meResponse `json:"user"`
	}
	return withBody(log, func(w http.ResponseWriter, r *http.Request, in request) (int, any, error) {
		if err := required("username", in.Username, "password", in.Password); err != nil {
			return 0, nil, err
		}
		token, u, err := acc.Login(r.Context(), in.Username, in.Password, clientAddr(r, trustProxy))
		if err != nil {
			return 0, nil, err
		}
		view, err := me(r, chs, links, u)
		if err != nil {
			return 0, nil, err
		}
		jar.set(w, token)
		return http.StatusOK, response{Token: token, User: view}, nil
	})
}

func handleLogout(acc *accounts.Service, jar cookies, log *slog.Logger) http.Handler {
	return withoutBody(log, func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		if err := acc.Logout(r.Context(), sessionToken(r)); err != nil {
			return 0, nil, err
		}
		jar.clear(w)
		return http.StatusNoContent, nil, nil
	})
}

func handlePasswordReset(acc *accounts.Service, trustProxy bool, log *slog.Logger) http.Handler {
	type request struct {
		Email string `json:"email"`
	}
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in request) (int, any, error) {
		if err := required("email", in.Email); err != nil {
			return 0, nil, err
		}
		return http.StatusAccepted, struct{}{}, acc.RequestPasswordReset(r.Context(), in.Email, clientAddr(r, trustProxy))
	})
}

func handlePasswordResetConfirm(acc *accounts.Service, log *slog.Logger) http.Handler {
	type request struct {
		Code     string `json:"code"`
		Password string `json:"password"`
	}
	type response struct {
		Username string `json:"username"`
	}
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in request) (int, any, error) {
		if err := required("code", in.Code, "password", in.Password); err != nil {
			return 0, nil, err
		}
		u, err := acc.ResetPassword(r.Context(), in.Code, in.Password)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, response{Username: u.Username}, nil
	})
}

func handleGetMe(chs *channels.Service, links urls, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		view, err := me(r, chs, links, currentUser(r))
		return http.StatusOK, view, err
	})
}

// handleWhoAmI answers who the caller is without failing for a visitor: {"user": null} when
// signed out (or the session has ended), so the web app's signed-out pages make no request
// that fails and logs a 401 in the console.
func handleWhoAmI(acc *accounts.Service, chs *channels.Service, links urls, log *slog.Logger) http.Handler {
	type response struct {
		User *meResponse `json:"user"`
	}
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		user, err := optionalUser(acc, r)
		if errors.Is(err, problem.ErrUnauthenticated) || user == nil && err == nil {
			return http.StatusOK, response{}, nil
		}
		if err != nil {
			return 0, nil, err
		}
		view, err := me(r, chs, links, user)
		return http.StatusOK, response{User: view}, err
	})
}

func handlePatchMe(acc *accounts.Service, chs *channels.Service, links urls, trustProxy bool, log *slog.Logger) http.Handler {
	type request struct {
		Username        *string `json:"username"`
		Email           *string `json:"email"`
		CurrentPassword string  `json:"currentPassword"`
		Color           *string `json:"color"`
		Avatar          *string `json:"avatar"`
		// The stream's information, checked before anything is changed.
		Title    *string   `json:"title"`
		Category *string   `json:"category"`
		Tags     *[]string `json:"tags"`
	}
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in request) (int, any, error) {
		user := currentUser(r)
		var err error
		var info *channels.Profile
		if change := (channels.StreamInfoChange{Title: in.Title, Category: in.Category, Tags: in.Tags}); !change.Empty() {
			if info, err = chs.PrepareStreamInfo(r.Context(), user.Username, change); err != nil {
				return 0, nil, err
			}
		}
		if in.Username != nil || in.Email != nil {
			if user, err = acc.Update(r.Context(), user.ID, accounts.UpdateInput{Username: in.Username, Email: in.Email, CurrentPassword: in.CurrentPassword, ClientAddr: clientAddr(r, trustProxy)}); err != nil {
				return 0, nil, err
			}
		}
		if in.Color != nil || in.Avatar != nil {
			if _, err := chs.SetAppearance(r.Context(), user.ID, user.Username, in.Color, in.Avatar); err != nil {
				return 0, nil, err
			}
		}
		if info != nil {
			if err := chs.SaveStreamInfo(r.Context(), info); err != nil {
				return 0, nil, err
			}
		}
		view, err := me(r, chs, links, user)
		return http.StatusOK, view, err
	})
}

func handleChangePassword(acc *accounts.Service, trustProxy bool, log *slog.Logger) http.Handler {
	type request struct {
		CurrentPassword string `json:"currentPassword"`
		NewPassword     string `json:"newPassword"`
	}
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in request) (int, any, error) {
		if err := required("currentPassword", in.CurrentPassword, "newPassword", in.NewPassword); err != nil {
			return 0, nil, err
		}
		err := acc.ChangePassword(r.Context(), currentUser(r).ID, accounts.SessionHash(currentToken(r)), in.CurrentPassword, in.NewPassword, clientAddr(r, trustProxy))
		return http.StatusNoContent, nil, err
	})
}

func handleDeleteMe(acc *accounts.Service, jar cookies, trustProxy bool, log *slog.Logger) http.Handler {
	type request struct {
		Password string `json:"password"`
	}
	return withBody(log, func(w http.ResponseWriter, r *http.Request, in request) (int, any, error) {
		if err := required("password", in.Password); err != nil {
			return 0, nil, err
		}
		if err := acc.Delete(r.Context(), currentUser(r).ID, in.Password, clientAddr(r, trustProxy)); err != nil {
			return 0, nil, err
		}
		jar.clear(w)
		return http.StatusNoContent, nil, nil
	})
}
