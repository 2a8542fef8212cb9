-- Open stages, one per channel, with the node that hosts each (its home: the stage's state
-- and its media live in that node's memory). Every node of a cluster reads here whether a
-- channel has a stage and where to forward the stage's requests; a stage whose home node's
-- lease has expired counts as ended, and a restarted node ends the stages it left open.
CREATE TABLE stages (
    id           TEXT PRIMARY KEY,
    channel_id   TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    host_user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    node         TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    ended_at     INTEGER
);
CREATE UNIQUE INDEX stages_one_open ON stages (channel_id) WHERE ended_at IS NULL;
CREATE INDEX stages_open_by_node ON stages (node) WHERE ended_at IS NULL;
