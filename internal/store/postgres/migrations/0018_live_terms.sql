-- The search terms of the channels live now (a started, open session): a copy of their
-- channel_terms rows, replaced whenever a session starts or ends and whenever a channel's
-- terms change (its title, tags or username), in the same transaction. A search reads the
-- prefix range of one of its words here, so it costs what matches among the live channels,
-- where walking the live sessions and seeking channel_terms for each cost one seek per live
-- channel whether it matched or not.
CREATE TABLE live_terms (
    term       TEXT COLLATE "C" NOT NULL,
    channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    PRIMARY KEY (term, channel_id)
);
CREATE INDEX live_terms_by_channel ON live_terms (channel_id, term);
INSERT INTO live_terms (term, channel_id)
    SELECT DISTINCT t.term, t.channel_id FROM channel_terms t
    JOIN stream_sessions live ON live.channel_id = t.channel_id AND live.ended_at IS NULL AND live.started_at IS NOT NULL;

-- The directory's order is start, newest first, then channel id (descending), so that a page's
-- cursor (its last start and channel id) is a range of this index.
DROP INDEX stream_sessions_live;
CREATE INDEX stream_sessions_live ON stream_sessions (started_at, channel_id) WHERE ended_at IS NULL AND started_at IS NOT NULL;
