package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/livehouse/livehouse/internal/streams"
)

// ChannelByStreamKeyHash finds the channel whose stream key has this hash.
func (s *DB) ChannelByStreamKeyHash(ctx context.Context, hash string) (*streams.Channel, error) {
	var ch streams.Channel
	err := s.db.QueryRowContext(ctx, s.q(`SELECT c.id, c.user_id, c.type, u.suspended_at IS NOT NULL, u.email_verified_at IS NULL
		FROM stream_keys k JOIN channels c ON c.id = k.channel_id JOIN users u ON u.id = c.user_id WHERE k.key_hash = ?`), hash).
		Scan(&ch.ID, &ch.UserID, &ch.Type, &ch.Suspended, &ch.Unverified)
	if isNoRows(err) {
		return nil, streams.ErrUnknownKey
	}
	return &ch, err
}

// AddStreamEvent appends an event to a session.
func (s *DB) AddStreamEvent(ctx context.Context, e *streams.Event) error {
	// A session's events come from its own goroutine and from its recorder, which writes
	// Recording Start/End on its own. Under PostgreSQL's read committed two writers read the
	// same MAX(seq) and the second insert violated the key; taking the session's row lock
	// first makes them take turns, so each reads the other's number.
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE stream_sessions SET id = id WHERE id = ?`), e.SessionID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO stream_events (session_id, seq, at, name, type, detail)
			VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM stream_events WHERE session_id = ?), ?, ?, ?, ?)`),
			e.SessionID, e.SessionID, ms(e.At), e.Name, e.Type, e.Detail); err != nil {
			return err
		}
		// Keep the most recent streams.MaxEvents.
		_, err := tx.ExecContext(ctx, s.q(`DELETE FROM stream_events WHERE session_id = ?
			AND seq <= (SELECT MAX(seq) FROM stream_events WHERE session_id = ?) - ?`), e.SessionID, e.SessionID, streams.MaxEvents)
		return err
	})
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

// EndOrphanedStreamSessions closes the sessions a node left open, each at its last sign of
// life (see lastSignOfLife), and returns them by session id, with their channel and end.
func (s *DB) EndOrphanedStreamSessions(ctx context.Context, node string, at time.Time) (map[string]streams.EndedSession, error) {
	return s.endOpenSessions(ctx, at, `SELECT id, channel_id FROM stream_sessions WHERE node = ? AND ended_at IS NULL`, []any{node}, "")
}

// staleLease is true of a session row whose node holds no lease valid at the time given as
// its one parameter.
const staleLease = `NOT EXISTS (SELECT 1 FROM node_leases n WHERE n.node = stream_sessions.node AND n.expires_at >= ?)`

// EndStaleStreamSessions closes the open sessions whose node's lease had expired at the
// given time, or that name a node with no lease: of one channel, or of all when channelID
// is empty, each at its last sign of life. It returns those it closed by session id, with
// their channel and end; a session another node closed meanwhile is not among them, so each
// one's end is reported once.
func (s *DB) EndStaleStreamSessions(ctx context.Context, channelID string, at time.Time) (map[string]streams.EndedSession, error) {
	query, args := `SELECT id, channel_id FROM stream_sessions WHERE ended_at IS NULL AND `+staleLease, []any{ms(at)}
	if channelID != "" {
		query, args = query+` AND channel_id = ?`, append(args, channelID)
	}
	return s.endOpenSessions(ctx, at, query, args, ` AND `+staleLease)
}

