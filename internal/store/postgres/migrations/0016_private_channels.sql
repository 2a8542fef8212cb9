-- Private channels: only the owner and the users on the channel's allowlist may watch it or
-- join its chat, and it is not listed in the directory. Users join the allowlist by the owner
-- adding them by name, or by opening one of the channel's invite links (stored as the keyed
-- hash of their code; the code itself is shown once, to the owner, when the link is made).
ALTER TABLE channels ADD COLUMN private INTEGER NOT NULL DEFAULT 0;

CREATE TABLE channel_allowlist (
    channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX channel_allowlist_by_user ON channel_allowlist (user_id);

CREATE TABLE channel_invites (
    id         TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    uses       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX channel_invites_by_channel ON channel_invites (channel_id, created_at);
