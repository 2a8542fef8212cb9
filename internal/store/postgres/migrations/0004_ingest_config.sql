-- The encoder's declared configuration at go-live, as JSON (codec, profile, level, size,
-- frame rate, bitrates, audio).
ALTER TABLE stream_sessions ADD COLUMN ingest_config TEXT NOT NULL DEFAULT '';
