-- Following, stream sessions (live state for the directory; live video fills them in) and
-- uploaded channel pictures.
CREATE TABLE follows (
    follower_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel_id  TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (follower_id, channel_id)
);
CREATE INDEX follows_by_follower ON follows (follower_id, created_at);
CREATE INDEX follows_by_channel ON follows (channel_id);

-- A session opens when an encoder's key is accepted (created_at), goes live when its first
-- part is playable (started_at) and closes when the encoder leaves (ended_at).
CREATE TABLE stream_sessions (
    id         TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    ended_at   BIGINT
);
CREATE INDEX stream_sessions_by_channel ON stream_sessions (channel_id, created_at);
CREATE INDEX stream_sessions_live ON stream_sessions (started_at) WHERE ended_at IS NULL AND started_at IS NOT NULL;

-- Re-encoded avatar and banner images. Kept in the database so that every node of a cluster
-- can serve them; the version makes their URLs immutable.
CREATE TABLE channel_assets (
    channel_id   TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    version      TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data         BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (channel_id, kind)
);

-- Users banned from a channel's chat and playback.
CREATE TABLE bans (
    channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX bans_by_user ON bans (user_id);
