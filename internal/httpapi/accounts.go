package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/channels"
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
	StreamKey   string `json:"streamKey"`
	ChatRoomID  string `json:"chatRoomId"`
	RTMPURL     string `json:"rtmpUrl"`
	WHIPURL     string `json:"whipUrl"`
	PlaybackURL string `json:"playbackUrl"`
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
	return &meResponse{
		ID: user.ID, Username: user.Username, Email: user.Email, EmailVerified: user.Verified(), PendingEmail: user.PendingEmail,
		Color: p.Color, Avatar: p.Avatar, CreatedAt: user.CreatedAt,
		AvatarURL: assetURL(ch.ID, channels.AssetAvatar, p.AvatarVersion),
		BannerURL: assetURL(ch.ID, channels.AssetBanner, p.BannerVersion),
		Channel: channelSelf{
			ID: ch.ID, Type: ch.Type, StreamKey: ch.StreamKey, ChatRoomID: ch.ChatRoomID,
			RTMPURL: u.rtmp, WHIPURL: u.whip(), PlaybackURL: u.playback(ch.ID),
		},
	}, nil
}

func handleRegister(acc *accounts.Service, chs *channels.Service, links urls, log *slog.Logger) http.Handler {
	type request struct {
		Username string `json:"username"`
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	type response struct {
		User                 *meResponse `json:"user"`
		VerificationRequired bool        `json:"verificationRequired"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[request](w, r)
		if err == nil {
			err = required("username", in.Username, "email", in.Email, "password", in.Password)
		}
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		u, pending, err := acc.Register(r.Context(), accounts.RegisterInput{Username: in.Username, Email: in.Email, Password: in.Password})
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		view, err := me(r, chs, links, u)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		encode(w, http.StatusCreated, response{User: view, VerificationRequired: pending})
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[request](w, r)
		if err == nil {
			err = required("code", in.Code)
		}
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		u, purpose, err := acc.Verify(r.Context(), in.Code)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		encode(w, http.StatusOK, response{Username: u.Username, Email: u.Email, Purpose: purpose})
	})
}

func handleResendVerification(acc *accounts.Service, log *slog.Logger) http.Handler {
	type request struct {
		Username string `json:"username"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[request](w, r)
		if err == nil {
			err = required("username", in.Username)
		}
		if err == nil {
			err = acc.ResendVerification(r.Context(), in.Username)
		}
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		encode(w, http.StatusAccepted, struct{}{})
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[request](w, r)
		if err == nil {
			err = required("username", in.Username, "password", in.Password)
		}
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		token, u, err := acc.Login(r.Context(), in.Username, in.Password, clientAddr(r, trustProxy))
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		view, err := me(r, chs, links, u)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		jar.set(w, token)
		encode(w, http.StatusOK, response{Token: token, User: view})
	})
}

func handleLogout(acc *accounts.Service, jar cookies, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := acc.Logout(r.Context(), sessionToken(r)); err != nil {
			writeError(w, r, log, err)
			return
		}
		jar.clear(w)
		w.WriteHeader(http.StatusNoContent)
	})
}

func handlePasswordReset(acc *accounts.Service, log *slog.Logger) http.Handler {
	type request struct {
		Email string `json:"email"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[request](w, r)
		if err == nil {
			err = required("email", in.Email)
		}
		if err == nil {
			err = acc.RequestPasswordReset(r.Context(), in.Email)
		}
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		encode(w, http.StatusAccepted, struct{}{})
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[request](w, r)
		if err == nil {
			err = required("code", in.Code, "password", in.Password)
		}
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		u, err := acc.ResetPassword(r.Context(), in.Code, in.Password)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		encode(w, http.StatusOK, response{Username: u.Username})
	})
}

func handleGetMe(chs *channels.Service, links urls, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		view, err := me(r, chs, links, currentUser(r))
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		encode(w, http.StatusOK, view)
	})
}

func handlePatchMe(acc *accounts.Service, chs *channels.Service, links urls, log *slog.Logger) http.Handler {
	type request struct {
		Username        *string `json:"username"`
		Email           *string `json:"email"`
		CurrentPassword string  `json:"currentPassword"`
		Color           *string `json:"color"`
		Avatar          *string `json:"avatar"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[request](w, r)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		user := currentUser(r)
		if in.Username != nil || in.Email != nil {
			if user, err = acc.Update(r.Context(), user.ID, accounts.UpdateInput{Username: in.Username, Email: in.Email, CurrentPassword: in.CurrentPassword}); err != nil {
				writeError(w, r, log, err)
				return
			}
		}
		if in.Color != nil || in.Avatar != nil {
			if _, err := chs.SetAppearance(r.Context(), user.ID, user.Username, in.Color, in.Avatar); err != nil {
				writeError(w, r, log, err)
				return
			}
		}
		view, err := me(r, chs, links, user)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		encode(w, http.StatusOK, view)
	})
}

func handleChangePassword(acc *accounts.Service, log *slog.Logger) http.Handler {
	type request struct {
		CurrentPassword string `json:"currentPassword"`
		NewPassword     string `json:"newPassword"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[request](w, r)
		if err == nil {
			err = required("currentPassword", in.CurrentPassword, "newPassword", in.NewPassword)
		}
		if err == nil {
			err = acc.ChangePassword(r.Context(), currentUser(r).ID, accounts.SessionHash(currentToken(r)), in.CurrentPassword, in.NewPassword)
		}
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleDeleteMe(acc *accounts.Service, jar cookies, log *slog.Logger) http.Handler {
	type request struct {
		Password string `json:"password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[request](w, r)
		if err == nil {
			err = required("password", in.Password)
		}
		if err == nil {
			err = acc.Delete(r.Context(), currentUser(r).ID, in.Password)
		}
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		jar.clear(w)
		w.WriteHeader(http.StatusNoContent)
	})
}
