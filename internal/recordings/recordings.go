// Package recordings is the domain of past broadcasts: a recording per recorded stream
// session, its media in a storage.Store under a prefix of its own, who may see and change
// it, and its end of life (deletion removes the media; retention). The recorder that writes
// the media is an output of the live session (internal/media/record); this package keeps
// the records and the rules.
package recordings

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/storage"
)

// Status of a recording.
const (
	StatusRecording = "recording" // the session is live and being written
	StatusComplete  = "complete"  // ended; its playlists are in storage
)

// ErrNotFound is returned by a Store for a recording it does not have.
var ErrNotFound = errors.New("recording not found")

// Recording is one recorded stream session.
type Recording struct {
	ID        string // the stream session's id
	ChannelID string
	UserID    string // the channel's owner
	Title     string
	Prefix    string // where its media is in storage, ending in "/"
	Status    string
	StartedAt time.Time
	EndedAt   time.Time // zero while recording
	Duration  time.Duration
	Bytes     int64
	Segments  int
	Dropped   int // segments a slow store could not take
	Hidden    bool
	Poster    bool // a poster.jpg is stored
}

// Progress is what a recorder has written so far.
type Progress struct {
	Duration time.Duration
	Bytes    int64
	Segments int
	Dropped  int
	Poster   bool // a poster.jpg was stored
}

// Store is what recordings need from persistence.
type Store interface {
	CreateRecording(ctx context.Context, r *Recording) error
	// FinishRecording marks a recording complete with what was written.
	FinishRecording(ctx context.Context, id string, endedAt time.Time, p Progress) error
	Recording(ctx context.Context, id string) (*Recording, error)
	// ChannelRecordings lists a channel's complete recordings, newest first, hidden ones
	// only when withHidden.
	ChannelRecordings(ctx context.Context, channelID string, withHidden bool, limit int) ([]*Recording, error)
	UpdateRecording(ctx context.Context, id, title string, hidden bool) error
	DeleteRecording(ctx context.Context, id string) error
	// UnfinishedRecordings lists recordings still marked recording whose stream session has
	// ended (a crash, or a node that stopped answering), but those of another node than node
	// that holds a lease valid at the time: its own recorder is finishing them.
	UnfinishedRecordings(ctx context.Context, node string, at time.Time, limit int) ([]*Recording, error)
	// ExpiredRecordings lists complete recordings that ended before t.
	ExpiredRecordings(ctx context.Context, before time.Time, limit int) ([]*Recording, error)
	// UserRecordingBytes is the size of a user's recordings, for the quota.
	UserRecordingBytes(ctx context.Context, userID string) (int64, error)
	// UserRecordings lists a user's recordings (to delete them with the account).
	UserRecordings(ctx context.Context, userID string, limit int) ([]*Recording, error)
	// AddChatLine keeps a chat line with a recording (a line already kept is left as it is).
	AddChatLine(ctx context.Context, recordingID string, l ChatLine) error
	// DeleteChatLines removes a recording's line messageID, or, with messageID "", every line
	// of senderID.
	DeleteChatLines(ctx context.Context, recordingID, messageID, senderID string) error
	// ChatLines lists a recording's lines with from <= offset < to, in offset order.
	ChatLines(ctx context.Context, recordingID string, from, to time.Duration, limit int) ([]ChatLine, error)
	// RecordingEnabled reports whether the channel records its sessions (its own switch).
	RecordingEnabled(ctx context.Context, channelID string) (bool, error)
	SetRecordingEnabled(ctx context.Context, channelID string, on bool) error
}

// ChatLine is a chat message of a recorded session, at its offset into the recording.
type ChatLine struct {
	MessageID string
	Offset    time.Duration
	SenderID  string
	Sender    string // the sender's attributes, JSON
	Content   string
}

// MaxChatLines bounds the chat kept with one recording; later lines are not kept.
const MaxChatLines = 20_000

// MaxChatPage bounds the lines one read of a recording's chat returns.
const MaxChatPage = 500

// Finisher writes a recording's playlists from what is in storage, after a crash (the
// recorder writes them itself when a session ends cleanly).
type Finisher interface {
	Finish(ctx context.Context, prefix string) (Progress, error)
}

// Events records a recording's events on its stream session.
type Events interface {
	RecordingEnded(ctx context.Context, r *Recording, reason string)
}

// Service applies the rules.
type Service struct {
	store    Store
	media    storage.Store
	finisher Finisher
	events   Events
	log      *slog.Logger
	now      func() time.Time
	enabled  bool  // the operator's recording setting
	quota    int64 // bytes of recordings per user; 0: none
}

// Deps is what the service is built from.
type Deps struct {
	Store    Store
	Media    storage.Store
	Finisher Finisher
	Events   Events // may be nil
	Log      *slog.Logger
	Now      func() time.Time // nil: time.Now
	Enabled  bool             // the operator's recording setting: false records nothing
	Quota    int64            // bytes of recordings a user may keep before no more are made; 0: none
}

