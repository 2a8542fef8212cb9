package channels

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"time"

	"github.com/livehouse/livehouse/internal/images"
	"github.com/livehouse/livehouse/internal/problem"
)

// Profile colors and built-in avatars, as in the reference.
var (
	Colors  = []string{"blue", "green", "lavender", "purple", "salmon", "turquoise", "yellow"}
	Avatars = []string{"bear", "bird", "bird2", "dog", "dog2", "dog3", "giraffe", "hedgehog", "hippo", "horse", "ibex", "jellyfish", "sheep", "tiger"}
)

// CustomAvatar is the avatar name that selects the uploaded picture.
const CustomAvatar = "custom"

// Upload limits and shapes.
var assetSpecs = map[string]struct {
	maxBytes int
	spec     images.Spec
}{
	AssetAvatar: {1 << 20, images.Spec{MaxWidth: 512, MaxHeight: 512, Square: true}},
	AssetBanner: {5 << 20, images.Spec{MaxWidth: 2400, MaxHeight: 800}},
}

// MaxUploadBytes is the size limit of an asset kind (0 for an unknown kind).
func MaxUploadBytes(kind string) int { return assetSpecs[kind].maxBytes }

// Service holds the channel rules.
type Service struct {
	store   Store
	box     *KeyBox
	log     *slog.Logger
	now     func() time.Time
	stopper StreamStopper
	onBan   func(ctx context.Context, channelID, userID string)
	// onDisallow: a user was taken off a channel's allowlist (see OnDisallow).
	onDisallow func(ctx context.Context, channelID, userID string)
	// onPrivate: a channel was made private (see OnPrivate).
	onPrivate func(ctx context.Context, channelID string, keep []string)
}

// OnPrivate registers work to do when a channel is made private, such as closing every chat
// connection to it on every node but those of keep: the user ids of its owner and allowlist.
func (s *Service) OnPrivate(fn func(ctx context.Context, channelID string, keep []string)) {
	s.onPrivate = fn
}

// OnBan registers work to do when a user is banned from a channel, such as closing their
// chat connections on every node.
func (s *Service) OnBan(fn func(ctx context.Context, channelID, userID string)) { s.onBan = fn }

// OnDisallow registers work to do when a user is taken off a channel's allowlist, such as
// closing their chat connections to it on every node.
func (s *Service) OnDisallow(fn func(ctx context.Context, channelID, userID string)) {
	s.onDisallow = fn
}

// StreamStopper ends a channel's live stream (when its key is reset).
type StreamStopper interface {
	Stop(channelID, reason string)
}

// NewService wires the channel rules. now and stopper may be nil.
func NewService(store Store, box *KeyBox, log *slog.Logger, now func() time.Time, stopper StreamStopper) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, box: box, log: log, now: now, stopper: stopper}
}

func (s *Service) nowUTC() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

func unknownChannel() error {
	return problem.NotFound("ChannelNotFound", "There is no channel with this name.")
}

// ByUsername returns a channel's public profile. The channel of a suspended account is
// unavailable: a not-found problem with its own code, so the page can say so and nothing of
// the channel (pictures, live state, chat, following) is served.
func (s *Service) ByUsername(ctx context.Context, username string) (*Profile, error) {
	p, err := s.store.ProfileByUsername(ctx, username)
	if errors.Is(err, ErrNotFound) {
		return nil, unknownChannel()
	}
	if err == nil && p.Suspended {
		return nil, problem.NotFound("ChannelUnavailable", "This channel is unavailable.")
	}
	return p, err
}

// SetType makes a channel BASIC (the source passed through) or STANDARD (transcoded into a
// ladder), from its next go-live on; an operator command.
func (s *Service) SetType(ctx context.Context, username, channelType string) (*Profile, error) {
	if channelType != TypeBasic && channelType != TypeStandard {
		return nil, problem.Invalid("InvalidChannelType", "type", fmt.Sprintf("%q is not BASIC or STANDARD.", channelType))
	}
	p, err := s.store.ProfileByUsername(ctx, username) // suspended or not: operators see all
	if errors.Is(err, ErrNotFound) {
		return nil, unknownChannel()
	}
	if err != nil {
		return nil, err
	}
	if err := s.store.SetChannelType(ctx, p.ChannelID, channelType); err != nil {
		return nil, err
	}
	s.log.Info("channel type set", "channel", p.ChannelID, "type", channelType)
	return p, nil
}

// ForOwner returns the user's channel with its stream key.
func (s *Service) ForOwner(ctx context.Context, userID string) (*Channel, error) {
	return ForOwner(ctx, s.store, s.box, userID)
}