// endOpenSessions ends the sessions the query selects (id, channel_id) that still match cond
// when they are updated, each at its last sign of life; cond takes the time as its one
// parameter.
func (s *DB) endOpenSessions(ctx context.Context, at time.Time, query string, args []any, cond string) (map[string]streams.EndedSession, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	found := map[string]string{}
	for rows.Next() {
		var id, channelID string
		if err := rows.Scan(&id, &channelID); err != nil {
			rows.Close()
			return nil, err
		}
		found[id] = channelID
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	ended := map[string]streams.EndedSession{}
	for id, channelID := range found {
		end, err := s.lastSignOfLife(ctx, id, at)
		if err != nil {
			return ended, err
		}
		var condArgs []any
		if cond != "" {
			condArgs = append(condArgs, ms(at))
		}
		closed, err := s.endStreamSession(ctx, id, end, cond, condArgs...)
		if err != nil {
			return ended, err
		}
		if closed {
			ended[id] = streams.EndedSession{ChannelID: channelID, EndedAt: fromMS(ms(end))} // as stored
		}
	}
	return ended, nil
}

// lastSignOfLife is when a session left open was last known to be alive, never after at:
// the latest of its creation and start, its last event, the last point of its metrics and
// the last renewal of its node's lease. A session ended on recovery or by another node ends
// there, not when its end was noticed.
func (s *DB) lastSignOfLife(ctx context.Context, id string, at time.Time) (time.Time, error) {
	var last int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT MAX(t) FROM (
		SELECT created_at AS t FROM stream_sessions WHERE id = ?
		UNION ALL SELECT started_at FROM stream_sessions WHERE id = ? AND started_at IS NOT NULL
		UNION ALL SELECT MAX(at) FROM stream_events WHERE session_id = ?
		UNION ALL SELECT n.renewed_at FROM node_leases n JOIN stream_sessions ss ON ss.node = n.node WHERE ss.id = ?
	) signs`), id, id, id, id).Scan(&last)
	if err != nil {
		return at, err
	}
	end := fromMS(last)
	var minute int64
	var points []byte
	err = s.db.QueryRowContext(ctx, s.q(`SELECT minute, points FROM stream_metrics WHERE session_id = ? ORDER BY minute DESC LIMIT 1`), id).
		Scan(&minute, &points)
	switch {
	case isNoRows(err):
	case err != nil:
		return at, err
	default:
		if ps, err := streams.DecodeMinute(minute, points); err == nil && len(ps) > 0 && ps[len(ps)-1].At.After(end) {
			end = ps[len(ps)-1].At
		}
	}
	if end.After(at) {
		end = at
	}
	return end, nil
}

// HasOpenStreamSession reports whether the channel has an open session, on any node.
func (s *DB) HasOpenStreamSession(ctx context.Context, channelID string) (bool, error) {
	return s.exists(ctx, `SELECT 1 FROM stream_sessions WHERE channel_id = ? AND ended_at IS NULL`, channelID)
}

// RenewNodeLease records that node is alive until expires.
func (s *DB) RenewNodeLease(ctx context.Context, node string, at, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO node_leases (node, renewed_at, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (node) DO UPDATE SET renewed_at = excluded.renewed_at, expires_at = excluded.expires_at`), node, ms(at), ms(expires))
	return err
}

// SetNodeURL records, on node's lease, the base URL other nodes reach it at. Renewals keep it.
func (s *DB) SetNodeURL(ctx context.Context, node, url string) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE node_leases SET url = ? WHERE node = ?`), url, node)
	return err
}

// LiveOrigin returns the channel's open session with its node and that node's URL, provided
// the node's lease is valid at the given time; ok is false when there is none.
func (s *DB) LiveOrigin(ctx context.Context, channelID string, at time.Time) (o streams.Origin, ok bool, err error) {
	err = s.db.QueryRowContext(ctx, s.q(`SELECT s.id, s.node, n.url FROM stream_sessions s JOIN node_leases n ON n.node = s.node
		WHERE s.channel_id = ? AND s.ended_at IS NULL AND n.expires_at >= ?`), channelID, ms(at)).Scan(&o.SessionID, &o.Node, &o.URL)
	if errors.Is(err, sql.ErrNoRows) {
		return streams.Origin{}, false, nil
	}
	if err != nil {
		return streams.Origin{}, false, fmt.Errorf("finding the origin of channel %s: %w", channelID, err)
	}
	return o, true, nil
}

// DropNodeLease removes a node's lease, when it stops cleanly.
func (s *DB) DropNodeLease(ctx context.Context, node string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM node_leases WHERE node = ?`), node)
	return err
}

// NodeStreamSessions returns the node's open sessions, session id to whether the channel's
// owner is suspended.
func (s *DB) NodeStreamSessions(ctx context.Context, node string) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT s.id, u.suspended_at IS NOT NULL FROM stream_sessions s
		JOIN channels c ON c.id = s.channel_id JOIN users u ON u.id = c.user_id
		WHERE s.node = ? AND s.ended_at IS NULL`), node)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		var suspended bool
		if err := rows.Scan(&id, &suspended); err != nil {
			return nil, err
		}
		out[id] = suspended
	}
	return out, rows.Err()
}
