package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/livehouse/livehouse/internal/notifications"
)

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SetBell turns the notifications of a follow on or off; false when there is no such follow.
func (s *DB) SetBell(ctx context.Context, followerID, channelID string, on bool) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE follows SET notify = ? WHERE follower_id = ? AND channel_id = ?`), boolInt(on), followerID, channelID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Bell reports whether followerID follows the channel, and whether its bell is on.
func (s *DB) Bell(ctx context.Context, followerID, channelID string) (following, on bool, err error) {
	var notify int
	err = s.db.QueryRowContext(ctx, s.q(`SELECT notify FROM follows WHERE follower_id = ? AND channel_id = ?`), followerID, channelID).Scan(&notify)
	if isNoRows(err) {
		return false, false, nil
	}
	return err == nil, notify != 0, err
}

// NotificationSettings are the user's choices per kind, the defaults until they change them.
func (s *DB) NotificationSettings(ctx context.Context, userID string) (notifications.Settings, error) {
	var email, push int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT email, push FROM notification_settings WHERE user_id = ?`), userID).Scan(&email, &push)
	if isNoRows(err) {
		return notifications.DefaultSettings, nil
	}
	return notifications.Settings{Email: email != 0, Push: push != 0}, err
}

// SetNotificationSettings stores the user's choices.
func (s *DB) SetNotificationSettings(ctx context.Context, userID string, st notifications.Settings) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO notification_settings (user_id, email, push) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, push = excluded.push`), userID, boolInt(st.Email), boolInt(st.Push))
	return err
}

// AddPushSubscription records a browser's subscription for userID (moving it from another
// user who had it: the browser is signed in to userID now), then keeps the user's keep newest.
func (s *DB) AddPushSubscription(ctx context.Context, userID string, sub notifications.Subscription, at time.Time, keep int) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO push_subscriptions (endpoint, user_id, p256dh, auth, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (endpoint) DO UPDATE SET user_id = excluded.user_id, p256dh = excluded.p256dh, auth = excluded.auth, created_at = excluded.created_at`),
			sub.Endpoint, userID, sub.P256DH, sub.Auth, ms(at)); err != nil {
			return fmt.Errorf("adding a push subscription: %w", err)
		}
		_, err := tx.ExecContext(ctx, s.q(`DELETE FROM push_subscriptions WHERE user_id = ? AND endpoint NOT IN
			(SELECT endpoint FROM push_subscriptions WHERE user_id = ? ORDER BY created_at DESC, endpoint LIMIT ?)`), userID, userID, keep)
		return err
	})
}

// DeletePushSubscription deletes the user's own subscription with the endpoint.
func (s *DB) DeletePushSubscription(ctx context.Context, userID, endpoint string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM push_subscriptions WHERE user_id = ? AND endpoint = ?`), userID, endpoint)
	return err
}

// DropPushSubscription deletes a subscription its push service no longer has.
func (s *DB) DropPushSubscription(ctx context.Context, endpoint string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM push_subscriptions WHERE endpoint = ?`), endpoint)
	return err
}

// noticeRetention is how long claims are kept: far longer than a session's events take to
// arrive, and than the throttle window.
const noticeRetention = 24 * time.Hour

// ClaimGoLive records that node sends the session's notices, unless they are claimed already
// (the primary key: any node, any delivery) or the channel's were claimed after since. The
// channel's claims older than a day are dropped on the way.
func (s *DB) ClaimGoLive(ctx context.Context, sessionID, channelID, node string, at, since time.Time) (bool, error) {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM golive_notices WHERE channel_id = ? AND claimed_at < ?`), channelID, ms(at.Add(-noticeRetention))); err != nil {
		return false, fmt.Errorf("pruning go-live claims: %w", err)
	}
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO golive_notices (session_id, channel_id, node, claimed_at)
		SELECT ?, ?, ?, CAST(? AS BIGINT) WHERE NOT EXISTS (SELECT 1 FROM golive_notices WHERE channel_id = ? AND claimed_at > ?)
		ON CONFLICT (session_id) DO NOTHING`), sessionID, channelID, node, ms(at), channelID, ms(since))
	if err != nil {
		return false, fmt.Errorf("claiming go-live notices: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// GoLiveRecipients lists the channel's followers with the bell on, by user id, after the
// given id (keyset paging through follows_notify), with their choices; suspended accounts
// get nothing, and of a private channel only those on its allowlist.
func (s *DB) GoLiveRecipients(ctx context.Context, channelID, after string, limit int) ([]notifications.Recipient, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT u.id, u.email, u.email_verified_at IS NOT NULL, COALESCE(ns.email, 1), COALESCE(ns.push, 1)
		FROM follows f JOIN users u ON u.id = f.follower_id JOIN channels c ON c.id = f.channel_id
		LEFT JOIN notification_settings ns ON ns.user_id = u.id
		WHERE f.channel_id = ? AND f.notify = 1 AND f.follower_id > ? AND u.suspended_at IS NULL
			AND `+openTo("u.id")+`
		ORDER BY f.follower_id LIMIT ?`), channelID, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []notifications.Recipient
	for rows.Next() {
		var r notifications.Recipient
		var email, push int
		if err := rows.Scan(&r.UserID, &r.Email, &r.Verified, &email, &push); err != nil {
			return nil, err
		}
		r.Settings = notifications.Settings{Email: email != 0, Push: push != 0}
		out = append(out, r)
	}
	return out, rows.Err()
}

// PushSubscriptions returns the users' subscriptions by user id.
func (s *DB) PushSubscriptions(ctx context.Context, userIDs []string) (map[string][]notifications.Subscription, error) {
	out := map[string][]notifications.Subscription{}
	if len(userIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(userIDs))
	for i, id := range userIDs {
		args[i] = id
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT user_id, endpoint, p256dh, auth FROM push_subscriptions WHERE user_id IN (?`+
		strings.Repeat(", ?", len(userIDs)-1)+`)`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var user string
		var sub notifications.Subscription
		if err := rows.Scan(&user, &sub.Endpoint, &sub.P256DH, &sub.Auth); err != nil {
			return nil, err
		}
		out[user] = append(out[user], sub)
	}
	return out, rows.Err()
}

// NoticeChannel is what a go-live notice says of its channel.
func (s *DB) NoticeChannel(ctx context.Context, channelID string) (notifications.Channel, error) {
	ch := notifications.Channel{ID: channelID}
	err := s.db.QueryRowContext(ctx, s.q(`SELECT u.username, u.suspended_at IS NOT NULL FROM channels c JOIN users u ON u.id = c.user_id WHERE c.id = ?`), channelID).
		Scan(&ch.Username, &ch.Suspended)
	if isNoRows(err) {
		return ch, notifications.ErrNotFound
	}
	return ch, err
}