// NewService returns the service.
func NewService(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{store: d.Store, media: d.Media, finisher: d.Finisher, events: d.Events, log: d.Log, now: d.Now, enabled: d.Enabled, quota: d.Quota}
}

// Media is the storage recordings are kept in.
func (s *Service) Media() storage.Store { return s.media }

// ErrQuota is ShouldRecord's answer for a user whose recordings fill their storage quota.
var ErrQuota = errors.New("the account's recordings fill its storage quota: delete some to record again")

// ShouldRecord reports whether a session of the channel (of user) is recorded: the operator's
// setting and the channel's own switch; ErrQuota when the user's recordings already hold
// their quota (a session under way is not cut: a quota can be passed by one session).
func (s *Service) ShouldRecord(ctx context.Context, channelID, userID string) (bool, error) {
	if !s.enabled {
		return false, nil
	}
	on, err := s.store.RecordingEnabled(ctx, channelID)
	if err != nil || !on || s.quota <= 0 {
		return on, err
	}
	used, err := s.store.UserRecordingBytes(ctx, userID)
	if err != nil {
		return false, err
	}
	if used >= s.quota {
		return false, ErrQuota
	}
	return true, nil
}

// Prefix is where a session's recording is kept.
func Prefix(channelID, sessionID string) string {
	return "recordings/" + channelID + "/" + sessionID + "/"
}

// ThumbnailKey is where a live channel's thumbnail is kept, in the recordings storage (so that,
// with a bucket, any node serves it): one JPEG a channel, replaced as the stream goes on.
func ThumbnailKey(channelID string) string {
	return "thumbnails/" + channelID + ".jpg"
}

// Begin records that a session's recording has started.
func (s *Service) Begin(ctx context.Context, sessionID, channelID, userID string, at time.Time) (*Recording, error) {
	r := &Recording{ID: sessionID, ChannelID: channelID, UserID: userID, Prefix: Prefix(channelID, sessionID), Status: StatusRecording, StartedAt: at.UTC()}
	if err := s.store.CreateRecording(ctx, r); err != nil {
		return nil, fmt.Errorf("recording %s: %w", sessionID, err)
	}
	return r, nil
}

// End records that a recording is complete; one that holds nothing (the stream ended before
// its first segment) is removed.
func (s *Service) End(ctx context.Context, id string, p Progress) error {
	if p.Segments == 0 {
		r, err := s.store.Recording(ctx, id)
		if err != nil {
			return err
		}
		return s.remove(ctx, r)
	}
	return s.store.FinishRecording(ctx, id, s.now().UTC(), p)
}

// visible reports whether the viewer (userID, "" for anonymous) may see r.
func visible(r *Recording, userID string) bool {
	return !r.Hidden || (userID != "" && r.UserID == userID)
}

func notFound() error {
	return problem.NotFound("RecordingNotFound", "There is no such recording.")
}

// Get returns a recording the viewer may see; a hidden one is not found but for its owner.
func (s *Service) Get(ctx context.Context, viewerID, id string) (*Recording, error) {
	r, err := s.store.Recording(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, notFound()
	}
	if err != nil {
		return nil, err
	}
	if !visible(r, viewerID) {
		return nil, notFound()
	}
	return r, nil
}

// Playable returns a complete recording the viewer may see, for playback.
func (s *Service) Playable(ctx context.Context, viewerID, id string) (*Recording, error) {
	r, err := s.Get(ctx, viewerID, id)
	if err != nil {
		return nil, err
	}
	if r.Status != StatusComplete {
		return nil, problem.NotFound("RecordingNotReady", "This recording is not complete yet.")
	}
	return r, nil
}

// MaxList bounds a listing of a channel's recordings.
const MaxList = 100

// List returns a channel's complete recordings, newest first; its owner sees hidden ones.
func (s *Service) List(ctx context.Context, viewerID, channelID, ownerID string, limit int) ([]*Recording, error) {
	if limit <= 0 || limit > MaxList {
		limit = MaxList
	}
	return s.store.ChannelRecordings(ctx, channelID, viewerID != "" && viewerID == ownerID, limit)
}

// MaxTitle bounds a recording's title, in characters.
const MaxTitle = 140

// Change is an owner's edit of a recording; nil fields stay as they are.
type Change struct {
	Title  *string
	Hidden *bool
}

