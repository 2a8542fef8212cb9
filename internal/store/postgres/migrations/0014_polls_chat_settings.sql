-- Polls a streamer runs during a live stream: one open at a time per channel, kept with the
-- stream session. Votes are one per account (the primary key); each option keeps its count,
-- and the poll its total, so a tally reads a handful of rows however many voted.
CREATE TABLE polls (
    id          TEXT PRIMARY KEY,
    channel_id  TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    session_id  TEXT NOT NULL,
    question    TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    ends_at     BIGINT NOT NULL,
    closed_at   BIGINT,
    votes       BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX polls_one_open ON polls (channel_id) WHERE closed_at IS NULL;
CREATE INDEX polls_by_channel ON polls (channel_id, started_at);
CREATE INDEX polls_by_session ON polls (session_id, started_at);
CREATE INDEX polls_open_ends ON polls (ends_at) WHERE closed_at IS NULL;

CREATE TABLE poll_options (
    poll_id TEXT NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    idx     INTEGER NOT NULL,
    label   TEXT NOT NULL,
    votes   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (poll_id, idx)
);

CREATE TABLE poll_votes (
    poll_id    TEXT NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    option_idx INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (poll_id, user_id)
);
CREATE INDEX poll_votes_by_user ON poll_votes (user_id);

-- A channel's chat controls, set by its owner: followers-only (followed for at least
-- followers_minutes) and slow mode (one message per slow_seconds per user). No row = both off.
CREATE TABLE chat_settings (
    channel_id        TEXT PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
    followers_only    INTEGER NOT NULL DEFAULT 0,
    followers_minutes INTEGER NOT NULL DEFAULT 0,
    slow_seconds      INTEGER NOT NULL DEFAULT 0,
    updated_at        BIGINT NOT NULL
);