// ViewerState is what a viewer's relation to a channel is.
type ViewerState struct {
	Following bool
	Banned    bool
	// MayWatch: the viewer gets playback and chat (the owner always; others when not banned,
	// and on the allowlist of a private channel).
	MayWatch bool
}

// Viewer returns whether viewerID (empty: anonymous) follows the channel, is banned from it,
// and may watch it.
func (s *Service) Viewer(ctx context.Context, p *Profile, viewerID string) (ViewerState, error) {
	if viewerID == "" {
		return ViewerState{MayWatch: !p.Private}, nil
	}
	var v ViewerState
	var err error
	if v.Following, err = s.store.IsFollowing(ctx, viewerID, p.ChannelID); err != nil {
		return v, err
	}
	a, err := s.store.WatchAccess(ctx, p.ChannelID, viewerID)
	if err != nil {
		return v, err
	}
	v.Banned, v.MayWatch = a.Banned, a.Check() == nil
	return v, nil
}

// ResetStreamKey replaces the user's stream key at once and returns the new one.
func (s *Service) ResetStreamKey(ctx context.Context, userID string) (string, error) {
	ch, err := s.store.ChannelByUser(ctx, userID)
	if err != nil {
		return "", err
	}
	key := NewStreamKey()
	if err := s.store.ReplaceStreamKey(ctx, ch.ID, s.box.Hash(key), s.box.Seal(key), s.nowUTC()); err != nil {
		return "", err
	}
	s.log.Info("stream key reset", "channel", ch.ID)
	if s.stopper != nil {
		s.stopper.Stop(ch.ID, "stream key reset")
	}
	return key, nil
}

// SetAppearance changes the profile color and/or avatar (nil leaves one as it is). The
// custom avatar can be chosen only once one has been uploaded.
func (s *Service) SetAppearance(ctx context.Context, userID, username string, color, avatar *string) (*Profile, error) {
	p, err := s.store.ProfileByUsername(ctx, username)
	if err != nil {
		return nil, err
	}
	if color != nil {
		if !slices.Contains(Colors, *color) {
			return nil, problem.Invalid("InvalidColor", "color", "Choose one of the profile colors.")
		}
		p.Color = *color
	}
	if avatar != nil {
		switch {
		case *avatar == CustomAvatar && p.AvatarVersion == "":
			return nil, problem.Invalid("NoCustomAvatar", "avatar", "Upload an avatar image first.")
		case *avatar != CustomAvatar && !slices.Contains(Avatars, *avatar):
			return nil, problem.Invalid("InvalidAvatar", "avatar", "Choose one of the avatars.")
		}
		p.Avatar = *avatar
	}
	if err := s.store.SetAppearance(ctx, userID, p.Color, p.Avatar); err != nil {
		return nil, err
	}
	return p, nil
}

// Upload checks, re-encodes and stores an avatar or banner; an avatar upload also selects it.
func (s *Service) Upload(ctx context.Context, userID, kind string, data []byte) (*Asset, error) {
	spec, ok := assetSpecs[kind]
	if !ok {
		return nil, problem.Invalid("InvalidAssetType", "kind", "Upload an avatar or a banner.")
	}
	if len(data) > spec.maxBytes {
		return nil, &problem.Problem{Kind: problem.ErrTooLarge, Code: "ImageTooLarge", Field: "file", Message: "Image exceeded max file size"}
	}
	img, err := images.Process(ctx, data, spec.spec)
	switch {
	case errors.Is(err, images.ErrNotImage):
		return nil, problem.Invalid("NotAnImage", "file", "This file is not a JPEG, PNG or WebP image.")
	case errors.Is(err, images.ErrTooLarge):
		return nil, problem.Invalid("ImageDimensionsTooLarge", "file", "This image's dimensions are too large.")
	case errors.Is(err, images.ErrTooComplex):
		return nil, &problem.Problem{Kind: problem.ErrTooLarge, Code: "ImageTooComplex", Field: "file",
			Message: "This image would take too much memory to process: save it smaller, or with 8 bits per channel."}
	case errors.Is(err, images.ErrBusy):
		return nil, problem.Unavailable("ImageProcessingBusy", "Too many pictures are being processed right now. Please try again in a moment.", images.RetryAfter)
	case err != nil:
		return nil, err
	}
	ch, err := s.store.ChannelByUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	a := &Asset{ChannelID: ch.ID, Kind: kind, Version: RandomID(10), ContentType: img.ContentType, Data: img.Data, CreatedAt: s.nowUTC()}
	if err := s.store.PutAsset(ctx, a); err != nil {
		return nil, err
	}
	s.log.Info("channel asset uploaded", "channel", ch.ID, "kind", kind, "bytes", len(img.Data))
	return a, nil
}

