-- Each streamer's saved stream-action configurations (the last values of each action's form),
-- one row per action name; the data is the action's JSON.
CREATE TABLE stream_action_configs (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    data       TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, name)
);