// Update renames or hides a recording. Only its owner may: to anyone else a hidden one is
// not found and a visible one forbidden.
func (s *Service) Update(ctx context.Context, viewerID, id string, c Change) (*Recording, error) {
	r, err := s.owned(ctx, viewerID, id)
	if err != nil {
		return nil, err
	}
	if c.Title != nil {
		t := strings.TrimSpace(*c.Title)
		if !utf8.ValidString(t) || utf8.RuneCountInString(t) > MaxTitle || strings.ContainsFunc(t, isControl) {
			return nil, problem.Invalid("InvalidTitle", "title", fmt.Sprintf("A title is up to %d characters on one line.", MaxTitle))
		}
		r.Title = t
	}
	if c.Hidden != nil {
		r.Hidden = *c.Hidden
	}
	if err := s.store.UpdateRecording(ctx, id, r.Title, r.Hidden); err != nil {
		return nil, err
	}
	return r, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// owned returns the viewer's own recording.
func (s *Service) owned(ctx context.Context, viewerID, id string) (*Recording, error) {
	r, err := s.Get(ctx, viewerID, id)
	if err != nil {
		return nil, err
	}
	if r.UserID != viewerID {
		return nil, problem.Forbidden("NotRecordingOwner", "Only the channel's owner may change its recordings.")
	}
	return r, nil
}

// Delete removes the viewer's own recording: its media from storage, then its record. A
// recording still being written cannot be deleted until its session ends.
func (s *Service) Delete(ctx context.Context, viewerID, id string) error {
	r, err := s.owned(ctx, viewerID, id)
	if err != nil {
		return err
	}
	if r.Status == StatusRecording {
		return problem.Conflict("RecordingInProgress", "", "This recording is still being written; delete it once the stream has ended.")
	}
	return s.remove(ctx, r)
}

func (s *Service) remove(ctx context.Context, r *Recording) error {
	if _, err := storage.DeletePrefix(ctx, s.media, r.Prefix); err != nil {
		return fmt.Errorf("deleting recording %s: %w", r.ID, err)
	}
	return s.store.DeleteRecording(ctx, r.ID)
}

// DeleteUser removes every recording of a user (an account being deleted).
func (s *Service) DeleteUser(ctx context.Context, userID string) error {
	for {
		list, err := s.store.UserRecordings(ctx, userID, 100)
		if err != nil || len(list) == 0 {
			return err
		}
		for _, r := range list {
			if err := s.remove(ctx, r); err != nil {
				return err
			}
		}
	}
}

// FinishAbandoned completes, on node, the recordings whose session ended without a recorder
// finishing them (a crash, a node gone): their playlists are written from the segments in
// storage, so what was stored before the crash plays. A recording is finished after its
// session ends: those that node's own recorder is finishing (busy) are left to it, as are
// those of other nodes that hold their lease. It returns how many it finished.
func (s *Service) FinishAbandoned(ctx context.Context, node string, busy func(id string) bool) (int, error) {
	list, err := s.store.UnfinishedRecordings(ctx, node, s.now(), 100)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range list {
		if busy != nil && busy(r.ID) {
			continue
		}
		p, err := s.finisher.Finish(ctx, r.Prefix)
		if err != nil {
			s.log.Error("finishing an abandoned recording", "recording", r.ID, "err", err)
			continue
		}
		if p.Segments == 0 {
			if err := s.remove(ctx, r); err != nil {
				return n, err
			}
			continue
		}
		if err := s.store.FinishRecording(ctx, r.ID, r.StartedAt.Add(p.Duration), p); err != nil {
			return n, err
		}
		if s.events != nil {
			s.events.RecordingEnded(ctx, r, "the server stopped while recording; what was stored before is kept")
		}
		n++
	}
	return n, nil
}

// Purge deletes recordings that ended more than keep ago, and returns how many.
func (s *Service) Purge(ctx context.Context, keep time.Duration) (int, error) {
	n := 0
	for {
		list, err := s.store.ExpiredRecordings(ctx, s.now().Add(-keep), 100)
		if err != nil || len(list) == 0 {
			return n, err
		}
		for _, r := range list {
			if err := s.remove(ctx, r); err != nil {
				return n, err
			}
			n++
		}
	}
}

// AddChat keeps a chat line of a session being recorded, at its offset into the recording.
func (s *Service) AddChat(ctx context.Context, recordingID string, l ChatLine) error {
	return s.store.AddChatLine(ctx, recordingID, l)
}

// RemoveChat removes a recording's chat line (messageID), or all of a user's (senderID).
func (s *Service) RemoveChat(ctx context.Context, recordingID, messageID, senderID string) error {
	return s.store.DeleteChatLines(ctx, recordingID, messageID, senderID)
}

// Chat returns the chat lines of a recording the viewer may play, from from up to to (at
// most MaxChatPage; a caller reads on from the last offset it got).
func (s *Service) Chat(ctx context.Context, viewerID, id string, from, to time.Duration) ([]ChatLine, error) {
	if from < 0 || to <= from {
		return nil, problem.Invalid("InvalidRange", "from", "from and to are offsets in milliseconds, 0 <= from < to.")
	}
	if _, err := s.Playable(ctx, viewerID, id); err != nil {
		return nil, err
	}
	return s.store.ChatLines(ctx, id, from, to, MaxChatPage)
}

// SetChannelRecording turns a channel's recording on or off from its next session.
func (s *Service) SetChannelRecording(ctx context.Context, channelID string, on bool) error {
	return s.store.SetRecordingEnabled(ctx, channelID, on)
}

// ChannelRecording reports a channel's own switch.
func (s *Service) ChannelRecording(ctx context.Context, channelID string) (bool, error) {
	return s.store.RecordingEnabled(ctx, channelID)
}
