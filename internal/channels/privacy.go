package channels

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/livehouse/livehouse/internal/problem"
)

// Private channels. The owner switches a channel to private and keeps an allowlist: users
// added by name, or who opened one of the channel's invite links while signed in. Only the
// owner and the allowlist (banned users excepted) get playback tokens and chat tokens for a
// private channel; the directory does not list it, following lists show it only to followers
// who may watch it, and its page shows everyone else that it is private and nothing of its
// stream. Playback tokens are what the media servers check, on every node: a viewer taken off
// the allowlist, or every anonymous viewer of a channel that turns private, loses playback
// within one token lifetime, when the player's renewal is refused.

// ErrInviteNotFound is an invite code that matches no invite.
var ErrInviteNotFound = errors.New("invite not found")

// PrivacyStore is what private channels need from persistence.
type PrivacyStore interface {
	SetPrivate(ctx context.Context, channelID string, private bool) error
	// ProfileByChannel finds a channel's profile by the channel's id.
	ProfileByChannel(ctx context.Context, channelID string) (*Profile, error)
	// WatchAccess reads what decides whether userID (empty: anonymous) may watch channelID;
	// ErrNotFound for an unknown channel.
	WatchAccess(ctx context.Context, channelID, userID string) (Access, error)
	// Allow adds a user to a channel's allowlist; adding twice keeps the first time.
	Allow(ctx context.Context, channelID, userID string, at time.Time) error
	Disallow(ctx context.Context, channelID, userID string) error
	// Allowlist lists the profiles of the users on a channel's allowlist, newest first.
	Allowlist(ctx context.Context, channelID string, limit int) ([]*Profile, error)
	CountAllowed(ctx context.Context, channelID string) (int, error)

	// PutInvite stores a new invite after deleting the channel's invites expired at now.
	PutInvite(ctx context.Context, inv *Invite, now time.Time) error
	// Invites lists a channel's invites that have not expired at now, newest first.
	Invites(ctx context.Context, channelID string, now time.Time) ([]*Invite, error)
	// DeleteInvite removes one of a channel's invites; ErrInviteNotFound if it has none by id.
	DeleteInvite(ctx context.Context, channelID, id string) error
	// InviteByCodeHash finds an invite by the hash of its code; ErrInviteNotFound if none.
	InviteByCodeHash(ctx context.Context, hash string) (*Invite, error)
	// UseInvite counts one use of an invite.
	UseInvite(ctx context.Context, id string) error
}

// Access is a viewer's standing towards a channel, as far as watching it goes.
type Access struct {
	Private bool // the channel is private
	Owner   bool // the viewer owns it
	Allowed bool // the viewer is on its allowlist
	Banned  bool // the viewer is banned from it
}

// Check is nil when the viewer may watch the channel (and join its chat), else a problem that
// says why not.
func (a Access) Check() error {
	switch {
	case a.Owner:
		return nil
	case a.Banned:
		return problem.Forbidden("BannedFromChannel", "You are banned from this channel.")
	case a.Private && !a.Allowed:
		return errPrivate()
	}
	return nil
}

func errPrivate() error {
	return problem.Forbidden("PrivateChannel", "This channel is private: only the people its owner invited may watch it.")
}

// IsPrivate reports whether err is the refusal of a viewer who is not on a private channel's
// allowlist.
func IsPrivate(err error) bool {
	p, ok := problem.As(err)
	return ok && p.Code == "PrivateChannel"
}

// AccessCheck answers whether a viewer may watch a channel, from the store alone, for the
// parts built before the channel service (playback token renewal).
type AccessCheck struct {
	Store interface {
		WatchAccess(ctx context.Context, channelID, userID string) (Access, error)
	}
}

// MayWatch is nil when userID (empty: anonymous) may watch channelID, else a problem.
func (c AccessCheck) MayWatch(ctx context.Context, channelID, userID string) error {
	a, err := c.Store.WatchAccess(ctx, channelID, userID)
	if errors.Is(err, ErrNotFound) {
		return unknownChannel()
	}
	if err != nil {
		return fmt.Errorf("reading the viewer's access: %w", err)
	}
	return a.Check()
}

// MayWatch is nil when userID (empty: anonymous) may watch channelID live and take part
// (playback, chat, votes), else a problem: Watchable's, or 403 BannedFromChannel.
func (s *Service) MayWatch(ctx context.Context, channelID, userID string) error {
	return AccessCheck{s.store}.MayWatch(ctx, channelID, userID)
}

