-- Recordings of stream sessions (past broadcasts): one per recorded session, its media in
-- the recordings storage under prefix. Status is recording while the session runs, then
-- complete (playlists written). A channel may turn recording off (recording_off).
CREATE TABLE recordings (
    id          TEXT PRIMARY KEY, -- the stream session's id; kept when the session is purged
    channel_id  TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,
    title       TEXT NOT NULL DEFAULT '',
    prefix      TEXT NOT NULL,
    status      TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    ended_at    BIGINT,
    duration_ms BIGINT NOT NULL DEFAULT 0,
    bytes       BIGINT NOT NULL DEFAULT 0,
    segments    BIGINT NOT NULL DEFAULT 0,
    dropped     BIGINT NOT NULL DEFAULT 0,
    hidden      INTEGER NOT NULL DEFAULT 0,
    poster      INTEGER NOT NULL DEFAULT 0 -- a poster.jpg is stored
);
CREATE INDEX recordings_by_channel ON recordings (channel_id, started_at);
CREATE INDEX recordings_by_user ON recordings (user_id);
CREATE INDEX recordings_unfinished ON recordings (status) WHERE status = 'recording';
ALTER TABLE channels ADD COLUMN recording_off INTEGER NOT NULL DEFAULT 0;
