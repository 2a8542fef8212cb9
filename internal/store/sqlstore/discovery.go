package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/livehouse/livehouse/internal/channels"
)

// prefixEnd is appended to a prefix for the exclusive end of its range: U+10FFFF sorts after
// every character that can follow the prefix, in byte order.
const prefixEnd = "\U0010FFFF"

// SetStreamInfo saves a channel's title, category and tags, replaces its search terms, and
// copies the title and category onto its open stream session, in one transaction.
func (s *DB) SetStreamInfo(ctx context.Context, channelID string, info channels.StreamInfo, terms []string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE channels SET title = ?, category = ?, tags = ? WHERE id = ?`),
			info.Title, info.Category, strings.Join(info.Tags, " "), channelID)
		if err != nil {
			return err
		}
		if err := oneRow(res, channels.ErrNotFound); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM channel_terms WHERE channel_id = ? AND kind = 't'`), channelID); err != nil {
			return err
		}
		if len(terms) > 0 {
			var b strings.Builder
			args := make([]any, 0, 2*len(terms))
			b.WriteString(`INSERT INTO channel_terms (term, channel_id) VALUES `)
			for i, t := range terms {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString("(?, ?)")
				args = append(args, t, channelID)
			}
			b.WriteString(` ON CONFLICT (term, channel_id, kind) DO NOTHING`)
			if _, err := tx.ExecContext(ctx, s.q(b.String()), args...); err != nil {
				return err
			}
		}
		if _, err = tx.ExecContext(ctx, s.q(`UPDATE stream_sessions SET title = ?, category = ? WHERE channel_id = ? AND ended_at IS NULL`),
			info.Title, info.Category, channelID); err != nil {
			return err
		}
		return s.refreshLiveTerms(ctx, tx, `= ?`, channelID) // the UPDATE of channels above holds its row
	})
}

// The channels a write to live_terms is about, as the right-hand side of "channel_id …" with
// one parameter.
const (
	channelByID      = `= ?`
	channelOfSession = `= (SELECT channel_id FROM stream_sessions WHERE id = ?)`
	channelsOfUser   = `IN (SELECT id FROM channels WHERE user_id = ?)`
)

// lockChannels takes the row lock of the channels that which (channelByID …) names, in tx.
// Every transaction that changes what live_terms holds for a channel (its terms, or whether
// it is live) takes it before its change: on PostgreSQL, where each statement reads what was
// committed when it began, two of them at once (new tags as the session starts) would
// otherwise each rebuild the channel's rows from what the other had not yet committed.
// SQLite runs one writer at a time and needs nothing, but the statement is harmless there.
func (s *DB) lockChannels(ctx context.Context, tx *sql.Tx, which string, arg any) error {
	_, err := tx.ExecContext(ctx, s.q(`UPDATE channels SET private = private WHERE id `+which), arg)
	return err
}

// refreshLiveTerms rebuilds live_terms for the channels that which names: their
// channel_terms if they have a started, open session, nothing otherwise. Its callers hold
// the channels' row locks (lockChannels, or an UPDATE of the row).
func (s *DB) refreshLiveTerms(ctx context.Context, tx *sql.Tx, which string, arg any) error {
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM live_terms WHERE channel_id `+which), arg); err != nil {
		return fmt.Errorf("clearing live terms: %w", err)
	}
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO live_terms (term, channel_id)
		SELECT DISTINCT t.term, t.channel_id FROM channel_terms t
		JOIN stream_sessions live ON live.channel_id = t.channel_id AND live.ended_at IS NULL AND live.started_at IS NOT NULL
		WHERE t.channel_id `+which), arg)
	if err != nil {
		return fmt.Errorf("copying live terms: %w", err)
	}
	return nil
}