// Watchable is the one check every route that shows a channel's content makes (its chat
// settings, polls, past broadcasts and their chat; MayWatch adds bans to it for the live
// stream, chat and votes): nil when viewerID (empty: anonymous) may see it, 403
// PrivateChannel when the channel is private and the viewer neither owns it nor is on its
// allowlist, 404 ChannelNotFound for an unknown channel. A ban alone does not hide what a
// channel has published. The viewer's Access comes with it, for callers that serve the
// content differently when the channel is private (not to shared caches).
func (s *Service) Watchable(ctx context.Context, channelID, viewerID string) (Access, error) {
	a, err := s.store.WatchAccess(ctx, channelID, viewerID)
	if errors.Is(err, ErrNotFound) {
		return a, unknownChannel()
	}
	if err != nil {
		return a, fmt.Errorf("reading the viewer's access: %w", err)
	}
	if a.Shut() {
		return a, errPrivate()
	}
	return a, nil
}

// Shut reports whether the channel is private and the viewer neither owns it nor is on its
// allowlist.
func (a Access) Shut() bool { return a.Private && !a.Owner && !a.Allowed }

// Limits of the allowlist and the invites, so that every list is bounded.
const (
	MaxAllowlist     = 1000
	MaxInvites       = 20
	MinInviteTTL     = time.Hour
	MaxInviteTTL     = 30 * 24 * time.Hour
	DefaultInviteTTL = 7 * 24 * time.Hour
)

// Invite is a link that adds the signed-in user who opens it to a private channel's
// allowlist, until it expires or its owner revokes it. Only the hash of its code is kept.
type Invite struct {
	ID        string
	ChannelID string
	CodeHash  string
	CreatedAt time.Time
	ExpiresAt time.Time
	Uses      int
}

