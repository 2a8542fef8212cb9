package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/streams"
)

// profileSelect reads a channel's public face; callers add joins, WHERE and ORDER BY. The
// live session is the open, started one (at most one per channel). The avatar, banner and
// category name are scalar subqueries rather than LEFT JOINs: each is one key lookup either
// way, but PostgreSQL plans a query of three joined tables in a third of the time it takes
// for six (0.37 against 1.2 ms for the directory at load 7), and it plans again every time a
// statement whose generic plan it judges costlier (LIMIT $n, a search's range) is run.
const profileSelect = `SELECT c.id, u.id, u.username, u.color, u.avatar,
	COALESCE((SELECT av.version FROM channel_assets av WHERE av.channel_id = c.id AND av.kind = 'avatar'), ''),
	COALESCE((SELECT bn.version FROM channel_assets bn WHERE bn.channel_id = c.id AND bn.kind = 'banner'), ''),
	live.started_at, u.suspended_at IS NOT NULL,
	c.title, c.category, COALESCE((SELECT cat.name FROM categories cat WHERE cat.slug = c.category), ''), c.tags, c.private <> 0`

const profileJoins = `
	LEFT JOIN stream_sessions live ON live.channel_id = c.id AND live.ended_at IS NULL AND live.started_at IS NOT NULL`

// The queries behind the channel pages, named so that QueryPlans can show how the database
// runs them.
var (
	profileByUsernameQuery = profileSelect + ` FROM users u JOIN channels c ON c.user_id = u.id` + profileJoins + `
		WHERE u.username_key = ?`
	followingQuery = profileSelect + `, f.created_at
		FROM follows f JOIN channels c ON c.id = f.channel_id JOIN users u ON u.id = c.user_id` + profileJoins + `
		WHERE f.follower_id = ? AND u.suspended_at IS NULL
			AND ` + openTo("f.follower_id") + `
		ORDER BY CASE WHEN live.started_at IS NULL THEN 1 ELSE 0 END, live.started_at DESC, f.created_at DESC
		LIMIT ?`
	liveJoins = `
		JOIN channels c ON c.id = live.channel_id JOIN users u ON u.id = c.user_id`
	// listable: the owner may be listed (not suspended, email verified) and the channel is
	// public.
	listable  = `u.suspended_at IS NULL AND u.email_verified_at IS NOT NULL AND c.private = 0`
	isLive    = `live.ended_at IS NULL AND live.started_at IS NOT NULL`
	liveWhere = `
		WHERE ` + isLive + ` AND ` + listable
	liveFrom = profileSelect + ` FROM stream_sessions live` + liveJoins + liveWhere
	// liveSort is the directory's order: start, newest first, then channel id.
	liveSort  = ` ORDER BY live.started_at DESC, live.channel_id DESC`
	liveOrder = liveSort + ` LIMIT ?`
	liveQuery = liveFrom + liveOrder
)

// QueryPlans returns the database's plan for each channel-page query, for tests and
// benchmarks that check they use indexes.
func (s *DB) QueryPlans(ctx context.Context) (map[string]string, error) {
	explain := "EXPLAIN QUERY PLAN "
	if s.d.Numbered {
		explain = "EXPLAIN "
	}
	plans := map[string]string{}
	searchQuery, searchArgs := s.directoryQuery(channels.DirectoryFilter{Category: "gaming", Words: []string{"chess", "pia"}, Limit: 50})
	pageQuery, pageArgs := s.directoryQuery(channels.DirectoryFilter{Limit: 50, After: &channels.DirectoryCursor{StartedAt: time.UnixMilli(1), ChannelID: "ch_x"}})
	for name, q := range map[string]struct {
		query string
		args  []any
	}{
		"channel":   {profileByUsernameQuery, []any{"someone"}},
		"following": {followingQuery, []any{"u_someone", 500}},
		"directory": {liveQuery, []any{50}},
		"search":    {searchQuery, searchArgs},
		"page":      {pageQuery, pageArgs}, // the directory's next page
	} {
		rows, err := s.db.QueryContext(ctx, explain+s.q(q.query), q.args...)
		if err != nil {
			return nil, fmt.Errorf("explaining %s: %w", name, err)
		}
		cols, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, err
			}
			lines = append(lines, fmt.Sprint(vals[len(vals)-1])) // the detail column
		}
		rows.Close()
		plans[name] = strings.Join(lines, "\n")
	}
	return plans, nil
}