// Directory lists live channels of a category whose username, title words or tags start with
// each of the words, newest start first.
//
// Without words, it walks the live sessions newest first (stream_sessions_live). With words,
// it reads the channels of the longest word's prefix range in live_terms (only live
// channels' terms are there; the longest word is likely the rarest), then each of those
// channels' session by its key, and seeks live_terms_by_channel for the other words: the
// cost follows how many live channels the word matches. The channels are read as a CTE kept
// apart (MATERIALIZED) and joined first (CROSS JOIN fixes the order in SQLite), so that the
// planner does not walk every live session for the sake of the ORDER BY. (Walking them, with
// a seek of the channel's terms per word, took 23–34 ms at the median at 100,000 channels
// with 1,000 live; an IN list of a common word's channels, tens of milliseconds too.) The
// session is joined even so: a channel whose terms were left in live_terms by a session ended
// without them (none should be) is still not listed offline.
//
// The matches are put in order by their session alone, in a subquery, before the channel and
// its owner are joined: PostgreSQL then joins them in that order and stops at the page's
// last row, where joining every match first (up to some 160 for a word of two tags, 8 page
// reads each) then sorting made its p99 5.9 ms at 100,000 channels (p50 1.6 ms). SQLite
// flattens the subquery and plans as before.
func (s *DB) Directory(ctx context.Context, f channels.DirectoryFilter) ([]*channels.Profile, error) {
	query, args := s.directoryQuery(f)
	return s.preparedProfiles(ctx, query, args...)
}

func (s *DB) directoryQuery(f channels.DirectoryFilter) (string, []any) {
	var b strings.Builder
	var args []any
	words := slices.Clone(f.Words)
	if len(words) == 0 {
		b.WriteString(liveFrom)
		if f.After != nil {
			// The next page: a row-value comparison, which both databases read as a range of
			// stream_sessions_live (started_at, channel_id).
			b.WriteString(` AND (live.started_at, live.channel_id) < (?, ?)`)
			args = append(args, ms(f.After.StartedAt), f.After.ChannelID)
		}
	} else {
		longest := 0
		for i, w := range words {
			if len(w) > len(words[longest]) {
				longest = i
			}
		}
		first := words[longest]
		words = slices.Delete(words, longest, longest+1)
		b.WriteString(`WITH hits AS MATERIALIZED (SELECT DISTINCT channel_id FROM live_terms WHERE term >= ? AND term < ?)
			` + profileSelect + ` FROM (SELECT live.channel_id, live.started_at FROM hits CROSS JOIN stream_sessions live
				WHERE live.channel_id = hits.channel_id AND ` + isLive)
		args = append(args, first, first+prefixEnd)
		for _, w := range words {
			b.WriteString(` AND EXISTS (SELECT 1 FROM live_terms t WHERE t.channel_id = live.channel_id AND t.term >= ? AND t.term < ?)`)
			args = append(args, w, w+prefixEnd)
		}
		if f.After != nil {
			b.WriteString(` AND (live.started_at, live.channel_id) < (?, ?)`)
			args = append(args, ms(f.After.StartedAt), f.After.ChannelID)
		}
		b.WriteString(liveSort + `) live` + liveJoins + `
			WHERE ` + listable)
	}
	if f.Category != "" {
		b.WriteString(` AND c.category = ?`)
		args = append(args, f.Category)
	}
	b.WriteString(liveOrder)
	args = append(args, f.Limit)
	return b.String(), args
}

// Categories lists the categories in the operator's order.
func (s *DB) Categories(ctx context.Context) ([]channels.Category, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT slug, name, position FROM categories ORDER BY position, name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []channels.Category{}
	for rows.Next() {
		var c channels.Category
		if err := rows.Scan(&c.Slug, &c.Name, &c.Position); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// PutCategory adds a category or renames and moves one.
func (s *DB) PutCategory(ctx context.Context, c channels.Category) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO categories (slug, name, position) VALUES (?, ?, ?)
		ON CONFLICT (slug) DO UPDATE SET name = excluded.name, position = excluded.position`), c.Slug, c.Name, c.Position)
	return err
}

// DeleteCategory removes a category and leaves its channels without one.
func (s *DB) DeleteCategory(ctx context.Context, slug string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM categories WHERE slug = ?`), slug)
		if err != nil {
			return err
		}
		if err := oneRow(res, channels.ErrCategoryNotFound); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE channels SET category = '' WHERE category = ?`), slug)
		return err
	})
}
