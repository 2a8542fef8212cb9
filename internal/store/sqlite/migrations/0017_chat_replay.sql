-- Chat replay: the chat lines of a recorded session, each at its offset into the recording
-- (milliseconds from its first frame), kept with the recording and deleted with it. A
-- deleted message or a banned user's lines are removed, as live clients drop them.
CREATE TABLE chat_replay (
    recording_id TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    offset_ms    BIGINT NOT NULL,
    sender_id    TEXT NOT NULL,
    sender       TEXT NOT NULL, -- the sender's attributes, JSON
    content      TEXT NOT NULL,
    PRIMARY KEY (recording_id, message_id)
);
CREATE INDEX chat_replay_by_offset ON chat_replay (recording_id, offset_ms);
