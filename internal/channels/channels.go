// Package channels is the domain of channels: each account owns one, with a chat room and a
// stream key. Profiles, following and the directory build on it.
package channels

import (
	"context"
	"crypto/rand"
	"errors"
	"time"
)

// Channel types, as in the managed service: BASIC passes the source through, STANDARD adds a
// transcoded ladder.
const (
	TypeBasic    = "BASIC"
	TypeStandard = "STANDARD"
)

// ErrNotFound is returned when a channel does not exist.
var ErrNotFound = errors.New("channel not found")

// Channel is a user's channel. StreamKey is the plaintext key, present only when the channel
// is read for its owner; the store keeps only StreamKeyHash and StreamKeySealed (see KeyBox).
type Channel struct {
	ID              string
	UserID          string
	Type            string
	ChatRoomID      string
	StreamKey       string
	StreamKeyHash   string
	StreamKeySealed string
	CreatedAt       time.Time
}

// Store is what the channel domain needs from persistence.
type Store interface {
	ChannelByUser(ctx context.Context, userID string) (*Channel, error)
	// ProfileByUsername finds a channel by its owner's username, ignoring case.
	ProfileByUsername(ctx context.Context, username string) (*Profile, error)
	ReplaceStreamKey(ctx context.Context, channelID, hash, sealed string, at time.Time) error
	SetChannelType(ctx context.Context, channelID, channelType string) error
	SetAppearance(ctx context.Context, userID, color, avatar string) error

	Follow(ctx context.Context, followerID, channelID string, at time.Time) error
	Unfollow(ctx context.Context, followerID, channelID string) error
	IsFollowing(ctx context.Context, followerID, channelID string) (bool, error)
	// Following lists the channels a user follows: live ones first, newest start first, then
	// the others, most recently followed first.
	Following(ctx context.Context, followerID string, limit int) ([]*Profile, error)
	// Live lists live channels, most recent start first.
	Live(ctx context.Context, limit int) ([]*Profile, error)

	Ban(ctx context.Context, channelID, userID string, at time.Time) error
	Unban(ctx context.Context, channelID, userID string) error
	IsBanned(ctx context.Context, channelID, userID string) (bool, error)
	Bans(ctx context.Context, channelID string) ([]*Profile, error)

	PutAsset(ctx context.Context, a *Asset) error
	Asset(ctx context.Context, channelID, kind string) (*Asset, error)
	DeleteAsset(ctx context.Context, channelID, kind string) error

	PrivacyStore
	DiscoveryStore
}

// Profile is a channel's public face: what anyone may see.
type Profile struct {
	ChannelID     string
	UserID        string
	Username      string
	Color         string
	Avatar        string // a built-in name, or "custom" for the uploaded picture
	AvatarVersion string // version of the uploaded avatar, "" if none
	BannerVersion string // version of the uploaded banner, "" if none
	LiveSince     *time.Time
	FollowedAt    *time.Time // in following lists
	Title         string
	Category      string // a category slug, "" for none
	CategoryName  string
	Tags          []string
	Suspended     bool // an operator suspended the owner; the public never sees such a profile
	Private       bool // only the owner and the allowlist may watch (see privacy.go)
}

// Asset is an uploaded, re-encoded picture.
type Asset struct {
	ChannelID   string
	Kind        string // AssetAvatar or AssetBanner
	Version     string
	ContentType string
	Data        []byte
	CreatedAt   time.Time
	// OwnerSuspended: the channel's owner is suspended, so the picture is not served.
	OwnerSuspended bool
}

// Kinds of asset.
const (
	AssetAvatar = "avatar"
	AssetBanner = "banner"
)

// New prepares a channel for a new account: ids and a fresh, sealed stream key. It is saved
// in the same transaction as the account.
func New(box *KeyBox, userID, channelType string, now time.Time) *Channel {
	key := NewStreamKey()
	return &Channel{
		ID:              "ch_" + RandomID(20),
		UserID:          userID,
		Type:            channelType,
		ChatRoomID:      "room_" + RandomID(20),
		StreamKey:       key,
		StreamKeyHash:   box.Hash(key),
		StreamKeySealed: box.Seal(key),
		CreatedAt:       now,
	}
}

// ForOwner reads a user's channel with its stream key unsealed, for showing to its owner.
func ForOwner(ctx context.Context, store Store, box *KeyBox, userID string) (*Channel, error) {
	ch, err := store.ChannelByUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	if ch.StreamKey, err = box.Open(ch.StreamKeySealed); err != nil {
		return nil, err
	}
	return ch, nil
}

// NewStreamKey returns a secret stream key: "sk_" and 40 random base62 characters
// (about 238 bits).
func NewStreamKey() string { return "sk_" + RandomID(40) }

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// RandomID returns n random base62 characters from the system's secure source.
func RandomID(n int) string {
	b := make([]byte, n)
	buf := make([]byte, n+n/2)
	for i := 0; i < n; {
		rand.Read(buf)
		for _, c := range buf {
			if c >= 248 { // 248 = 4*62: reject to keep the draw uniform
				continue
			}
			b[i] = alphabet[int(c)%62]
			if i++; i == n {
				break
			}
		}
	}
	return string(b)
}
