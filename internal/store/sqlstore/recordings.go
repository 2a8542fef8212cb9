package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/livehouse/livehouse/internal/recordings"
)

const recordingColumns = `id, channel_id, user_id, title, prefix, status, started_at, ended_at, duration_ms, bytes, segments, dropped, hidden, poster`

func scanRecording(sc interface{ Scan(...any) error }) (*recordings.Recording, error) {
	var r recordings.Recording
	var started, durMS int64
	var ended sql.NullInt64
	var hidden, poster int
	if err := sc.Scan(&r.ID, &r.ChannelID, &r.UserID, &r.Title, &r.Prefix, &r.Status, &started, &ended, &durMS, &r.Bytes, &r.Segments, &r.Dropped, &hidden, &poster); err != nil {
		return nil, err
	}
	r.StartedAt = fromMS(started)
	if ended.Valid {
		r.EndedAt = fromMS(ended.Int64)
	}
	r.Duration = time.Duration(durMS) * time.Millisecond
	r.Hidden, r.Poster = hidden != 0, poster != 0
	return &r, nil
}

func (s *DB) recordings(ctx context.Context, query string, args ...any) ([]*recordings.Recording, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*recordings.Recording
	for rows.Next() {
		r, err := scanRecording(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CreateRecording records a recording that has begun. Without a title of its own it takes
// its stream session's (the channel's title when the session went live).
func (s *DB) CreateRecording(ctx context.Context, r *recordings.Recording) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO recordings (id, channel_id, user_id, title, prefix, status, started_at)
		VALUES (?, ?, ?, COALESCE(NULLIF(?, ''), (SELECT title FROM stream_sessions WHERE id = ?), ''), ?, ?, ?)`),
		r.ID, r.ChannelID, r.UserID, r.Title, r.ID, r.Prefix, r.Status, ms(r.StartedAt))
	return err
}

// FinishRecording marks a recording complete.
func (s *DB) FinishRecording(ctx context.Context, id string, endedAt time.Time, p recordings.Progress) error {
	poster := 0
	if p.Poster {
		poster = 1
	}
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE recordings SET status = ?, ended_at = ?, duration_ms = ?, bytes = ?, segments = ?, dropped = ?, poster = ? WHERE id = ?`),
		recordings.StatusComplete, ms(endedAt), p.Duration.Milliseconds(), p.Bytes, p.Segments, p.Dropped, poster, id)
	return err
}

// Recording returns one recording.
func (s *DB) Recording(ctx context.Context, id string) (*recordings.Recording, error) {
	r, err := scanRecording(s.db.QueryRowContext(ctx, s.q(`SELECT `+recordingColumns+` FROM recordings WHERE id = ?`), id))
	if isNoRows(err) {
		return nil, recordings.ErrNotFound
	}
	return r, err
}

// ChannelRecordings lists a channel's complete recordings, newest first.
func (s *DB) ChannelRecordings(ctx context.Context, channelID string, withHidden bool, limit int) ([]*recordings.Recording, error) {
	hidden := 0
	if withHidden {
		hidden = 1
	}
	return s.recordings(ctx, `SELECT `+recordingColumns+` FROM recordings WHERE channel_id = ? AND status = ? AND hidden <= ?
		ORDER BY started_at DESC, id DESC LIMIT ?`, channelID, recordings.StatusComplete, hidden, limit)
}

// UpdateRecording sets a recording's title and visibility.
func (s *DB) UpdateRecording(ctx context.Context, id, title string, hidden bool) error {
	h := 0
	if hidden {
		h = 1
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE recordings SET title = ?, hidden = ? WHERE id = ?`), title, h, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return recordings.ErrNotFound
	}
	return nil
}

// DeleteRecording removes a recording's record and its chat.
func (s *DB) DeleteRecording(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM chat_replay WHERE recording_id = ?`), id); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM recordings WHERE id = ?`), id)
	return err
}

// AddChatLine keeps a chat line with a recording; a line already kept stays as it is.
func (s *DB) AddChatLine(ctx context.Context, recordingID string, l recordings.ChatLine) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO chat_replay (recording_id, message_id, offset_ms, sender_id, sender, content)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (recording_id, message_id) DO NOTHING`),
		recordingID, l.MessageID, l.Offset.Milliseconds(), l.SenderID, l.Sender, l.Content)
	return err
}

