-- What happened to each stream session, in order: Session Created, Stream Start, … .
CREATE TABLE stream_events (
    session_id TEXT NOT NULL REFERENCES stream_sessions (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    name       TEXT NOT NULL,
    type       TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (session_id, seq)
);
