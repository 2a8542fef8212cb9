-- The node that ran each session, so that a node starting up can close the sessions it left
-- open when it stopped without ending them (a crash), and only those.
ALTER TABLE stream_sessions ADD COLUMN node TEXT NOT NULL DEFAULT '';
CREATE INDEX stream_sessions_open_by_node ON stream_sessions (node) WHERE ended_at IS NULL;
