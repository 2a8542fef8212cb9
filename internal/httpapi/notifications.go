package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/livehouse/livehouse/internal/notifications"
	"github.com/livehouse/livehouse/internal/problem"
)

// noNotifications answers the notification routes of a server built without them.
func noNotifications() error {
	return problem.NotFound("NotificationsOff", "Notifications are not available on this server.")
}

// handlePushKey is GET /api/push/key: the VAPID public key browsers subscribe with.
func handlePushKey(n *notifications.Service, log *slog.Logger) http.Handler {
	type response struct {
		PublicKey string `json:"publicKey"`
	}
	return withoutBody(log, func(_ http.ResponseWriter, _ *http.Request) (int, any, error) {
		if n == nil {
			return 0, nil, noNotifications()
		}
		return http.StatusOK, response{PublicKey: n.PublicKey()}, nil
	})
}

// handleGetNotificationSettings is GET /api/me/notifications: the caller's choice per kind.
func handleGetNotificationSettings(n *notifications.Service, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		if n == nil {
			return 0, nil, noNotifications()
		}
		s, err := n.Settings(r.Context(), currentUser(r).ID)
		return http.StatusOK, s, err
	})
}

type notificationChange struct {
	Email *bool `json:"email"`
	Push  *bool `json:"push"`
}

// handlePatchNotificationSettings is PATCH /api/me/notifications {email?, push?}.
func handlePatchNotificationSettings(n *notifications.Service, log *slog.Logger) http.Handler {
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in notificationChange) (int, any, error) {
		if n == nil {
			return 0, nil, noNotifications()
		}
		s, err := n.SetSettings(r.Context(), currentUser(r).ID, notifications.Change{Email: in.Email, Push: in.Push})
		return http.StatusOK, s, err
	})
}

type bellState struct {
	Enabled *bool `json:"enabled"`
}

// handleGetBell is GET /api/me/following/{username}/notifications: whether the caller's bell
// for the channel is on.
func handleGetBell(n *notifications.Service, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		if n == nil {
			return 0, nil, noNotifications()
		}
		on, err := n.Bell(r.Context(), currentUser(r).ID, r.PathValue("username"))
		return http.StatusOK, bellState{Enabled: &on}, err
	})
}

// handlePutBell is PUT /api/me/following/{username}/notifications {enabled}: the bell of a
// followed channel (409 NotFollowing for one the caller does not follow).
func handlePutBell(n *notifications.Service, log *slog.Logger) http.Handler {
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in bellState) (int, any, error) {
		if n == nil {
			return 0, nil, noNotifications()
		}
		if in.Enabled == nil {
			return 0, nil, problem.Invalid("MissingField", "enabled", "Give enabled: true or false.")
		}
		err := n.SetBell(r.Context(), currentUser(r).ID, r.PathValue("username"), *in.Enabled)
		return http.StatusOK, in, err
	})
}

// pushSubscription is a browser's PushSubscription as its toJSON() gives it.
type pushSubscription struct {
	Endpoint       string `json:"endpoint"`
	ExpirationTime *int64 `json:"expirationTime"`
	Keys           struct {
		P256DH string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// handleSubscribePush is POST /api/me/push-subscriptions: this browser takes the caller's
// go-live pushes.
func handleSubscribePush(n *notifications.Service, log *slog.Logger) http.Handler {
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in pushSubscription) (int, any, error) {
		if n == nil {
			return 0, nil, noNotifications()
		}
		err := n.Subscribe(r.Context(), currentUser(r).ID, notifications.Subscription{Endpoint: in.Endpoint, P256DH: in.Keys.P256DH, Auth: in.Keys.Auth})
		return http.StatusNoContent, nil, err
	})
}

// handleUnsubscribePush is DELETE /api/me/push-subscriptions {endpoint}: the caller's own
// subscription with that endpoint is forgotten (another user's is left alone).
func handleUnsubscribePush(n *notifications.Service, log *slog.Logger) http.Handler {
	type request struct {
		Endpoint string `json:"endpoint"`
	}
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in request) (int, any, error) {
		if n == nil {
			return 0, nil, noNotifications()
		}
		return http.StatusNoContent, nil, n.Unsubscribe(r.Context(), currentUser(r).ID, in.Endpoint)
	})
}
