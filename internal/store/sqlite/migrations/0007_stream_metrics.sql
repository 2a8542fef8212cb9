-- Stream health: a session's 1-second metrics, one row per minute of the session, the
-- minute's points packed into one blob (about 8 bytes a point; see streams.EncodeMinute), so a
-- 12-hour session is 720 small rows.
CREATE TABLE stream_metrics (
    session_id TEXT NOT NULL REFERENCES stream_sessions (id) ON DELETE CASCADE,
    minute     INTEGER NOT NULL, -- Unix time of the minute's start, divided by 60
    points     BLOB NOT NULL,
    PRIMARY KEY (session_id, minute)
);
-- Retention deletes ended sessions by age.
CREATE INDEX stream_sessions_by_end ON stream_sessions (ended_at) WHERE ended_at IS NOT NULL;
