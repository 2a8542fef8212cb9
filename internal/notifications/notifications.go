// Package notifications is the domain of go-live notifications: a follower rings the bell of
// a followed channel, chooses per kind (email, Web Push) in settings, and registers the
// browsers that take Web Push. When a channel goes live, its notifier sends each follower
// with the bell on one email and one push per subscribed browser — once per stream session,
// at most once per channel in ThrottleWindow (a streamer whose encoder drops and comes back
// as a new session does not spam), and from one node of a cluster only (the send is claimed
// in the store).
package notifications

import (
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/problem"
)

// Settings are a user's choice per kind of notification; both are on until changed.
type Settings struct {
	Email bool `json:"email"`
	Push  bool `json:"push"`
}

// DefaultSettings are a user's before they change them.
var DefaultSettings = Settings{Email: true, Push: true}

// Subscription is one browser's Web Push subscription (the PushSubscription of the Push
// API): the push service's endpoint, and the browser's P-256 public key and authentication
// secret, base64url without padding as browsers give them.
type Subscription struct {
	Endpoint string
	P256DH   string
	Auth     string
}

// Recipient is a follower with the bell on, as the notifier needs them.
type Recipient struct {
	UserID   string
	Email    string
	Verified bool // only a verified address gets mail
	Settings
}

// Channel is the live channel a notice is about.
type Channel struct {
	ID        string
	Username  string
	Suspended bool
}

// ErrNotFound is the store's answer for a channel that is not there.
var ErrNotFound = errors.New("not found")

// Store is what notifications need from persistence.
type Store interface {
	// SetBell sets the bell of a follow; false when followerID does not follow the channel.
	SetBell(ctx context.Context, followerID, channelID string, on bool) (bool, error)
	// Bell reports whether followerID follows the channel and, if so, whether the bell is on.
	Bell(ctx context.Context, followerID, channelID string) (following, on bool, err error)
	NotificationSettings(ctx context.Context, userID string) (Settings, error)
	SetNotificationSettings(ctx context.Context, userID string, s Settings) error
	// AddPushSubscription records (or moves to userID, renewed) a browser's subscription and
	// keeps only the user's keep newest.
	AddPushSubscription(ctx context.Context, userID string, sub Subscription, at time.Time, keep int) error
	// DeletePushSubscription deletes the user's subscription with the endpoint, if they have it.
	DeletePushSubscription(ctx context.Context, userID, endpoint string) error
	// DropPushSubscription deletes a subscription whoever has it (its push service said it is gone).
	DropPushSubscription(ctx context.Context, endpoint string) error
	// ClaimGoLive records that node sends session's notices, unless the session's are claimed
	// already or the channel's were claimed after since; it reports whether it did.
	ClaimGoLive(ctx context.Context, sessionID, channelID, node string, at, since time.Time) (bool, error)
	// GoLiveRecipients lists the channel's followers with the bell on, by user id after
	// the given one, at most limit.
	GoLiveRecipients(ctx context.Context, channelID, after string, limit int) ([]Recipient, error)
	// PushSubscriptions returns the subscriptions of the users, by user id.
	PushSubscriptions(ctx context.Context, userIDs []string) (map[string][]Subscription, error)
	NoticeChannel(ctx context.Context, channelID string) (Channel, error)
}

// Channels finds a channel by its owner's name (channels.Service).
type Channels interface {
	ByUsername(ctx context.Context, username string) (*channels.Profile, error)
}

// MaxSubscriptions is how many browsers one user may have subscribed; a new one past it
// replaces their oldest.
const MaxSubscriptions = 10

// MaxEndpointBytes bounds a subscription's endpoint URL (push services' are ~200 bytes).
const MaxEndpointBytes = 1024

// Config is the notifications' part of the configuration.
type Config struct {
	// PublicKey is the VAPID public key (uncompressed P-256 point, base64url) browsers
	// subscribe with as applicationServerKey.
	PublicKey string
	// AllowInsecure accepts http:// endpoints (a push service on loopback, for tests).
	AllowInsecure bool
}

// Service holds the rules behind the notification routes: one call per route.
type Service struct {
	cfg      Config
	store    Store
	channels Channels
	now      func() time.Time
}

// NewService builds the service; now may be nil (time.Now).
func NewService(cfg Config, store Store, chs Channels, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{cfg: cfg, store: store, channels: chs, now: now}
}

