package sqlstore

import (
	"context"
	"database/sql"
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
		_, err = tx.ExecContext(ctx, s.q(`UPDATE stream_sessions SET title = ?, category = ? WHERE channel_id = ? AND ended_at IS NULL`),
			info.Title, info.Category, channelID)
		return err
	})
}

// Directory lists live channels of a category whose username, title words or tags start with
// each of the words, newest start first. The live sessions are read newest first through
// stream_sessions_live, and each word is one seek of channel_terms_by_channel per live
// session, before its channel and owner are read: the cost follows the number of live channels, not how common a word is. (A
// common word's id list read once, an IN list, took tens of milliseconds at 100,000 channels,
// as did matching the username on the joined users row.)
func (s *DB) Directory(ctx context.Context, f channels.DirectoryFilter) ([]*channels.Profile, error) {
	query, args := s.directoryQuery(f)
	return s.profiles(ctx, query, args...)
}

func (s *DB) directoryQuery(f channels.DirectoryFilter) (string, []any) {
	var b strings.Builder
	var args []any
	b.WriteString(liveFrom)
	if f.Category != "" {
		b.WriteString(` AND c.category = ?`)
		args = append(args, f.Category)
	}
	for _, w := range f.Words {
		b.WriteString(` AND EXISTS (SELECT 1 FROM channel_terms t WHERE t.channel_id = live.channel_id AND t.term >= ? AND t.term < ?)`)
		args = append(args, w, w+prefixEnd)
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
