package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/livehouse/livehouse/internal/accounts"
)

const sessionCookie = "lh_session"

type ctxKey int

const (
	userKey ctxKey = iota
	tokenKey
)

// sessionToken is the caller's token: the Bearer header, else the session cookie.
func sessionToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return strings.TrimSpace(strings.TrimPrefix(h, "Bearer "))
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// requireUser lets only signed-in callers through, with their user in the context.
func requireUser(acc *accounts.Service, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := sessionToken(r)
		u, _, err := acc.Authenticate(r.Context(), token)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		ctx := context.WithValue(r.Context(), userKey, u)
		ctx = context.WithValue(ctx, tokenKey, token)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// currentUser is the user requireUser put in the context.
func currentUser(r *http.Request) *accounts.User {
	u, _ := r.Context().Value(userKey).(*accounts.User)
	return u
}

func currentToken(r *http.Request) string {
	t, _ := r.Context().Value(tokenKey).(string)
	return t
}

// cookies sets and clears the session cookie.
type cookies struct{ secure bool }

func (c cookies) set(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: c.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(accounts.SessionTTL / time.Second),
	})
}

func (c cookies) clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}
