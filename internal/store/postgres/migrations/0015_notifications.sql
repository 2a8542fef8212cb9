-- Go-live notifications. A follower rings the bell of a followed channel (follows.notify);
-- per kind, each user turns email and Web Push on or off (notification_settings; no row =
-- both on). Web Push subscriptions are per browser: the push service's endpoint and the
-- browser's keys (RFC 8291). golive_notices claims a session's notifications, so that one
-- node of a cluster sends them, once per session and at most one per channel in 10 minutes.
ALTER TABLE follows ADD COLUMN notify INTEGER NOT NULL DEFAULT 0;
CREATE INDEX follows_notify ON follows (channel_id, follower_id) WHERE notify = 1;

CREATE TABLE notification_settings (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    email   INTEGER NOT NULL,
    push    INTEGER NOT NULL
);

CREATE TABLE push_subscriptions (
    endpoint   TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    p256dh     TEXT NOT NULL,
    auth       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX push_subscriptions_by_user ON push_subscriptions (user_id, created_at);

CREATE TABLE golive_notices (
    session_id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    node       TEXT NOT NULL,
    claimed_at BIGINT NOT NULL
);
CREATE INDEX golive_notices_by_channel ON golive_notices (channel_id, claimed_at);
