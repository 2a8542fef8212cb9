-- Accounts, their sign-in sessions and emailed codes; each account's channel, chat room and
-- stream key. Times are Unix milliseconds (UTC) in both dialects.
CREATE TABLE users (
    id                TEXT PRIMARY KEY,
    username          TEXT NOT NULL,
    username_key      TEXT NOT NULL UNIQUE,
    email             TEXT NOT NULL,
    email_key         TEXT NOT NULL UNIQUE,
    pending_email     TEXT NOT NULL DEFAULT '',
    password_hash     TEXT NOT NULL,
    email_verified_at BIGINT,
    color             TEXT NOT NULL,
    avatar            TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX users_unverified ON users (created_at) WHERE email_verified_at IS NULL;

CREATE TABLE auth_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_id);

CREATE TABLE auth_codes (
    code_hash  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX auth_codes_user ON auth_codes (user_id, purpose);

CREATE TABLE channels (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    type       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE stream_keys (
    channel_id TEXT PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
    key_hash   TEXT NOT NULL UNIQUE,
    key_sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE chat_rooms (
    id         TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL UNIQUE REFERENCES channels (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
