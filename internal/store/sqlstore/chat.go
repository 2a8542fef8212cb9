package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/livehouse/livehouse/internal/chat"
)

// CreateChatToken stores a token's grant until it is used or expires.
func (s *DB) CreateChatToken(ctx context.Context, hash, grant string, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO chat_tokens (token_hash, grant_json, expires_at) VALUES (?, ?, ?)`), hash, grant, ms(expires))
	return err
}

// TakeChatToken deletes a token and returns its grant if it was there and unexpired.
func (s *DB) TakeChatToken(ctx context.Context, hash string, now time.Time) (string, error) {
	var grant string
	var expires int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, s.q(`SELECT grant_json, expires_at FROM chat_tokens WHERE token_hash = ?`), hash).Scan(&grant, &expires); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM chat_tokens WHERE token_hash = ?`), hash)
		if err != nil {
			return err
		}
		return oneRow(res, chat.ErrInvalidToken)
	})
	if isNoRows(err) || err == chat.ErrInvalidToken || (err == nil && !now.Before(fromMS(expires))) {
		_, _ = s.db.ExecContext(ctx, s.q(`DELETE FROM chat_tokens WHERE expires_at <= ?`), ms(now))
		return "", chat.ErrInvalidToken
	}
	return grant, err
}

// PurgeChatTokens deletes every token expired at now, taken or not, and counts them: tokens
// that are issued and never used would otherwise stay for good.
func (s *DB) PurgeChatTokens(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM chat_tokens WHERE expires_at <= ?`), ms(now))
	if err != nil {
		return 0, fmt.Errorf("purging chat tokens: %w", err)
	}
	return res.RowsAffected()
}
