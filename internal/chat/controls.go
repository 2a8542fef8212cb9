package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/livehouse/livehouse/internal/problem"
)

// Settings are a room's chat controls, set by its channel's owner: followers-only chat
// (optionally for those who have followed for at least FollowersMinutes) and slow mode (one
// message per SlowSeconds per user). The owner, who moderates, is exempt from both, as on
// Twitch.
type Settings struct {
	FollowersOnly    bool `json:"followersOnly"`
	FollowersMinutes int  `json:"followersMinutes"`
	SlowSeconds      int  `json:"slowSeconds"` // 0 = off
}

// Limits of the chat controls (Twitch's: slow mode 3–120 s, followers-only up to 3 months).
const (
	SlowMin             = 3
	SlowMax             = 120
	MaxFollowersMinutes = 90 * 24 * 60
)

// SettingsEvent is the room event that carries changed settings to every node (each hub
// keeps them) and to clients; its attributes are followersOnly ("true"/"false"),
// followersMinutes and slowSeconds.
const SettingsEvent = "app:CHAT_SETTINGS"

// settingsTTL bounds how long a node trusts the settings it read, should a SettingsEvent not
// reach it.
const settingsTTL = 30 * time.Second

// Validate checks settings against their limits.
func (s Settings) Validate() error {
	if s.SlowSeconds != 0 && (s.SlowSeconds < SlowMin || s.SlowSeconds > SlowMax) {
		return problem.Invalid("InvalidChatSettings", "slowSeconds", fmt.Sprintf("Slow mode is 0 (off) or from %d to %d seconds.", SlowMin, SlowMax))
	}
	if s.FollowersMinutes < 0 || s.FollowersMinutes > MaxFollowersMinutes {
		return problem.Invalid("InvalidChatSettings", "followersMinutes", fmt.Sprintf("Followers-only chat takes 0 to %d minutes of following.", MaxFollowersMinutes))
	}
	if !s.FollowersOnly && s.FollowersMinutes != 0 {
		return problem.Invalid("InvalidChatSettings", "followersMinutes", "followersMinutes needs followersOnly.")
	}
	return nil
}

func (s Settings) attributes() map[string]string {
	return map[string]string{"followersOnly": strconv.FormatBool(s.FollowersOnly), "followersMinutes": strconv.Itoa(s.FollowersMinutes), "slowSeconds": strconv.Itoa(s.SlowSeconds)}
}

func settingsFrom(attrs map[string]string) (Settings, bool) {
	var s Settings
	var err1, err2, err3 error
	s.FollowersOnly, err1 = strconv.ParseBool(attrs["followersOnly"])
	s.FollowersMinutes, err2 = strconv.Atoi(attrs["followersMinutes"])
	s.SlowSeconds, err3 = strconv.Atoi(attrs["slowSeconds"])
	return s, err1 == nil && err2 == nil && err3 == nil && s.Validate() == nil
}

// SettingsStore keeps rooms' chat controls and answers who follows a room's channel since
// when (a room's id is its channel's).
type SettingsStore interface {
	ChatSettings(ctx context.Context, roomID string) (Settings, error)
	PutChatSettings(ctx context.Context, roomID string, s Settings, at time.Time) error
	// FollowedSince is when the user started following the channel, nil if they do not.
	FollowedSince(ctx context.Context, channelID, userID string) (*time.Time, error)
}

// SetControls installs the store of chat controls; without one no room has any.
func (h *Hub) SetControls(s SettingsStore) { h.controls = s }

// Settings reads a room's chat controls.
func (h *Hub) Settings(ctx context.Context, roomID string) (Settings, error) {
	if h.controls == nil {
		return Settings{}, nil
	}
	return h.controls.ChatSettings(ctx, roomID)
}

// UpdateSettings stores a room's chat controls and puts them into effect on every node.
// Authorisation (only the channel's owner) is the caller's.
func (h *Hub) UpdateSettings(ctx context.Context, roomID string, s Settings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if h.controls == nil {
		return problem.Unavailable("ChatControlsUnavailable", "Chat controls are not available on this server.", 0)
	}
	if err := h.controls.PutChatSettings(ctx, roomID, s, h.now().UTC()); err != nil {
		return fmt.Errorf("storing chat settings: %w", err)
	}
	return h.SendEvent(ctx, roomID, SettingsEvent, s.attributes())
}

