package sqlstore

import (
	"context"
	"encoding/json"
	"time"
)

// SaveActionConfig stores (or replaces) one of a user's saved stream-action configurations.
func (s *DB) SaveActionConfig(ctx context.Context, userID, name string, data json.RawMessage, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO stream_action_configs (user_id, name, data, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, name) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`), userID, name, string(data), ms(at))
	return err
}

// ActionConfigs returns a user's saved stream-action configurations by action name.
func (s *DB) ActionConfigs(ctx context.Context, userID string) (map[string]json.RawMessage, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT name, data FROM stream_action_configs WHERE user_id = ?`), userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]json.RawMessage{}
	for rows.Next() {
		var name, data string
		if err := rows.Scan(&name, &data); err != nil {
			return nil, err
		}
		out[name] = json.RawMessage(data)
	}
	return out, rows.Err()
}