// DeleteChatLines removes a recording's line messageID, or every line of senderID.
func (s *DB) DeleteChatLines(ctx context.Context, recordingID, messageID, senderID string) error {
	if messageID != "" {
		_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM chat_replay WHERE recording_id = ? AND message_id = ?`), recordingID, messageID)
		return err
	}
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM chat_replay WHERE recording_id = ? AND sender_id = ?`), recordingID, senderID)
	return err
}

// ChatLines lists a recording's chat lines with from <= offset < to, in offset order.
func (s *DB) ChatLines(ctx context.Context, recordingID string, from, to time.Duration, limit int) ([]recordings.ChatLine, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT message_id, offset_ms, sender_id, sender, content FROM chat_replay
		WHERE recording_id = ? AND offset_ms >= ? AND offset_ms < ? ORDER BY offset_ms, message_id LIMIT ?`),
		recordingID, from.Milliseconds(), to.Milliseconds(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []recordings.ChatLine
	for rows.Next() {
		var l recordings.ChatLine
		var off int64
		if err := rows.Scan(&l.MessageID, &off, &l.SenderID, &l.Sender, &l.Content); err != nil {
			return nil, err
		}
		l.Offset = time.Duration(off) * time.Millisecond
		out = append(out, l)
	}
	return out, rows.Err()
}

// UnfinishedRecordings lists recordings still marked recording whose session has ended or
// is gone, but those of sessions run by another node that holds a lease valid at the time
// (its recorder finishes them).
func (s *DB) UnfinishedRecordings(ctx context.Context, node string, at time.Time, limit int) ([]*recordings.Recording, error) {
	return s.recordings(ctx, `SELECT `+recordingColumns+` FROM recordings r WHERE r.status = ?
		AND NOT EXISTS (SELECT 1 FROM stream_sessions ss WHERE ss.id = r.id AND (ss.ended_at IS NULL
			OR (ss.node <> ? AND EXISTS (SELECT 1 FROM node_leases n WHERE n.node = ss.node AND n.expires_at >= ?))))
		ORDER BY started_at LIMIT ?`,
		recordings.StatusRecording, node, ms(at), limit)
}

// ExpiredRecordings lists complete recordings that ended before a time.
func (s *DB) ExpiredRecordings(ctx context.Context, before time.Time, limit int) ([]*recordings.Recording, error) {
	return s.recordings(ctx, `SELECT `+recordingColumns+` FROM recordings WHERE status = ? AND ended_at < ? ORDER BY ended_at LIMIT ?`,
		recordings.StatusComplete, ms(before), limit)
}

// UserRecordings lists a user's recordings.
func (s *DB) UserRecordings(ctx context.Context, userID string, limit int) ([]*recordings.Recording, error) {
	return s.recordings(ctx, `SELECT `+recordingColumns+` FROM recordings WHERE user_id = ? ORDER BY started_at LIMIT ?`, userID, limit)
}

// UserRecordingBytes sums the sizes of a user's complete recordings.
func (s *DB) UserRecordingBytes(ctx context.Context, userID string) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COALESCE(SUM(bytes), 0) FROM recordings WHERE user_id = ?`), userID).Scan(&n)
	return n, err
}

// RecordingEnabled reports a channel's own recording switch.
func (s *DB) RecordingEnabled(ctx context.Context, channelID string) (bool, error) {
	var off int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT recording_off FROM channels WHERE id = ?`), channelID).Scan(&off)
	if isNoRows(err) {
		return false, recordings.ErrNotFound
	}
	return off == 0, err
}

// SetRecordingEnabled sets a channel's own recording switch.
func (s *DB) SetRecordingEnabled(ctx context.Context, channelID string, on bool) error {
	off := 1
	if on {
		off = 0
	}
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE channels SET recording_off = ? WHERE id = ?`), off, channelID)
	return err
}
