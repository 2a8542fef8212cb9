package sqlstore

import (
	"context"
	"time"

	"github.com/livehouse/livehouse/internal/streams"
)

// ChannelByStreamKeyHash finds the channel whose stream key has this hash.
func (s *DB) ChannelByStreamKeyHash(ctx context.Context, hash string) (*streams.Channel, error) {
	var ch streams.Channel
	err := s.db.QueryRowContext(ctx, s.q(`SELECT c.id, c.user_id, c.type FROM stream_keys k JOIN channels c ON c.id = k.channel_id WHERE k.key_hash = ?`), hash).
		Scan(&ch.ID, &ch.UserID, &ch.Type)
	if isNoRows(err) {
		return nil, streams.ErrUnknownKey
	}
	return &ch, err
}

// AddStreamEvent appends an event to a session.
func (s *DB) AddStreamEvent(ctx context.Context, e *streams.Event) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO stream_events (session_id, seq, at, name, type, detail)
		VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM stream_events WHERE session_id = ?), ?, ?, ?, ?)`),
		e.SessionID, e.SessionID, ms(e.At), e.Name, e.Type, e.Detail)
	if err != nil {
		return err
	}
	// Keep the most recent streams.MaxEvents.
	_, err = s.db.ExecContext(ctx, s.q(`DELETE FROM stream_events WHERE session_id = ?
		AND seq <= (SELECT MAX(seq) FROM stream_events WHERE session_id = ?) - ?`), e.SessionID, e.SessionID, streams.MaxEvents)
	return err
}

// StreamEvents lists a session's events in order.
func (s *DB) StreamEvents(ctx context.Context, sessionID string) ([]streams.Event, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT session_id, at, name, type, detail FROM stream_events WHERE session_id = ? ORDER BY seq`), sessionID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []streams.Event
	for rows.Next() {
		var e streams.Event
		var at int64
		if err := rows.Scan(&e.SessionID, &at, &e.Name, &e.Type, &e.Detail); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// SetIngestConfig stores the encoder's declared configuration of a session.
func (s *DB) SetIngestConfig(ctx context.Context, sessionID, config string) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE stream_sessions SET ingest_config = ? WHERE id = ?`), config, sessionID)
	return err
}

// ClaimStreamSession records which node runs a session.
func (s *DB) ClaimStreamSession(ctx context.Context, id, node string) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE stream_sessions SET node = ? WHERE id = ?`), node, id)
	return err
}

// EndOrphanedStreamSessions closes the sessions a node left open and returns them, session
// id to channel id.
func (s *DB) EndOrphanedStreamSessions(ctx context.Context, node string, at time.Time) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, channel_id FROM stream_sessions WHERE node = ? AND ended_at IS NULL`), node)
	if err != nil {
		return nil, err
	}
	open := map[string]string{}
	for rows.Next() {
		var id, channelID string
		if err := rows.Scan(&id, &channelID); err != nil {
			rows.Close()
			return nil, err
		}
		open[id] = channelID
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for id := range open {
		if err := s.EndStreamSession(ctx, id, at); err != nil {
			return nil, err
		}
	}
	return open, nil
}
