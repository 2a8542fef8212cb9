package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/livehouse/livehouse/internal/stages"
)

// stageLeased is true of a stages row whose node holds a lease valid at the time given as its
// one parameter: a stage of a node that stopped renewing is over, whatever its row says.
const stageLeased = `EXISTS (SELECT 1 FROM node_leases n WHERE n.node = stages.node AND n.expires_at >= ?)`

// OpenStage records a stage opened on its node. A stage the channel left open on a node whose
// lease had expired by at is ended first; one open on a leased node refuses the new one with
// stages.ErrStageElsewhere.
func (s *DB) OpenStage(ctx context.Context, r stages.Record, at time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE stages SET ended_at = ? WHERE channel_id = ? AND ended_at IS NULL AND NOT `+stageLeased),
			ms(at), r.ChannelID, ms(at)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO stages (id, channel_id, host_user_id, node, started_at) VALUES (?, ?, ?, ?, ?)`),
			r.ID, r.ChannelID, r.HostID, r.Node, ms(r.StartedAt))
		return err
	})
	if detail, ok := s.d.UniqueViolation(err); ok && (strings.Contains(detail, "stages_one_open") || strings.Contains(detail, "stages.channel_id")) {
		return stages.ErrStageElsewhere
	}
	if err != nil {
		return fmt.Errorf("recording stage %s: %w", r.ID, err)
	}
	return nil
}

// EndStage records a stage's end; ending one that has ended already changes nothing.
func (s *DB) EndStage(ctx context.Context, id string, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE stages SET ended_at = ? WHERE id = ? AND ended_at IS NULL`), ms(at), id); err != nil {
		return fmt.Errorf("ending stage %s: %w", id, err)
	}
	return nil
}

// EndNodeStage ends the channel's open stage if node hosts it (its record outlived it).
func (s *DB) EndNodeStage(ctx context.Context, channelID, node string, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE stages SET ended_at = ? WHERE channel_id = ? AND node = ? AND ended_at IS NULL`), ms(at), channelID, node); err != nil {
		return fmt.Errorf("ending the stage of channel %s on node %s: %w", channelID, node, err)
	}
	return nil
}

// EndNodeStages ends the stages node left open (it restarted: their state and media are gone)
// and returns them.
func (s *DB) EndNodeStages(ctx context.Context, node string, at time.Time) ([]stages.Record, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, channel_id, host_user_id, node, started_at FROM stages WHERE node = ? AND ended_at IS NULL`), node)
	if err != nil {
		return nil, fmt.Errorf("finding the stages of node %s: %w", node, err)
	}
	var out []stages.Record
	for rows.Next() {
		var r stages.Record
		var started int64
		if err := rows.Scan(&r.ID, &r.ChannelID, &r.HostID, &r.Node, &started); err != nil {
			rows.Close()
			return nil, err
		}
		r.StartedAt = fromMS(started)
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE stages SET ended_at = ? WHERE node = ? AND ended_at IS NULL`), ms(at), node); err != nil {
		return nil, fmt.Errorf("ending the stages of node %s: %w", node, err)
	}
	return out, nil
}

// OpenStageChannels reports which of the channels have an open stage on a leased node.
func (s *DB) OpenStageChannels(ctx context.Context, channelIDs []string, at time.Time) (map[string]bool, error) {
	out := map[string]bool{}
	if len(channelIDs) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(channelIDs)+1)
	for _, id := range channelIDs {
		args = append(args, id)
	}
	args = append(args, ms(at))
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT channel_id FROM stages WHERE channel_id IN (?`+strings.Repeat(`, ?`, len(channelIDs)-1)+
		`) AND ended_at IS NULL AND `+stageLeased), args...)
	if err != nil {
		return nil, fmt.Errorf("finding open stages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// StageHosts lists the usernames of the hosts of open stages on leased nodes, oldest stage
// first, at most limit.
func (s *DB) StageHosts(ctx context.Context, at time.Time, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT u.username FROM stages JOIN users u ON u.id = stages.host_user_id
		WHERE stages.ended_at IS NULL AND `+stageLeased+` ORDER BY stages.started_at, stages.id LIMIT ?`), ms(at), limit)
	if err != nil {
		return nil, fmt.Errorf("listing stage hosts: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, rows.Err()
}

// StageNode is the node hosting an open stage (on a leased node), chosen by the stage's id,
// its host's user id or its host's username (whichever is not empty); ok is false when there
// is none.
func (s *DB) StageNode(ctx context.Context, by stages.Lookup, at time.Time) (node string, ok bool, err error) {
	var where string
	var arg any
	switch {
	case by.StageID != "":
		where, arg = `stages.id = ?`, by.StageID
	case by.HostID != "":
		where, arg = `stages.host_user_id = ?`, by.HostID
	case by.HostUsername != "":
		where, arg = `stages.host_user_id = (SELECT id FROM users WHERE username_key = ?)`, strings.ToLower(by.HostUsername)
	default:
		return "", false, nil
	}
	err = s.db.QueryRowContext(ctx, s.q(`SELECT stages.node FROM stages WHERE `+where+` AND stages.ended_at IS NULL AND `+stageLeased), arg, ms(at)).Scan(&node)
	if isNoRows(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("finding a stage's node: %w", err)
	}
	return node, true, nil
}
