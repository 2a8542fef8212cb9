-- At most one open session per channel, whichever node of a cluster runs it. Sessions a
-- crashed node may have left open side by side (the rule was only per node before) are
-- closed first, keeping each channel's newest.
UPDATE stream_sessions SET ended_at = created_at
WHERE ended_at IS NULL AND EXISTS (
    SELECT 1 FROM stream_sessions newer
    WHERE newer.channel_id = stream_sessions.channel_id AND newer.ended_at IS NULL
      AND (newer.created_at > stream_sessions.created_at
           OR (newer.created_at = stream_sessions.created_at AND newer.id > stream_sessions.id))
);
CREATE UNIQUE INDEX stream_sessions_one_open ON stream_sessions (channel_id) WHERE ended_at IS NULL;

-- Each running node renews its lease every few seconds. A session whose node's lease has
-- expired (or that names no node with a lease) is ended by whichever node meets it first.
CREATE TABLE node_leases (
    node       TEXT PRIMARY KEY,
    renewed_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
