package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/livehouse/livehouse/internal/streams"
)

// PutStreamMetrics writes (or rewrites) one minute of a session's points.
func (s *DB) PutStreamMetrics(ctx context.Context, sessionID string, minute int64, points []byte) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO stream_metrics (session_id, minute, points) VALUES (?, ?, ?)
		ON CONFLICT (session_id, minute) DO UPDATE SET points = excluded.points`), sessionID, minute, points)
	return err
}

// StreamMetrics returns a session's stored minutes in [fromMinute, toMinute], in order.
func (s *DB) StreamMetrics(ctx context.Context, sessionID string, fromMinute, toMinute int64) ([]streams.MetricsMinute, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT minute, points FROM stream_metrics
		WHERE session_id = ? AND minute >= ? AND minute <= ? ORDER BY minute`), sessionID, fromMinute, toMinute)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []streams.MetricsMinute
	for rows.Next() {
		var m streams.MetricsMinute
		if err := rows.Scan(&m.Minute, &m.Points); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// sessionSelect reads a session with its owner and its flags: whether an error event (a
// limit breach or a failure) happened, and the latest health event.
const sessionSelect = `SELECT s.id, s.channel_id, c.user_id, c.type, s.created_at, s.started_at, s.ended_at,
	CASE WHEN EXISTS (SELECT 1 FROM stream_events e WHERE e.session_id = s.id
		AND (e.type = 'IVS Limit Breach' OR e.name IN ('Stream Failure', 'Recording Start Failure', 'Recording End Failure'))) THEN 1 ELSE 0 END,
	COALESCE((SELECT e.name FROM stream_events e WHERE e.session_id = s.id AND e.type = 'IVS Stream Health Change'
		ORDER BY e.seq DESC LIMIT 1), ''),
	s.ingest_config, s.title, s.category
	FROM stream_sessions s JOIN channels c ON c.id = s.channel_id`

func scanSession(row interface{ Scan(...any) error }) (*streams.SessionInfo, error) {
	var si streams.SessionInfo
	var created int64
	var started, ended sql.NullInt64
	var hasError int
	if err := row.Scan(&si.ID, &si.ChannelID, &si.UserID, &si.ChannelType, &created, &started, &ended, &hasError, &si.LastHealth, &si.IngestConfig, &si.Title, &si.Category); err != nil {
		return nil, err
	}
	si.CreatedAt, si.StartedAt, si.EndedAt, si.HasError = fromMS(created), fromNullMS(started), fromNullMS(ended), hasError == 1
	return &si, nil
}

// StreamSession returns one session.
func (s *DB) StreamSession(ctx context.Context, id string) (*streams.SessionInfo, error) {
	si, err := scanSession(s.db.QueryRowContext(ctx, s.q(sessionSelect+` WHERE s.id = ?`), id))
	if isNoRows(err) {
		return nil, streams.ErrSessionNotFound
	}
	return si, err
}

// StreamSessions lists the sessions of a user's channel, newest first, after the cursor.
func (s *DB) StreamSessions(ctx context.Context, userID string, after *streams.SessionCursor, limit int) ([]streams.SessionInfo, error) {
	query, args := sessionSelect+` WHERE c.user_id = ?`, []any{userID}
	if after != nil {
		query += ` AND (s.created_at < ? OR (s.created_at = ? AND s.id < ?))`
		args = append(args, ms(after.CreatedAt), ms(after.CreatedAt), after.ID)
	}
	query += ` ORDER BY s.created_at DESC, s.id DESC LIMIT ?`
	rows, err := s.db.QueryContext(ctx, s.q(query), append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []streams.SessionInfo{}
	for rows.Next() {
		si, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *si)
	}
	return out, rows.Err()
}

// DeleteStreamSessions deletes the sessions that ended before the time; their events and
// metrics go with them.
func (s *DB) DeleteStreamSessions(ctx context.Context, endedBefore time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM stream_sessions WHERE ended_at IS NOT NULL AND ended_at < ?`), ms(endedBefore))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