func scanProfile(row interface{ Scan(...any) error }, extra ...any) (*channels.Profile, error) {
	var p channels.Profile
	var live sql.NullInt64
	var tags string
	dest := append([]any{&p.ChannelID, &p.UserID, &p.Username, &p.Color, &p.Avatar, &p.AvatarVersion, &p.BannerVersion, &live, &p.Suspended,
		&p.Title, &p.Category, &p.CategoryName, &tags, &p.Private}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	p.LiveSince = fromNullMS(live)
	if tags != "" {
		p.Tags = strings.Fields(tags)
	}
	return &p, nil
}

func (s *DB) profiles(ctx context.Context, query string, args ...any) ([]*channels.Profile, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	return scanProfiles(rows)
}

// preparedProfiles is profiles through a prepared statement, for the directory's queries
// (their texts are few; see prepared).
func (s *DB) preparedProfiles(ctx context.Context, query string, args ...any) ([]*channels.Profile, error) {
	st, err := s.prepared(ctx, s.q(query))
	if err != nil {
		return nil, err
	}
	if st == nil {
		return s.profiles(ctx, query, args...)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	return scanProfiles(rows)
}

func scanProfiles(rows *sql.Rows) ([]*channels.Profile, error) {
	defer rows.Close()
	out := []*channels.Profile{}
	for rows.Next() {
		p, err := scanProfile(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ProfileByUsername finds a channel by its owner's username, ignoring case.
func (s *DB) ProfileByUsername(ctx context.Context, username string) (*channels.Profile, error) {
	p, err := scanProfile(s.db.QueryRowContext(ctx, s.q(profileByUsernameQuery), strings.ToLower(username)))
	if isNoRows(err) {
		return nil, channels.ErrNotFound
	}
	return p, err
}

// ReplaceStreamKey swaps a channel's stream key.
func (s *DB) ReplaceStreamKey(ctx context.Context, channelID, hash, sealed string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE stream_keys SET key_hash = ?, key_sealed = ?, created_at = ? WHERE channel_id = ?`), hash, sealed, ms(at), channelID)
	if err != nil {
		return err
	}
	return oneRow(res, channels.ErrNotFound)
}

// SetChannelType sets a channel's type (BASIC or STANDARD).
func (s *DB) SetChannelType(ctx context.Context, channelID, channelType string) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE channels SET type = ? WHERE id = ?`), channelType, channelID)
	if err != nil {
		return err
	}
	return oneRow(res, channels.ErrNotFound)
}

// SetAppearance sets a user's profile color and avatar.
func (s *DB) SetAppearance(ctx context.Context, userID, color, avatar string) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE users SET color = ?, avatar = ? WHERE id = ?`), color, avatar, userID)
	if err != nil {
		return err
	}
	return oneRow(res, channels.ErrNotFound)
}

// Follow records that followerID follows channelID; following again keeps the first time.
func (s *DB) Follow(ctx context.Context, followerID, channelID string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO follows (follower_id, channel_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (follower_id, channel_id) DO NOTHING`), followerID, channelID, ms(at))
	return err
}

// Unfollow removes a follow if there is one.
func (s *DB) Unfollow(ctx context.Context, followerID, channelID string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM follows WHERE follower_id = ? AND channel_id = ?`), followerID, channelID)
	return err
}

// IsFollowing reports whether followerID follows channelID.
func (s *DB) IsFollowing(ctx context.Context, followerID, channelID string) (bool, error) {
	return s.exists(ctx, `SELECT 1 FROM follows WHERE follower_id = ? AND channel_id = ?`, followerID, channelID)
}

func (s *DB) exists(ctx context.Context, query string, args ...any) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, s.q(query), args...).Scan(&one)
	if isNoRows(err) {
		return false, nil
	}
	return err == nil, err
}

// Following lists followed channels, live first (newest start first), then by most recent
// follow. It reads the follower's rows through follows_by_follower.
func (s *DB) Following(ctx context.Context, followerID string, limit int) ([]*channels.Profile, error) {
	rows, err := s.db.QueryContext(ctx, s.q(followingQuery), followerID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*channels.Profile{}
	for rows.Next() {
		var followed int64
		p, err := scanProfile(rows, &followed)
		if err != nil {
			return nil, err
		}
		t := fromMS(followed)
		p.FollowedAt = &t
		out = append(out, p)
	}
	return out, rows.Err()
}

// Live lists live channels, newest start first, through the stream_sessions_live index.
func (s *DB) Live(ctx context.Context, limit int) ([]*channels.Profile, error) {
	return s.preparedProfiles(ctx, liveQuery, limit)
}

// Ban bars userID from channelID; banning twice keeps the first time.
func (s *DB) Ban(ctx context.Context, channelID, userID string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO bans (channel_id, user_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (channel_id, user_id) DO NOTHING`), channelID, userID, ms(at))
	return err
}