// DeleteAsset removes an uploaded picture; a deleted custom avatar reverts to a built-in one.
func (s *Service) DeleteAsset(ctx context.Context, userID, username, kind string) error {
	if _, ok := assetSpecs[kind]; !ok {
		return problem.Invalid("InvalidAssetType", "kind", "Delete an avatar or a banner.")
	}
	ch, err := s.store.ChannelByUser(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.store.DeleteAsset(ctx, ch.ID, kind); err != nil {
		return err
	}
	if kind == AssetAvatar {
		p, err := s.store.ProfileByUsername(ctx, username)
		if err != nil {
			return err
		}
		if p.Avatar == CustomAvatar {
			return s.store.SetAppearance(ctx, userID, p.Color, DefaultAvatar(userID))
		}
	}
	return nil
}

// DefaultAvatar is the built-in avatar a user falls back to: stable per user.
func DefaultAvatar(userID string) string {
	h := fnv.New32a()
	h.Write([]byte(userID))
	return Avatars[h.Sum32()%uint32(len(Avatars))]
}

// AssetFor returns an uploaded picture by channel, kind and version (the URL's parts). A
// suspended owner's pictures are unavailable, as the channel page is.
func (s *Service) AssetFor(ctx context.Context, channelID, kind, version string) (*Asset, error) {
	a, err := s.store.Asset(ctx, channelID, kind)
	if errors.Is(err, ErrNotFound) || (err == nil && a.Version != version) {
		return nil, problem.NotFound("AssetNotFound", "No such image.")
	}
	if err == nil && a.OwnerSuspended {
		return nil, problem.NotFound("ChannelUnavailable", "This channel is unavailable.")
	}
	return a, err
}

// Follow makes followerID follow the channel of username. Following twice is not an error;
// following oneself is.
func (s *Service) Follow(ctx context.Context, followerID, username string) error {
	p, err := s.ByUsername(ctx, username)
	if err != nil {
		return err
	}
	if p.UserID == followerID {
		return problem.Invalid("CannotFollowSelf", "username", "You cannot follow your own channel.")
	}
	return s.store.Follow(ctx, followerID, p.ChannelID, s.nowUTC())
}

// Unfollow stops following; unfollowing a channel not followed is not an error.
func (s *Service) Unfollow(ctx context.Context, followerID, username string) error {
	p, err := s.ByUsername(ctx, username)
	if err != nil {
		return err
	}
	return s.store.Unfollow(ctx, followerID, p.ChannelID)
}

// MaxFollowing bounds one page of a following list.
const MaxFollowing = 500

// Following lists the channels a user follows (live first).
func (s *Service) Following(ctx context.Context, userID string, limit int) ([]*Profile, error) {
	if limit <= 0 || limit > MaxFollowing {
		limit = MaxFollowing
	}
	return s.store.Following(ctx, userID, limit)
}

// DirectorySize is how many live channels the directory lists at most.
const DirectorySize = 50

// Ban bars a user from the owner's channel (chat and playback). Banning oneself, or twice,
// is refused or ignored respectively.
func (s *Service) Ban(ctx context.Context, ownerID, ownerUsername, username string) error {
	owner, target, err := s.banParties(ctx, ownerUsername, username)
	if err != nil {
		return err
	}
	if target.UserID == ownerID {
		return problem.Invalid("CannotBanSelf", "username", "You cannot ban yourself.")
	}
	if err := s.store.Ban(ctx, owner.ChannelID, target.UserID, s.nowUTC()); err != nil {
		return err
	}
	if s.onBan != nil {
		s.onBan(ctx, owner.ChannelID, target.UserID)
	}
	return nil
}

// Unban lifts a ban; lifting a ban that does not exist is not an error.
func (s *Service) Unban(ctx context.Context, ownerUsername, username string) error {
	owner, target, err := s.banParties(ctx, ownerUsername, username)
	if err != nil {
		return err
	}
	return s.store.Unban(ctx, owner.ChannelID, target.UserID)
}

func (s *Service) banParties(ctx context.Context, ownerUsername, username string) (*Profile, *Profile, error) {
	owner, err := s.ByUsername(ctx, ownerUsername)
	if err != nil {
		return nil, nil, err
	}
	target, err := s.store.ProfileByUsername(ctx, username)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, problem.NotFound("UserNotFound", "There is no user with this name.")
	}
	return owner, target, err
}

// Bans lists the users banned from a channel.
func (s *Service) Bans(ctx context.Context, channelID string) ([]*Profile, error) {
	return s.store.Bans(ctx, channelID)
}
