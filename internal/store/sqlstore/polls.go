package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/livehouse/livehouse/internal/chat"
	"github.com/livehouse/livehouse/internal/polls"
)

// LiveStreamSession is the id of the channel's live stream session, "" when it is not live.
func (s *DB) LiveStreamSession(ctx context.Context, channelID string) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id FROM stream_sessions WHERE channel_id = ? AND ended_at IS NULL AND started_at IS NOT NULL
		ORDER BY started_at DESC LIMIT 1`), channelID).Scan(&id)
	if isNoRows(err) {
		return "", nil
	}
	return id, err
}

// CreatePoll stores a new poll and its options; polls.ErrOpenPoll if the channel has one open.
func (s *DB) CreatePoll(ctx context.Context, p *polls.Poll) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO polls (id, channel_id, session_id, question, started_at, ends_at) VALUES (?, ?, ?, ?, ?, ?)`),
			p.ID, p.ChannelID, p.SessionID, p.Question, ms(p.StartedAt), ms(p.EndsAt)); err != nil {
			return err
		}
		for i, o := range p.Options {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO poll_options (poll_id, idx, label) VALUES (?, ?, ?)`), p.ID, i, o.Label); err != nil {
				return err
			}
		}
		return nil
	})
	if detail, ok := s.d.UniqueViolation(err); ok && (strings.Contains(detail, "polls_one_open") || strings.Contains(detail, "polls.channel_id")) {
		return polls.ErrOpenPoll
	}
	return err
}

const pollColumns = `id, channel_id, session_id, question, started_at, ends_at, closed_at, votes`

func (s *DB) readPolls(ctx context.Context, query string, args ...any) ([]*polls.Poll, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	var list []*polls.Poll
	for rows.Next() {
		var p polls.Poll
		var started, ends int64
		var closed sql.NullInt64
		if err := rows.Scan(&p.ID, &p.ChannelID, &p.SessionID, &p.Question, &started, &ends, &closed, &p.Votes); err != nil {
			rows.Close()
			return nil, err
		}
		p.StartedAt, p.EndsAt, p.ClosedAt = fromMS(started), fromMS(ends), fromNullMS(closed)
		list = append(list, &p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, p := range list {
		if err := s.pollOptions(ctx, p); err != nil {
			return nil, err
		}
	}
	return list, nil
}

func (s *DB) pollOptions(ctx context.Context, p *polls.Poll) error {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT label, votes FROM poll_options WHERE poll_id = ? ORDER BY idx`), p.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	p.Options = []polls.Option{}
	for rows.Next() {
		var o polls.Option
		if err := rows.Scan(&o.Label, &o.Votes); err != nil {
			return err
		}
		p.Options = append(p.Options, o)
	}
	return rows.Err()
}

func (s *DB) onePoll(ctx context.Context, query string, args ...any) (*polls.Poll, error) {
	list, err := s.readPolls(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, polls.ErrNotFound
	}
	return list[0], nil
}

// LatestPoll is the channel's most recent poll.
func (s *DB) LatestPoll(ctx context.Context, channelID string) (*polls.Poll, error) {
	return s.onePoll(ctx, `SELECT `+pollColumns+` FROM polls WHERE channel_id = ? ORDER BY started_at DESC, id DESC LIMIT 1`, channelID)
}

// PollByID reads a poll and its tally.
func (s *DB) PollByID(ctx context.Context, id string) (*polls.Poll, error) {
	return s.onePoll(ctx, `SELECT `+pollColumns+` FROM polls WHERE id = ?`, id)
}

// SessionPolls lists a stream session's polls, oldest first.
func (s *DB) SessionPolls(ctx context.Context, channelID, sessionID string) ([]*polls.Poll, error) {
	return s.readPolls(ctx, `SELECT `+pollColumns+` FROM polls WHERE channel_id = ? AND session_id = ? ORDER BY started_at, id`, channelID, sessionID)
}

