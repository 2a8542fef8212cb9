package sqlstore

import (
	"context"
	"time"

	"github.com/livehouse/livehouse/internal/channels"
)

// SetPrivate makes a channel private or public.
func (s *DB) SetPrivate(ctx context.Context, channelID string, private bool) error {
	v := 0
	if private {
		v = 1
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE channels SET private = ? WHERE id = ?`), v, channelID)
	if err != nil {
		return err
	}
	return oneRow(res, channels.ErrNotFound)
}

// allowlisted is the SQL test that the user (an SQL expression: a column, or "?") is on the
// allowlist of the channel c, the one spelling of it for every query that needs it.
func allowlisted(user string) string {
	return `EXISTS (SELECT 1 FROM channel_allowlist a WHERE a.channel_id = c.id AND a.user_id = ` + user + `)`
}

// openTo is the SQL test that the channel c is shown to the user (an SQL expression): it is
// public, or the user is on its allowlist.
func openTo(user string) string {
	return `(c.private = 0 OR ` + allowlisted(user) + `)`
}

// ProfileByChannel finds a channel's profile by the channel's id.
func (s *DB) ProfileByChannel(ctx context.Context, channelID string) (*channels.Profile, error) {
	p, err := scanProfile(s.db.QueryRowContext(ctx, s.q(profileSelect+` FROM channels c JOIN users u ON u.id = c.user_id`+profileJoins+`
		WHERE c.id = ?`), channelID))
	if isNoRows(err) {
		return nil, channels.ErrNotFound
	}
	return p, err
}

// WatchAccess reads, in one query, whether a channel is private and whether userID owns it,
// is on its allowlist or is banned from it.
func (s *DB) WatchAccess(ctx context.Context, channelID, userID string) (channels.Access, error) {
	var a channels.Access
	err := s.db.QueryRowContext(ctx, s.q(`SELECT c.private <> 0, c.user_id = ?, `+allowlisted("?")+`,
		EXISTS (SELECT 1 FROM bans b WHERE b.channel_id = c.id AND b.user_id = ?)
		FROM channels c WHERE c.id = ?`), userID, userID, userID, channelID).Scan(&a.Private, &a.Owner, &a.Allowed, &a.Banned)
	if isNoRows(err) {
		return a, channels.ErrNotFound
	}
	return a, err
}

// Allow adds userID to channelID's allowlist; adding twice keeps the first time.
func (s *DB) Allow(ctx context.Context, channelID, userID string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO channel_allowlist (channel_id, user_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (channel_id, user_id) DO NOTHING`), channelID, userID, ms(at))
	return err
}

// Disallow takes userID off channelID's allowlist, if on it.
func (s *DB) Disallow(ctx context.Context, channelID, userID string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM channel_allowlist WHERE channel_id = ? AND user_id = ?`), channelID, userID)
	return err
}

// Allowlist lists the profiles on a channel's allowlist, most recently added first.
func (s *DB) Allowlist(ctx context.Context, channelID string, limit int) ([]*channels.Profile, error) {
	return s.profiles(ctx, profileSelect+` FROM channel_allowlist al JOIN users u ON u.id = al.user_id JOIN channels c ON c.user_id = u.id`+profileJoins+`
		WHERE al.channel_id = ? ORDER BY al.created_at DESC, u.username_key LIMIT ?`, channelID, limit)
}

// CountAllowed counts a channel's allowlist.
func (s *DB) CountAllowed(ctx context.Context, channelID string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM channel_allowlist WHERE channel_id = ?`), channelID).Scan(&n)
	return n, err
}

// PutInvite stores an invite, deleting the channel's expired ones first.
func (s *DB) PutInvite(ctx context.Context, inv *channels.Invite, now time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM channel_invites WHERE channel_id = ? AND expires_at <= ?`), inv.ChannelID, ms(now)); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO channel_invites (id, channel_id, code_hash, created_at, expires_at, uses) VALUES (?, ?, ?, ?, ?, ?)`),
		inv.ID, inv.ChannelID, inv.CodeHash, ms(inv.CreatedAt), ms(inv.ExpiresAt), inv.Uses)
	return err
}

const inviteColumns = `id, channel_id, code_hash, created_at, expires_at, uses`

func scanInvite(row interface{ Scan(...any) error }) (*channels.Invite, error) {
	var inv channels.Invite
	var created, expires int64
	if err := row.Scan(&inv.ID, &inv.ChannelID, &inv.CodeHash, &created, &expires, &inv.Uses); err != nil {
		return nil, err
	}
	inv.CreatedAt, inv.ExpiresAt = fromMS(created), fromMS(expires)
	return &inv, nil
}

// Invites lists a channel's invites not expired at now, newest first.
func (s *DB) Invites(ctx context.Context, channelID string, now time.Time) ([]*channels.Invite, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+inviteColumns+` FROM channel_invites WHERE channel_id = ? AND expires_at > ?
		ORDER BY created_at DESC, id`), channelID, ms(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*channels.Invite{}
	for rows.Next() {
		inv, err := scanInvite(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, rows.Err()
}

// DeleteInvite removes one of a channel's invites.
func (s *DB) DeleteInvite(ctx context.Context, channelID, id string) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM channel_invites WHERE channel_id = ? AND id = ?`), channelID, id)
	if err != nil {
		return err
	}
	return oneRow(res, channels.ErrInviteNotFound)
}

// InviteByCodeHash finds an invite by the hash of its code.
func (s *DB) InviteByCodeHash(ctx context.Context, hash string) (*channels.Invite, error) {
	inv, err := scanInvite(s.db.QueryRowContext(ctx, s.q(`SELECT `+inviteColumns+` FROM channel_invites WHERE code_hash = ?`), hash))
	if isNoRows(err) {
		return nil, channels.ErrInviteNotFound
	}
	return inv, err
}

// UseInvite counts one use of an invite.
func (s *DB) UseInvite(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE channel_invites SET uses = uses + 1 WHERE id = ?`), id)
	return err
}
