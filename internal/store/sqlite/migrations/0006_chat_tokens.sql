-- Single-use chat tokens: a token is taken (deleted) when a connection presents it, on
-- whichever node that is.
CREATE TABLE chat_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_json TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