// Vote records a vote. The poll's row is updated first: its lock orders the vote against a
// concurrent close, so a vote either lands before the close (and in the result the closer
// reads) or is refused.
func (s *DB) Vote(ctx context.Context, pollID, userID string, option int, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE polls SET votes = votes + 1 WHERE id = ? AND closed_at IS NULL AND ends_at > ?`), pollID, ms(at))
		if err != nil {
			return err
		}
		if err := oneRow(res, polls.ErrClosed); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO poll_votes (poll_id, user_id, option_idx, created_at) VALUES (?, ?, ?, ?)`), pollID, userID, option, ms(at))
		if _, ok := s.d.UniqueViolation(err); ok {
			return polls.ErrAlreadyVoted
		}
		if err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, s.q(`UPDATE poll_options SET votes = votes + 1 WHERE poll_id = ? AND idx = ?`), pollID, option)
		if err != nil {
			return err
		}
		return oneRow(res, fmt.Errorf("poll %s has no option %d", pollID, option))
	})
}

// VoteOf is the option a user voted for, -1 if none.
func (s *DB) VoteOf(ctx context.Context, pollID, userID string) (int, error) {
	var o int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT option_idx FROM poll_votes WHERE poll_id = ? AND user_id = ?`), pollID, userID).Scan(&o)
	if isNoRows(err) {
		return -1, nil
	}
	return o, err
}

// ClosePoll closes an open poll, reporting whether this call did.
func (s *DB) ClosePoll(ctx context.Context, pollID string, at time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE polls SET closed_at = ? WHERE id = ? AND closed_at IS NULL`), ms(at), pollID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// CloseExpiredPolls closes the open polls whose end is not after now, each at its end. Each
// is closed by its own conditional update, so of two nodes sweeping at once only one
// reports it.
func (s *DB) CloseExpiredPolls(ctx context.Context, now time.Time) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, ends_at FROM polls WHERE closed_at IS NULL AND ends_at <= ?`), ms(now))
	if err != nil {
		return nil, err
	}
	type due struct {
		id   string
		ends int64
	}
	var list []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.id, &d.ends); err != nil {
			rows.Close()
			return nil, err
		}
		list = append(list, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var closed []string
	for _, d := range list {
		ok, err := s.ClosePoll(ctx, d.id, fromMS(d.ends))
		if err != nil {
			return closed, err
		}
		if ok {
			closed = append(closed, d.id)
		}
	}
	return closed, nil
}

// ChatSettings reads a room's chat controls (the room's id is its channel's); none set is
// the zero Settings.
func (s *DB) ChatSettings(ctx context.Context, roomID string) (chat.Settings, error) {
	var st chat.Settings
	var followers int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT followers_only, followers_minutes, slow_seconds FROM chat_settings WHERE channel_id = ?`), roomID).
		Scan(&followers, &st.FollowersMinutes, &st.SlowSeconds)
	if isNoRows(err) {
		return chat.Settings{}, nil
	}
	st.FollowersOnly = followers != 0
	return st, err
}

// PutChatSettings stores a room's chat controls.
func (s *DB) PutChatSettings(ctx context.Context, roomID string, st chat.Settings, at time.Time) error {
	followers := 0
	if st.FollowersOnly {
		followers = 1
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO chat_settings (channel_id, followers_only, followers_minutes, slow_seconds, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (channel_id) DO UPDATE SET followers_only = excluded.followers_only, followers_minutes = excluded.followers_minutes,
		slow_seconds = excluded.slow_seconds, updated_at = excluded.updated_at`), roomID, followers, st.FollowersMinutes, st.SlowSeconds, ms(at))
	return err
}

// FollowedSince is when a user started following a channel, nil if they do not.
func (s *DB) FollowedSince(ctx context.Context, channelID, userID string) (*time.Time, error) {
	var at int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT created_at FROM follows WHERE follower_id = ? AND channel_id = ?`), userID, channelID).Scan(&at)
	if isNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	t := fromMS(at)
	return &t, nil
}