// SetPrivate switches the user's channel to private or public, at once.
func (s *Service) SetPrivate(ctx context.Context, userID string, private bool) error {
	ch, err := s.store.ChannelByUser(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.store.SetPrivate(ctx, ch.ID, private); err != nil {
		return err
	}
	s.log.Info("channel privacy set", "channel", ch.ID, "private", private)
	if !private || s.onPrivate == nil {
		return nil
	}
	// Those who may stay: the owner and the allowlist (banned ones are gone already).
	allowed, err := s.store.Allowlist(ctx, ch.ID, MaxAllowlist)
	if err != nil {
		return fmt.Errorf("reading the allowlist of a channel made private: %w", err)
	}
	keep := []string{userID}
	for _, p := range allowed {
		keep = append(keep, p.UserID)
	}
	s.onPrivate(ctx, ch.ID, keep)
	return nil
}

// Allow puts a user on the allowlist of the owner's channel.
func (s *Service) Allow(ctx context.Context, ownerID, ownerUsername, username string) error {
	owner, target, err := s.banParties(ctx, ownerUsername, username)
	if err != nil {
		return err
	}
	if target.UserID == ownerID {
		return problem.Invalid("CannotAllowSelf", "username", "You can always watch your own channel.")
	}
	if err := s.roomOnAllowlist(ctx, owner.ChannelID, target.UserID); err != nil {
		return err
	}
	return s.store.Allow(ctx, owner.ChannelID, target.UserID, s.nowUTC())
}

// roomOnAllowlist refuses a new entry to a full allowlist.
func (s *Service) roomOnAllowlist(ctx context.Context, channelID, userID string) error {
	if a, err := s.store.WatchAccess(ctx, channelID, userID); err != nil || a.Allowed {
		return err // on it already: nothing to add
	}
	n, err := s.store.CountAllowed(ctx, channelID)
	if err != nil {
		return err
	}
	if n >= MaxAllowlist {
		return problem.Conflict("AllowlistFull", "username", fmt.Sprintf("The allowlist holds at most %d users: remove someone first.", MaxAllowlist))
	}
	return nil
}

// Disallow takes a user off the allowlist of the owner's channel; taking off someone not on it
// is not an error.
func (s *Service) Disallow(ctx context.Context, ownerUsername, username string) error {
	owner, target, err := s.banParties(ctx, ownerUsername, username)
	if err != nil {
		return err
	}
	if err := s.store.Disallow(ctx, owner.ChannelID, target.UserID); err != nil {
		return err
	}
	if s.onDisallow != nil {
		s.onDisallow(ctx, owner.ChannelID, target.UserID)
	}
	return nil
}

// Allowlist lists the users on a channel's allowlist, newest first.
func (s *Service) Allowlist(ctx context.Context, channelID string) ([]*Profile, error) {
	return s.store.Allowlist(ctx, channelID, MaxAllowlist)
}

// CreateInvite makes an invite link for the user's channel that lasts ttl (DefaultInviteTTL
// when 0), and returns it with its code, which is shown only now.
func (s *Service) CreateInvite(ctx context.Context, userID string, ttl time.Duration) (*Invite, string, error) {
	if ttl == 0 {
		ttl = DefaultInviteTTL
	}
	if ttl < MinInviteTTL || ttl > MaxInviteTTL {
		return nil, "", problem.Invalid("InvalidInviteExpiry", "expiresInHours",
			fmt.Sprintf("An invite lasts from %d hour to %d days.", int(MinInviteTTL/time.Hour), int(MaxInviteTTL/(24*time.Hour))))
	}
	ch, err := s.store.ChannelByUser(ctx, userID)
	if err != nil {
		return nil, "", err
	}
	now := s.nowUTC()
	live, err := s.store.Invites(ctx, ch.ID, now)
	if err != nil {
		return nil, "", err
	}
	if len(live) >= MaxInvites {
		return nil, "", problem.Conflict("TooManyInvites", "", fmt.Sprintf("A channel has at most %d invite links at a time: revoke one first.", MaxInvites))
	}
	code := RandomID(32)
	inv := &Invite{ID: "inv_" + RandomID(16), ChannelID: ch.ID, CodeHash: s.box.Hash("invite:" + code), CreatedAt: now, ExpiresAt: now.Add(ttl).Truncate(time.Millisecond)}
	if err := s.store.PutInvite(ctx, inv, now); err != nil {
		return nil, "", err
	}
	s.log.Info("channel invite created", "channel", ch.ID, "invite", inv.ID, "expires", inv.ExpiresAt)
	return inv, code, nil
}

// Invites lists a channel's invites that have not expired.
func (s *Service) Invites(ctx context.Context, channelID string) ([]*Invite, error) {
	return s.store.Invites(ctx, channelID, s.nowUTC())
}

// RevokeInvite deletes one of the user's channel's invites: its link stops working at once.
func (s *Service) RevokeInvite(ctx context.Context, userID, id string) error {
	ch, err := s.store.ChannelByUser(ctx, userID)
	if err != nil {
		return err
	}
	err = s.store.DeleteInvite(ctx, ch.ID, id)
	if errors.Is(err, ErrInviteNotFound) {
		return problem.NotFound("InviteNotFound", "Your channel has no such invite.")
	}
	return err
}

// AcceptInvite puts the user on the allowlist of the channel an invite code is for, and
// returns that channel. The owner's own link changes nothing for them.
func (s *Service) AcceptInvite(ctx context.Context, userID, code string) (*Profile, error) {
	invalid := problem.NotFound("InviteNotFound", "This invite link is not valid: it may have expired or been revoked.")
	if code == "" || len(code) > 64 {
		return nil, invalid
	}
	inv, err := s.store.InviteByCodeHash(ctx, s.box.Hash("invite:"+code))
	if errors.Is(err, ErrInviteNotFound) || (err == nil && !s.nowUTC().Before(inv.ExpiresAt)) {
		return nil, invalid
	}
	if err != nil {
		return nil, err
	}
	a, err := s.store.WatchAccess(ctx, inv.ChannelID, userID)
	if err != nil {
		return nil, err
	}
	p, err := s.channelByID(ctx, inv.ChannelID)
	if err != nil {
		return nil, err
	}
	if a.Owner || a.Allowed {
		return p, nil
	}
	if err := s.roomOnAllowlist(ctx, inv.ChannelID, userID); err != nil {
		return nil, err
	}
	if err := s.store.Allow(ctx, inv.ChannelID, userID, s.nowUTC()); err != nil {
		return nil, err
	}
	if err := s.store.UseInvite(ctx, inv.ID); err != nil {
		return nil, err
	}
	s.log.Info("channel invite accepted", "channel", inv.ChannelID, "invite", inv.ID, "user", userID)
	return p, nil
}

// channelByID returns a channel's public profile by its id (a suspended owner's channel is
// unavailable, as by name).
func (s *Service) channelByID(ctx context.Context, channelID string) (*Profile, error) {
	p, err := s.store.ProfileByChannel(ctx, channelID)
	if errors.Is(err, ErrNotFound) {
		return nil, unknownChannel()
	}
	if err == nil && p.Suspended {
		return nil, problem.NotFound("ChannelUnavailable", "This channel is unavailable.")
	}
	return p, err
}
