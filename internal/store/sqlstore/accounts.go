package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/channels"
)

const userColumns = `id, username, email, pending_email, password_hash, email_verified_at, color, avatar, created_at, updated_at, suspended_at, suspended_reason`

func scanUser(row interface{ Scan(...any) error }) (*accounts.User, error) {
	var u accounts.User
	var verified, suspended sql.NullInt64
	var created, updated int64
	if err := row.Scan(&u.ID, &u.Username, &u.Email, &u.PendingEmail, &u.PasswordHash, &verified, &u.Color, &u.Avatar, &created, &updated, &suspended, &u.SuspendedReason); err != nil {
		return nil, err
	}
	u.EmailVerifiedAt, u.SuspendedAt = fromNullMS(verified), fromNullMS(suspended)
	u.CreatedAt, u.UpdatedAt = fromMS(created), fromMS(updated)
	return &u, nil
}

// taken translates a unique violation on users into the accounts error it means.
func (s *DB) taken(err error) error {
	if detail, ok := s.d.UniqueViolation(err); ok {
		switch {
		case strings.Contains(detail, "username_key"):
			return accounts.ErrUsernameTaken
		case strings.Contains(detail, "email_key"):
			return accounts.ErrEmailTaken
		}
	}
	return err
}

// CreateAccount saves the user, channel, stream key and chat room in one transaction.
func (s *DB) CreateAccount(ctx context.Context, u *accounts.User, ch *channels.Channel) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO users (`+userColumns+`, username_key, email_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			u.ID, u.Username, u.Email, u.PendingEmail, u.PasswordHash, nullMS(u.EmailVerifiedAt), u.Color, u.Avatar, ms(u.CreatedAt), ms(u.UpdatedAt),
			nullMS(u.SuspendedAt), u.SuspendedReason,
			strings.ToLower(u.Username), strings.ToLower(u.Email))
		if err != nil {
			return s.taken(err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO channels (id, user_id, type, created_at) VALUES (?, ?, ?, ?)`), ch.ID, u.ID, ch.Type, ms(ch.CreatedAt)); err != nil {
			return fmt.Errorf("inserting channel: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO channel_terms (term, channel_id, kind) VALUES (?, ?, 'u')`), strings.ToLower(u.Username), ch.ID); err != nil {
			return fmt.Errorf("inserting search term: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO stream_keys (channel_id, key_hash, key_sealed, created_at) VALUES (?, ?, ?, ?)`), ch.ID, ch.StreamKeyHash, ch.StreamKeySealed, ms(ch.CreatedAt)); err != nil {
			return fmt.Errorf("inserting stream key: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO chat_rooms (id, channel_id, created_at) VALUES (?, ?, ?)`), ch.ChatRoomID, ch.ID, ms(ch.CreatedAt)); err != nil {
			return fmt.Errorf("inserting chat room: %w", err)
		}
		return nil
	})
}

func (s *DB) userWhere(ctx context.Context, where string, args ...any) (*accounts.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, s.q(`SELECT `+userColumns+` FROM users WHERE `+where), args...))
	if isNoRows(err) {
		return nil, accounts.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading user: %w", err)
	}
	return u, nil
}

// UserByID returns a user by id.
func (s *DB) UserByID(ctx context.Context, id string) (*accounts.User, error) {
	return s.userWhere(ctx, `id = ?`, id)
}

// UserByLogin finds a user by username or email, ignoring case. A name cannot contain "@"
// and an email must, so at most one account matches.
func (s *DB) UserByLogin(ctx context.Context, login string) (*accounts.User, error) {
	if strings.Contains(login, "@") {
		return s.userWhere(ctx, `email_key = ?`, strings.ToLower(login))
	}
	return s.userWhere(ctx, `username_key = ?`, strings.ToLower(login))
}

// EmailInUse reports whether another account has the address as its email.
func (s *DB) EmailInUse(ctx context.Context, email, exceptUserID string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM users WHERE email_key = ? AND id <> ?`), strings.ToLower(email), exceptUserID).Scan(&n)
	return n > 0, err
}

// UpdateUser writes the fields the change names and nothing else, so that changes racing
// each other (a password change and an email change, each read before a slow hash) both
// survive. A guard that does not hold affects no row and answers ErrNotFound, as an unknown
// id does.
func (s *DB) UpdateUser(ctx context.Context, id string, c accounts.UserChange) error {
	var set []string
	var args []any
	col := func(clause string, vals ...any) {
		set = append(set, clause)
		args = append(args, vals...)
	}
	if c.Username != nil {
		col(`username = ?, username_key = ?`, *c.Username, strings.ToLower(*c.Username))
	}
	if c.Email != nil {
		col(`email = ?, email_key = ?`, *c.Email, strings.ToLower(*c.Email))
	}
	if c.PendingEmail != nil {
		col(`pending_email = ?`, *c.PendingEmail)
	}
	if c.PasswordHash != nil {
		col(`password_hash = ?`, *c.PasswordHash)
	}
	if c.VerifiedAt != nil {
		col(`email_verified_at = COALESCE(email_verified_at, ?)`, ms(*c.VerifiedAt))
	}
	col(`updated_at = ?`, ms(c.UpdatedAt))
	where := `id = ?`
	args = append(args, id)
	if c.IfPendingEmail != nil {
		where += ` AND pending_email = ?`
		args = append(args, *c.IfPendingEmail)
	}
	if c.Username == nil {
		res, err := s.db.ExecContext(ctx, s.q(`UPDATE users SET `+strings.Join(set, ", ")+` WHERE `+where), args...)
		if err != nil {
			return s.taken(err)
		}
		return oneRow(res, accounts.ErrNotFound)
	}
	// A new username is also the channel's search term for it.
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE users SET `+strings.Join(set, ", ")+` WHERE `+where), args...)
		if err != nil {
			return s.taken(err)
		}
		if err := oneRow(res, accounts.ErrNotFound); err != nil {
			return err
		}
		if err := s.lockChannels(ctx, tx, channelsOfUser, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE channel_terms SET term = ? WHERE kind = 'u' AND channel_id IN (SELECT id FROM channels WHERE user_id = ?)`),
			strings.ToLower(*c.Username), id)
		if err != nil {
			return err
		}
		return s.refreshLiveTerms(ctx, tx, channelsOfUser, id)
	})
}

// SetSuspension suspends the user (at and reason) or lifts the suspension (at nil).
func (s *DB) SetSuspension(ctx context.Context, userID string, at *time.Time, reason string) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE users SET suspended_at = ?, suspended_reason = ? WHERE id = ?`), nullMS(at), reason, userID)
	if err != nil {
		return err
	}
	return oneRow(res, accounts.ErrNotFound)
}

