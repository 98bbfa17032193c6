-- What the last complete sync of each campaign's group read (store/synced.py), so the next
-- one reads only the rows that changed; and an index of the refusals to enroll whose reason
-- can lapse. As SQLite's m013_synced_rows. The bytes are stored as they are (no TOAST
-- compression): a block is read back whole, and compressing a million rows at every launch
-- would cost more than it saves.
-- depends: 0001_state

CREATE TABLE synced_groups (
    campaign ctext PRIMARY KEY REFERENCES campaigns (name),
    digest ctext NOT NULL,                   -- the group digest it was synced at
    rows_key ctext NOT NULL,                 -- what a row's meaning depends on
    manifest ctext NOT NULL,                 -- JSON [[sha256, size, lines], ...]
    numbers bytea NOT NULL                   -- the group's valid numbers, int64 each
);
ALTER TABLE synced_groups ALTER COLUMN numbers SET STORAGE EXTERNAL;

CREATE TABLE synced_blocks (
    campaign ctext NOT NULL,
    digest ctext NOT NULL,                   -- sha256 of the block
    data bytea NOT NULL,
    PRIMARY KEY (campaign, digest)
);
ALTER TABLE synced_blocks ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE INDEX decisions_lapsing ON decisions (campaign, phone)
    WHERE type = 'skip' AND step IS NULL AND reason IN ('dnc', 'opted_out', 'wrong_number');
