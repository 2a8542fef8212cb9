-- Discovery: a channel's title, category and tags, the operator's list of categories, and the
-- search terms of each channel (words of its title, its tags) for the directory's search box.
CREATE TABLE categories (
    slug     TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0
);
INSERT INTO categories (slug, name, position) VALUES
    ('just-chatting', 'Just Chatting', 10),
    ('gaming', 'Gaming', 20),
    ('music', 'Music', 30),
    ('art', 'Art', 40),
    ('tech', 'Tech', 50),
    ('sports', 'Sports', 60),
    ('talk-shows', 'Talk Shows', 70),
    ('irl', 'IRL', 80),
    ('education', 'Education', 90),
    ('other', 'Other', 100);

-- category is a slug of categories or '' (none chosen); tags are space-separated.
ALTER TABLE channels ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE channels ADD COLUMN category TEXT NOT NULL DEFAULT '';
ALTER TABLE channels ADD COLUMN tags TEXT NOT NULL DEFAULT '';
CREATE INDEX channels_by_category ON channels (category) WHERE category <> '';

-- What a channel is found by: the lower-case words of its title and tags (kind 't'), and its
-- username (kind 'u', kept by the account's writes). Prefix search is a range on the term
-- (term >= 'gam' AND term < 'gam' || U+10FFFF), byte-ordered in both databases; a search
-- seeks channel_terms_by_channel once per live channel and word.
CREATE TABLE channel_terms (
    term       TEXT NOT NULL,
    channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL DEFAULT 't',
    PRIMARY KEY (term, channel_id, kind)
);
CREATE INDEX channel_terms_by_channel ON channel_terms (channel_id, term);
INSERT INTO channel_terms (term, channel_id, kind) SELECT u.username_key, c.id, 'u' FROM users u JOIN channels c ON c.user_id = u.id;

-- A stream session keeps the title and category it went live with, updated while it runs.
ALTER TABLE stream_sessions ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE stream_sessions ADD COLUMN category TEXT NOT NULL DEFAULT '';