func oneRow(res sql.Result, notFound error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound
	}
	return nil
}

// DeleteUser removes the user; foreign keys cascade to everything they own.
func (s *DB) DeleteUser(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM users WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("deleting user: %w", err)
	}
	return oneRow(res, accounts.ErrNotFound)
}

// ListUsers returns every user, oldest first.
func (s *DB) ListUsers(ctx context.Context) ([]*accounts.User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*accounts.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// DeleteUnverified removes never-verified accounts created before the cutoff.
func (s *DB) DeleteUnverified(ctx context.Context, createdBefore time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM users WHERE email_verified_at IS NULL AND created_at < ?`), ms(createdBefore))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// CreateSession saves a sign-in session.
func (s *DB) CreateSession(ctx context.Context, sess *accounts.Session) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO auth_sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`),
		sess.TokenHash, sess.UserID, ms(sess.CreatedAt), ms(sess.ExpiresAt))
	return err
}

// SessionByHash returns a session by its token's hash.
func (s *DB) SessionByHash(ctx context.Context, hash string) (*accounts.Session, error) {
	var sess accounts.Session
	var created, expires int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT token_hash, user_id, created_at, expires_at FROM auth_sessions WHERE token_hash = ?`), hash).
		Scan(&sess.TokenHash, &sess.UserID, &created, &expires)
	if isNoRows(err) {
		return nil, accounts.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	sess.CreatedAt, sess.ExpiresAt = fromMS(created), fromMS(expires)
	return &sess, nil
}

// DeleteSession ends one session.
func (s *DB) DeleteSession(ctx context.Context, hash string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM auth_sessions WHERE token_hash = ?`), hash)
	return err
}

// DeleteSessions ends all of a user's sessions except keepHash.
func (s *DB) DeleteSessions(ctx context.Context, userID, keepHash string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM auth_sessions WHERE user_id = ? AND token_hash <> ?`), userID, keepHash)
	return err
}

// DeleteExpired removes expired sessions and codes.
func (s *DB) DeleteExpired(ctx context.Context, now time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM auth_sessions WHERE expires_at <= ?`), ms(now)); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM auth_codes WHERE expires_at <= ?`), ms(now))
	return err
}

// CreateCode saves an emailed code.
func (s *DB) CreateCode(ctx context.Context, c *accounts.Code) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO auth_codes (code_hash, user_id, purpose, data, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`),
		c.Hash, c.UserID, c.Purpose, c.Data, ms(c.CreatedAt), ms(c.ExpiresAt))
	return err
}

// TakeCode deletes the code and returns it if it was there and unexpired; an expired code is
// deleted too. The delete decides the race when two requests present the same code: only one
// sees a row affected.
func (s *DB) TakeCode(ctx context.Context, hash, purpose string, now time.Time) (*accounts.Code, error) {
	var c accounts.Code
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var created, expires int64
		err := tx.QueryRowContext(ctx, s.q(`SELECT code_hash, user_id, purpose, data, created_at, expires_at FROM auth_codes WHERE code_hash = ? AND purpose = ?`), hash, purpose).
			Scan(&c.Hash, &c.UserID, &c.Purpose, &c.Data, &created, &expires)
		if isNoRows(err) {
			return accounts.ErrNotFound
		}
		if err != nil {
			return err
		}
		c.CreatedAt, c.ExpiresAt = fromMS(created), fromMS(expires)
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM auth_codes WHERE code_hash = ?`), hash)
		if err != nil {
			return err
		}
		return oneRow(res, accounts.ErrNotFound)
	})
	if err != nil {
		return nil, err
	}
	if !now.Before(c.ExpiresAt) {
		return nil, accounts.ErrNotFound
	}
	return &c, nil
}

// DeleteCodes removes a user's outstanding codes of one purpose.
func (s *DB) DeleteCodes(ctx context.Context, userID, purpose string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM auth_codes WHERE user_id = ? AND purpose = ?`), userID, purpose)
	return err
}

// ChannelByUser returns a user's channel with its sealed stream key.
func (s *DB) ChannelByUser(ctx context.Context, userID string) (*channels.Channel, error) {
	var ch channels.Channel
	var created int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT c.id, c.user_id, c.type, c.created_at, k.key_hash, k.key_sealed, r.id
		FROM channels c JOIN stream_keys k ON k.channel_id = c.id JOIN chat_rooms r ON r.channel_id = c.id
		WHERE c.user_id = ?`), userID).
		Scan(&ch.ID, &ch.UserID, &ch.Type, &created, &ch.StreamKeyHash, &ch.StreamKeySealed, &ch.ChatRoomID)
	if isNoRows(err) {
		return nil, channels.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	ch.CreatedAt = fromMS(created)
	return &ch, nil
}