// Unban lifts a ban if there is one.
func (s *DB) Unban(ctx context.Context, channelID, userID string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM bans WHERE channel_id = ? AND user_id = ?`), channelID, userID)
	return err
}

// IsBanned reports whether userID is banned from channelID.
func (s *DB) IsBanned(ctx context.Context, channelID, userID string) (bool, error) {
	return s.exists(ctx, `SELECT 1 FROM bans WHERE channel_id = ? AND user_id = ?`, channelID, userID)
}

// Bans lists the profiles of users banned from a channel, most recent ban first.
func (s *DB) Bans(ctx context.Context, channelID string) ([]*channels.Profile, error) {
	return s.profiles(ctx, profileSelect+` FROM bans b JOIN users u ON u.id = b.user_id JOIN channels c ON c.user_id = u.id`+profileJoins+`
		WHERE b.channel_id = ? ORDER BY b.created_at DESC`, channelID)
}

// PutAsset stores (or replaces) a channel's picture of one kind.
func (s *DB) PutAsset(ctx context.Context, a *channels.Asset) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO channel_assets (channel_id, kind, version, content_type, data, created_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (channel_id, kind) DO UPDATE SET version = excluded.version, content_type = excluded.content_type, data = excluded.data, created_at = excluded.created_at`),
		a.ChannelID, a.Kind, a.Version, a.ContentType, a.Data, ms(a.CreatedAt))
	return err
}

// Asset returns a channel's picture of one kind.
func (s *DB) Asset(ctx context.Context, channelID, kind string) (*channels.Asset, error) {
	a := channels.Asset{ChannelID: channelID, Kind: kind}
	var created int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT a.version, a.content_type, a.data, a.created_at, u.suspended_at IS NOT NULL
		FROM channel_assets a JOIN channels c ON c.id = a.channel_id JOIN users u ON u.id = c.user_id
		WHERE a.channel_id = ? AND a.kind = ?`), channelID, kind).
		Scan(&a.Version, &a.ContentType, &a.Data, &created, &a.OwnerSuspended)
	if isNoRows(err) {
		return nil, channels.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	a.CreatedAt = fromMS(created)
	return &a, nil
}

// DeleteAsset removes a channel's picture of one kind, if any.
func (s *DB) DeleteAsset(ctx context.Context, channelID, kind string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM channel_assets WHERE channel_id = ? AND kind = ?`), channelID, kind)
	return err
}

// OpenSession and the session methods below are the part of the stream-session store the
// directory needs; live video writes through them.

// OpenStreamSession records a new session of a channel, run by node. A channel that has an
// open session already, on any node, gets streams.ErrAlreadyLive: the unique index on open
// sessions decides, so two nodes racing for one channel cannot both win.
func (s *DB) OpenStreamSession(ctx context.Context, id, channelID, node string, at time.Time) error {
	// The session starts with the channel's title and category (SetStreamInfo keeps them
	// current while it runs).
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO stream_sessions (id, channel_id, node, created_at, title, category)
		VALUES (?, ?, ?, ?, COALESCE((SELECT title FROM channels WHERE id = ?), ''), COALESCE((SELECT category FROM channels WHERE id = ?), ''))`),
		id, channelID, node, ms(at), channelID, channelID)
	if detail, ok := s.d.UniqueViolation(err); ok && (strings.Contains(detail, "stream_sessions_one_open") || strings.Contains(detail, "stream_sessions.channel_id")) {
		return streams.ErrAlreadyLive
	}
	return err
}

// StartStreamSession marks a session live (its first part is playable); its channel's
// search terms join live_terms.
func (s *DB) StartStreamSession(ctx context.Context, id string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockChannels(ctx, tx, channelOfSession, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE stream_sessions SET started_at = ? WHERE id = ? AND started_at IS NULL`), ms(at), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return s.refreshLiveTerms(ctx, tx, channelOfSession, id)
	})
}

// EndStreamSession closes a session; its channel's search terms leave live_terms.
func (s *DB) EndStreamSession(ctx context.Context, id string, at time.Time) error {
	_, err := s.endStreamSession(ctx, id, at, "")
	return err
}

// endStreamSession closes an open session at end if it still matches cond (with the time as
// its one parameter, see staleLease; "" for none), rebuilding its channel's live_terms in the
// same transaction, and reports whether it closed it.
func (s *DB) endStreamSession(ctx context.Context, id string, end time.Time, cond string, condArgs ...any) (bool, error) {
	var ended bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockChannels(ctx, tx, channelOfSession, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE stream_sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL`+cond), append([]any{ms(end), id}, condArgs...)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		ended = true
		return s.refreshLiveTerms(ctx, tx, channelOfSession, id)
	})
	return ended, err
}