// SendEvent sends an application event (as the managed service's SendEvent does) to every
// connection of a room, on every node.
func (h *Hub) SendEvent(ctx context.Context, roomID, name string, attrs map[string]string) error {
	data, _ := json.Marshal(&envelope{Frame: &Frame{Type: "EVENT", ID: NewID(), EventName: name, SendTime: h.now().UTC().Format(sendTimeLayout), Attributes: stringMap(attrs)}})
	if err := h.publish(ctx, SubjectPrefix+roomID, data); err != nil {
		return fmt.Errorf("sending %s to room %s: %w", name, roomID, err)
	}
	return nil
}

const sendTimeLayout = "2006-01-02T15:04:05.000Z"

// roomSettings is a room's settings as this node knows them, read from the store when not
// known or older than settingsTTL. A store that cannot answer leaves chat open.
func (h *Hub) roomSettings(ctx context.Context, roomID string) Settings {
	if h.controls == nil {
		return Settings{}
	}
	now := h.now()
	h.mu.Lock()
	r := h.roomLocked(roomID)
	s, fresh := r.settings, r.settingsAt.Add(settingsTTL).After(now)
	h.mu.Unlock()
	if fresh {
		return s
	}
	s, err := h.controls.ChatSettings(ctx, roomID)
	if err != nil {
		h.log.Warn("reading chat settings", "room", roomID, "err", err)
		return Settings{}
	}
	h.mu.Lock()
	if r.settingsAt.Before(now) { // a SettingsEvent meanwhile is newer
		r.settings, r.settingsAt = s, now
	}
	h.mu.Unlock()
	return s
}

// refuseByControls answers the error a room's controls give a message, or 0: followers-only
// (403) for a user who does not follow the channel, or not for long enough. Slow mode is
// admit's. Moderators are exempt.
func (h *Hub) refuseByControls(ctx context.Context, c *Conn, s Settings) (int, string) {
	g := c.Grant
	if !s.FollowersOnly || g.Can(CapDelete) || g.Can(CapDisconnect) {
		return 0, ""
	}
	since, err := h.controls.FollowedSince(ctx, g.RoomID, g.UserID)
	if err != nil {
		h.log.Warn("checking a follow for followers-only chat", "room", g.RoomID, "user", g.UserID, "err", err)
		return 0, ""
	}
	need := time.Duration(s.FollowersMinutes) * time.Minute
	switch {
	case since == nil && need == 0:
		return 403, "This room is in followers-only mode: follow the channel to chat."
	case since == nil:
		return 403, fmt.Sprintf("This room is in followers-only mode: follow the channel for %s to chat.", minutes(s.FollowersMinutes))
	case h.now().Sub(*since) < need:
		return 403, fmt.Sprintf("This room is in followers-only mode: you can chat once you have followed the channel for %s.", minutes(s.FollowersMinutes))
	}
	return 0, ""
}

func minutes(n int) string {
	if n == 1 {
		return "1 minute"
	}
	return strconv.Itoa(n) + " minutes"
}

// slowLocked refuses a message sent within the room's slow-mode interval of the user's last
// one (on any node: every node records the messages it delivers), answering 429 and the
// wait; or records the message's time and answers 0. Moderators are exempt.
func (h *Hub) slowLocked(r *room, c *Conn, s Settings, now time.Time) (int, string) {
	g := c.Grant
	if s.SlowSeconds == 0 || g.Can(CapDelete) || g.Can(CapDisconnect) {
		return 0, ""
	}
	interval := time.Duration(s.SlowSeconds) * time.Second
	if last, ok := r.lastMessage[g.UserID]; ok && now.Sub(last) < interval {
		wait := (interval - now.Sub(last) + time.Second - 1) / time.Second
		return 429, fmt.Sprintf("This room is in slow mode: one message every %d seconds. Try again in %d seconds.", s.SlowSeconds, int(wait))
	}
	return 0, ""
}
