"""The tables of the replies, as SQLite creates them (migration m005 in schema.py); the
PostgreSQL migration pg_migrations/0003_replies.sql holds the same, column for column."""

from __future__ import annotations

DID_VALUES = ("opted_out", "opted_in", "help", "ended", "kept", "review", "wrong_number")

REPLIES_SQL = f"""
CREATE TABLE replies (
    id INTEGER PRIMARY KEY,
    received_at TEXT NOT NULL,
    phone TEXT NOT NULL,                     -- who wrote (From)
    sender TEXT,                             -- our number it was sent to (To)
    body TEXT NOT NULL,
    message_sid TEXT NOT NULL UNIQUE,        -- the provider's id of the incoming message
    campaign TEXT,                           -- the enrollment the number was in, if any
    step INTEGER,                            -- the last step sent to it there, if any
    did TEXT NOT NULL CHECK (did IN ({", ".join(f"'{d}'" for d in DID_VALUES)})),
    keyword TEXT                             -- the keyword it amounted to (STOP, START...)
);
CREATE INDEX replies_received ON replies (received_at);
CREATE INDEX replies_phone ON replies (phone);
CREATE INDEX replies_campaign ON replies (campaign, received_at);

CREATE TABLE reply_forwards (
    reply_id INTEGER PRIMARY KEY REFERENCES replies (id),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,                    -- NULL: at once
    last_attempt_at TEXT,
    last_error TEXT,
    forwarded_at TEXT,                       -- the receiver answered 2xx
    forwarded_to TEXT                        -- the URL that accepted it
);
CREATE INDEX reply_forwards_pending ON reply_forwards (reply_id) WHERE forwarded_at IS NULL;
"""