// PublicKey is the VAPID public key browsers subscribe with.
func (s *Service) PublicKey() string { return s.cfg.PublicKey }

// Bell reports whether userID's bell for the channel is on (false when not following).
func (s *Service) Bell(ctx context.Context, userID, username string) (bool, error) {
	p, err := s.channels.ByUsername(ctx, username)
	if err != nil {
		return false, err
	}
	_, on, err := s.store.Bell(ctx, userID, p.ChannelID)
	return on, err
}

// SetBell turns userID's bell for a followed channel on or off.
func (s *Service) SetBell(ctx context.Context, userID, username string, on bool) error {
	p, err := s.channels.ByUsername(ctx, username)
	if err != nil {
		return err
	}
	ok, err := s.store.SetBell(ctx, userID, p.ChannelID, on)
	if err != nil {
		return err
	}
	if !ok {
		return problem.Conflict("NotFollowing", "username", "Follow the channel to get its notifications.")
	}
	return nil
}

// Settings are userID's choices per kind.
func (s *Service) Settings(ctx context.Context, userID string) (Settings, error) {
	return s.store.NotificationSettings(ctx, userID)
}

// Change is a change of settings: nil fields stay as they are.
type Change struct {
	Email *bool
	Push  *bool
}

// SetSettings changes userID's choices and returns them.
func (s *Service) SetSettings(ctx context.Context, userID string, c Change) (Settings, error) {
	if c.Email == nil && c.Push == nil {
		return Settings{}, problem.Invalid("MissingField", "email", "Give email or push (true or false).")
	}
	cur, err := s.store.NotificationSettings(ctx, userID)
	if err != nil {
		return Settings{}, err
	}
	if c.Email != nil {
		cur.Email = *c.Email
	}
	if c.Push != nil {
		cur.Push = *c.Push
	}
	return cur, s.store.SetNotificationSettings(ctx, userID, cur)
}

// Subscribe records a browser's Web Push subscription for userID.
func (s *Service) Subscribe(ctx context.Context, userID string, sub Subscription) error {
	if err := s.validate(sub); err != nil {
		return err
	}
	return s.store.AddPushSubscription(ctx, userID, sub, s.now().UTC(), MaxSubscriptions)
}

// Unsubscribe forgets userID's subscription with the endpoint; another user's stays.
func (s *Service) Unsubscribe(ctx context.Context, userID, endpoint string) error {
	if endpoint == "" || len(endpoint) > MaxEndpointBytes {
		return problem.Invalid("InvalidEndpoint", "endpoint", "Give the subscription's endpoint.")
	}
	return s.store.DeletePushSubscription(ctx, userID, endpoint)
}

// validate checks a subscription as a browser makes it: an https endpoint URL, a P-256 public
// key and a 16-byte authentication secret.
func (s *Service) validate(sub Subscription) error {
	u, err := url.Parse(sub.Endpoint)
	switch {
	case sub.Endpoint == "":
		return problem.Invalid("MissingField", "endpoint", "Give the subscription's endpoint.")
	case len(sub.Endpoint) > MaxEndpointBytes:
		return problem.Invalid("InvalidEndpoint", "endpoint", "The endpoint is too long.")
	case err != nil || u.Host == "" || u.User != nil || u.Fragment != "" ||
		!(u.Scheme == "https" || (u.Scheme == "http" && s.cfg.AllowInsecure)):
		return problem.Invalid("InvalidEndpoint", "endpoint", "The endpoint must be an https URL of a push service.")
	}
	key, err := decodeB64(sub.P256DH)
	if err != nil || len(key) != 65 {
		return problem.Invalid("InvalidKey", "keys.p256dh", "keys.p256dh must be a P-256 public key (65 bytes, base64url).")
	}
	if _, err := ecdh.P256().NewPublicKey(key); err != nil {
		return problem.Invalid("InvalidKey", "keys.p256dh", "keys.p256dh is not a point on P-256.")
	}
	if auth, err := decodeB64(sub.Auth); err != nil || len(auth) != 16 {
		return problem.Invalid("InvalidKey", "keys.auth", "keys.auth must be 16 bytes, base64url.")
	}
	return nil
}

// decodeB64 reads base64url with or without padding (browsers send it without; some
// libraries add it).
func decodeB64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
