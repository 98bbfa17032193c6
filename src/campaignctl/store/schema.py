"""The state's schema as an ordered set of migrations (sqlite-utils `Migrations`).

A database carries `PRAGMA application_id` (it is ours) and `PRAGMA user_version` (how many
migrations it has). Opening refuses a foreign or newer database and migrates an older one
inside one write transaction, so two processes opening an old file at once cannot both
migrate it. Migrations only ever add: history is never dropped.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database, Migrations

from campaignctl.errors import StateError
from campaignctl.store.replies_schema import REPLIES_SQL
from campaignctl.store.summary import FROM_ROWS, SQLITE_SQL
from campaignctl.store.summary import TABLES as SUMMARY_TABLES

APPLICATION_ID = 0x63616D70  # "camp"
MIGRATION_SET = "campaignctl"

migrations = Migrations(MIGRATION_SET)

STATUS_CHECK = "CHECK (status IN ('draft', 'active', 'paused', 'completed'))"


@migrations()
def m001_state(db: Database) -> None:
    """Campaigns, enrollments, attempts, the ledger, opt-outs, runs and the lease."""
    db.executescript(f"""
    CREATE TABLE meta (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        serial INTEGER NOT NULL DEFAULT 0,
        balance INTEGER NOT NULL DEFAULT 0,      -- SUM(ledger.amount), kept by a trigger
        suspended_reason TEXT,
        suspended_at TEXT
    );
    INSERT INTO meta (id) VALUES (1);

    CREATE TABLE campaigns (
        name TEXT PRIMARY KEY,
        status TEXT NOT NULL {STATUS_CHECK},
        reason TEXT,
        launch TEXT,                             -- JSON of core.types.LaunchRecord
        group_digest TEXT,
        live_count INTEGER NOT NULL DEFAULT 0,   -- enrollments live, kept by triggers
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        launched_at TEXT
    );

    CREATE TABLE enrollments (
        id INTEGER PRIMARY KEY,
        campaign TEXT NOT NULL REFERENCES campaigns (name),
        phone TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('live', 'done', 'ended')),
        end_reason TEXT,
        steps_sent INTEGER NOT NULL DEFAULT 0,
        last_sent_at TEXT,
        next_due_at TEXT NOT NULL,
        enrolled_at TEXT NOT NULL,
        ended_at TEXT,
        fields TEXT NOT NULL,                    -- JSON object
        zones TEXT NOT NULL,                     -- JSON list of IANA zones
        us_state TEXT,
        UNIQUE (campaign, phone)
    );
    CREATE INDEX enrollments_due ON enrollments (status, next_due_at);
    CREATE INDEX enrollments_phone ON enrollments (phone);
    CREATE TRIGGER enrollments_count_insert AFTER INSERT ON enrollments
        WHEN NEW.status = 'live'
        BEGIN UPDATE campaigns SET live_count = live_count + 1 WHERE name = NEW.campaign; END;
    CREATE TRIGGER enrollments_count_update AFTER UPDATE OF status ON enrollments
        WHEN OLD.status <> NEW.status
        BEGIN
            UPDATE campaigns
            SET live_count = live_count + (NEW.status = 'live') - (OLD.status = 'live')
            WHERE name = NEW.campaign;
        END;
    CREATE TRIGGER enrollments_count_delete AFTER DELETE ON enrollments
        WHEN OLD.status = 'live'
        BEGIN UPDATE campaigns SET live_count = live_count - 1 WHERE name = OLD.campaign; END;

    CREATE TABLE phones (
        phone TEXT PRIMARY KEY,
        last_sent_at TEXT NOT NULL               -- last message to it, any campaign
    ) WITHOUT ROWID;

    CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        campaign TEXT NOT NULL REFERENCES campaigns (name),
        phone TEXT NOT NULL,
        step INTEGER NOT NULL CHECK (step >= 1),
        body TEXT NOT NULL,
        segments INTEGER NOT NULL,
        credits INTEGER NOT NULL CHECK (credits >= 0),
        sender_key TEXT NOT NULL,
        provider TEXT NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('pending', 'unknown', 'sent', 'retry', 'failed')),
        provider_id TEXT,
        error_code INTEGER,
        detail TEXT,
        billed_segments INTEGER,
        delivery_status TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    -- the same step of an enrollment can never be recorded sent (or in flight) twice
    CREATE UNIQUE INDEX attempts_one_per_step ON attempts (campaign, phone, step)
        WHERE status IN ('pending', 'unknown', 'sent');
    CREATE INDEX attempts_in_flight ON attempts (campaign, phone)
        WHERE status IN ('pending', 'unknown');
    CREATE INDEX attempts_created ON attempts (created_at);
    CREATE INDEX attempts_phone ON attempts (phone);
    CREATE INDEX attempts_provider_id ON attempts (provider_id)
        WHERE provider_id IS NOT NULL;

    CREATE TABLE ledger (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        amount INTEGER NOT NULL,                 -- + top-up or refund, - debit
        note TEXT,
        attempt_id INTEGER REFERENCES attempts (id)
    );
    CREATE INDEX ledger_attempt ON ledger (attempt_id) WHERE attempt_id IS NOT NULL;
    CREATE TRIGGER ledger_balance AFTER INSERT ON ledger
        BEGIN UPDATE meta SET balance = balance + NEW.amount WHERE id = 1; END;
    CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
        BEGIN SELECT RAISE(ABORT, 'the credit ledger is append-only'); END;
    CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
        BEGIN SELECT RAISE(ABORT, 'the credit ledger is append-only'); END;

    CREATE TABLE optouts (
        phone TEXT PRIMARY KEY,
        at TEXT NOT NULL,
        source TEXT NOT NULL CHECK (source IN ('sms', 'manual', 'provider')),
        note TEXT
    ) WITHOUT ROWID;
    CREATE TABLE optout_history (
        id INTEGER PRIMARY KEY,
        phone TEXT NOT NULL,
        at TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('add', 'remove')),
        source TEXT NOT NULL CHECK (source IN ('sms', 'manual', 'provider')),
        reason TEXT
    );
    CREATE INDEX optout_history_phone ON optout_history (phone);

    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        plan_digest TEXT NOT NULL,
        counts TEXT NOT NULL,                    -- JSON object: action type -> count
        serial INTEGER NOT NULL
    );

    CREATE TABLE lease (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        holder TEXT,
        token INTEGER NOT NULL DEFAULT 0,        -- fencing token: only ever increases
        expires_at REAL NOT NULL DEFAULT 0,      -- wall-clock epoch seconds
        acquired_at REAL
    );
    INSERT INTO lease (id) VALUES (1);
    """)


@migrations()
def m002_decisions_webhooks_outbox(db: Database) -> None:
    """Decisions for `explain`, webhook idempotency, and the outbox provider's messages."""
    db.executescript("""
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,                        -- first time this decision was made
        last_at TEXT NOT NULL,                   -- last time (a repeated defer updates it)
        repeats INTEGER NOT NULL DEFAULT 1,
        campaign TEXT NOT NULL,
        phone TEXT,
        type TEXT NOT NULL,
        step INTEGER,
        reason TEXT,
        until TEXT,
        detail TEXT
    );
    CREATE INDEX decisions_phone ON decisions (phone, campaign, id);

    CREATE TABLE webhook_events (
        message_sid TEXT PRIMARY KEY,
        at TEXT NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE outbox (
        id TEXT PRIMARY KEY,                     -- "OB..." like a provider message id
        attempt_id INTEGER NOT NULL UNIQUE,
        at TEXT NOT NULL,
        campaign TEXT NOT NULL,
        "to" TEXT NOT NULL,
        sender TEXT,
        step INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX outbox_at ON outbox (at);
    """)


@migrations()
def m003_enrollment_source(db: Database) -> None:
    """Where each enrollment's contact came from (`enrollments.source`); and no insert
    trigger: the code that inserts enrollments adds them to `campaigns.live_count` in the
    same transaction, once per batch instead of once per row."""
    db.execute("ALTER TABLE enrollments ADD COLUMN source TEXT")  # str of errors.Location
    db.execute("DROP TRIGGER IF EXISTS enrollments_count_insert")


ENROLLMENT_COLUMNS = (
    "id, campaign, phone, status, end_reason, steps_sent, last_sent_at, next_due_at,"
    " enrolled_at, ended_at, fields, zones, us_state, source"
)


@migrations()
def m004_enrollments_keyed_by_number(db: Database) -> None:
    """One index ordered by number instead of two: the unique key of an enrollment becomes
    (phone, campaign), which also serves every look-up by number, and look-ups by campaign
    get (campaign, status). Each index ordered by number costs a launch a random insert per
    contact (a tenth of the time of a launch of a million); the other two grow in order."""
    db.execute("""
    CREATE TABLE enrollments_keyed (
        id INTEGER PRIMARY KEY,
        campaign TEXT NOT NULL REFERENCES campaigns (name),
        phone TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('live', 'done', 'ended')),
        end_reason TEXT,
        steps_sent INTEGER NOT NULL DEFAULT 0,
        last_sent_at TEXT,
        next_due_at TEXT NOT NULL,
        enrolled_at TEXT NOT NULL,
        ended_at TEXT,
        fields TEXT NOT NULL,                    -- JSON object
        zones TEXT NOT NULL,                     -- JSON list of IANA zones
        us_state TEXT,
        source TEXT,                             -- file:line:col the contact came from
        UNIQUE (phone, campaign)
    )""")
    db.execute(
        f"INSERT INTO enrollments_keyed ({ENROLLMENT_COLUMNS})"
        f" SELECT {ENROLLMENT_COLUMNS} FROM enrollments ORDER BY id"
    )
    db.execute("DROP TABLE enrollments")  # with its indexes and triggers
    db.execute("ALTER TABLE enrollments_keyed RENAME TO enrollments")
    db.execute("CREATE INDEX enrollments_due ON enrollments (status, next_due_at)")
    db.execute("CREATE INDEX enrollments_campaign ON enrollments (campaign, status)")
    db.execute("""
    CREATE TRIGGER enrollments_count_update AFTER UPDATE OF status ON enrollments
        WHEN OLD.status <> NEW.status
        BEGIN
            UPDATE campaigns
            SET live_count = live_count + (NEW.status = 'live') - (OLD.status = 'live')
            WHERE name = NEW.campaign;
        END""")
    db.execute("""
    CREATE TRIGGER enrollments_count_delete AFTER DELETE ON enrollments
        WHEN OLD.status = 'live'
        BEGIN UPDATE campaigns SET live_count = live_count - 1 WHERE name = OLD.campaign; END""")


@migrations()
def m005_review_holds_wrong_numbers(db: Database) -> None:
    """Numbers held for review after a reply that may revoke consent, and wrong numbers
    (store/review.py)."""
    db.executescript("""
    CREATE TABLE review_holds (
        id INTEGER PRIMARY KEY,
        phone TEXT NOT NULL,
        since TEXT NOT NULL,
        text TEXT NOT NULL,                      -- the reply
        verdict TEXT NOT NULL,                   -- the rule and words that held it
        decided_at TEXT,
        decision TEXT CHECK (decision IN ('keep', 'optout')),
        reason TEXT
    );
    -- at most one open hold per number
    CREATE UNIQUE INDEX review_holds_open ON review_holds (phone) WHERE decided_at IS NULL;

    CREATE TABLE wrong_numbers (
        phone TEXT PRIMARY KEY,
        at TEXT NOT NULL,
        text TEXT,                               -- the reply that said so
        verdict TEXT
    ) WITHOUT ROWID;
    """)


@migrations()
def m006_replies(db: Database) -> None:
    """Every incoming SMS kept (`replies`), and one forward row per reply: the outbox the
    controller empties into `replies.forwardUrl` (store/replies.py)."""
    db.executescript(REPLIES_SQL)


@migrations()
def m007_config_dir(db: Database) -> None:
    """The config directory the state belongs to (store/owner.py): its name, which
    commands compare, and its resolved path when it was recorded."""
    db.execute("ALTER TABLE meta ADD COLUMN config_dir_name TEXT")
    db.execute("ALTER TABLE meta ADD COLUMN config_dir_path TEXT")


@migrations()
def m008_waiting_numbers(db: Database) -> None:
    """The numbers a campaign waits for (skipped `already_enrolled`), with their contact as
    the group listed it, so each is enrolled the moment it is free without reading the group
    again: a trigger marks a number's rows free when its live enrollment ends, and a tick
    reads only the rows marked (free: 0 held by another campaign, 1 freed, 2 freed before
    the apply under way began). The campaigns that skipped numbers `already_enrolled`
    before this table existed read their group again at the next apply, which fills it."""
    db.executescript("""
    CREATE TABLE waiting (
        id INTEGER PRIMARY KEY,
        phone TEXT NOT NULL,
        campaign TEXT NOT NULL REFERENCES campaigns (name),
        digest TEXT NOT NULL,                    -- the group digest of the sync that skipped it
        since TEXT NOT NULL,                     -- first skipped `already_enrolled`
        fields TEXT NOT NULL,                    -- JSON object
        zones TEXT NOT NULL,                     -- JSON list of IANA zones
        us_state TEXT,
        source TEXT NOT NULL,                    -- file:line:col the contact came from
        free INTEGER NOT NULL DEFAULT 0 CHECK (free IN (0, 1, 2)),
        UNIQUE (phone, campaign)
    );
    CREATE INDEX waiting_campaign ON waiting (campaign, digest);
    CREATE INDEX waiting_free ON waiting (free, since, id);
    CREATE TRIGGER enrollments_free AFTER UPDATE OF status ON enrollments
        WHEN OLD.status = 'live' AND NEW.status <> 'live'
        BEGIN UPDATE waiting SET free = 1 WHERE phone = NEW.phone AND free = 0; END;
    UPDATE campaigns SET group_digest = NULL WHERE name IN
        (SELECT campaign FROM decisions WHERE type = 'skip' AND reason = 'already_enrolled');
    """)


@migrations()
def m009_campaign_config_error(db: Database) -> None:
    """The configuration error that holds a campaign (file:line: message), recorded by the
    apply while a file it depends on fails to load or check; NULL when nothing holds it."""
    db.execute("ALTER TABLE campaigns ADD COLUMN config_error TEXT")


@migrations()
def m010_dashboard_indexes(db: Database) -> None:
    """Indexes that hold everything the status page counts (store/dashboard.py), so a state
    of a million enrollments is counted without reading a row: the funnel of enrollments
    and of attempts, the sends of each day, the balance of each day."""
    db.executescript("""
    CREATE INDEX enrollments_funnel ON enrollments (campaign, status, end_reason, steps_sent);
    CREATE INDEX attempts_funnel ON attempts (campaign, step, status, delivery_status, credits);
    CREATE INDEX attempts_sent_at ON attempts (campaign, created_at, status) WHERE status = 'sent';
    CREATE INDEX ledger_at ON ledger (at, amount);
    """)


@migrations()
def m011_dashboard_summary(db: Database) -> None:
    """The status page's counts kept as summary rows by triggers (store/summary.py), counted
    here from the rows the state holds: the page reads a few rows whatever the state's size."""
    db.executescript(SQLITE_SQL)
    for table in SUMMARY_TABLES:
        db.execute(FROM_ROWS[table])


@migrations()
def m012_next_at(db: Database) -> None:
    """`enrollments.next_at`: the earliest instant a live enrollment's next step can go out,
    as far as the state knows (its wait, the 30-day gap, the window of its quiet hours), a
    lower bound never later than the truth; and an index on it by campaign, so a tick reads
    only what can go out now, oldest first, and stops once a sender's pace is used
    (store/due.py). NULL: unknown, the enrollment is read when due by its wait. The rows
    already kept get their wait (next_due_at): a lower bound. `next_why`: the rule that
    holds one whose next moment is later than its wait (quiet_hours, recent_outreach), so a
    plan counts those waiting without reading them (`enrollments_later` holds only those)."""
    db.execute("ALTER TABLE enrollments ADD COLUMN next_at TEXT")
    db.execute("ALTER TABLE enrollments ADD COLUMN next_why TEXT")
    db.execute("UPDATE enrollments SET next_at = next_due_at")
    db.execute("CREATE INDEX enrollments_next ON enrollments (campaign, status, next_at)")
    db.execute(
        "CREATE INDEX enrollments_later ON enrollments"
        " (next_at, campaign, next_why, next_due_at, status)"
        " WHERE status = 'live' AND next_at > next_due_at"
    )


@migrations()
def m013_synced_rows(db: Database) -> None:
    """What the last complete sync of each campaign's group read (store/synced.py), so the
    next one reads only the rows that changed; and an index of the refusals to enroll whose
    reason can lapse (a number off a do-not-call list, opted in again)."""
    db.executescript("""
    CREATE TABLE synced_groups (
        campaign TEXT PRIMARY KEY REFERENCES campaigns (name),
        digest TEXT NOT NULL,                    -- the group digest it was synced at
        rows_key TEXT NOT NULL,                  -- what a row's meaning depends on
        manifest TEXT NOT NULL,                  -- JSON [[sha256, size, lines], ...]
        numbers BLOB NOT NULL                    -- the group's valid numbers, int64 each
    );
    CREATE TABLE synced_blocks (
        campaign TEXT NOT NULL,
        digest TEXT NOT NULL,                    -- sha256 of the block
        data BLOB NOT NULL,
        PRIMARY KEY (campaign, digest)
    );
    CREATE INDEX decisions_lapsing ON decisions (campaign, phone)
        WHERE type = 'skip' AND step IS NULL AND reason IN ('dnc', 'opted_out', 'wrong_number');
    """)


@migrations()
def m014_drop_unread_indexes(db: Database) -> None:
    """Indexes nothing reads any more, dropped so that no write keeps them: the status page
    and `status` count from the summary rows (m011), and a campaign's enrollments by status
    are read through enrollments_next (m012), which begins with the same columns."""
    db.executescript("""
    DROP INDEX enrollments_funnel;
    DROP INDEX attempts_funnel;
    DROP INDEX attempts_sent_at;
    DROP INDEX ledger_at;
    DROP INDEX enrollments_campaign;
    """)


MIGRATIONS = (
    m001_state,
    m002_decisions_webhooks_outbox,
    m003_enrollment_source,
    m004_enrollments_keyed_by_number,
    m005_review_holds_wrong_numbers,
    m006_replies,
    m007_config_dir,
    m008_waiting_numbers,
    m009_campaign_config_error,
    m010_dashboard_indexes,
    m011_dashboard_summary,
    m012_next_at,
    m013_synced_rows,
    m014_drop_unread_indexes,
)  # in order; append, never edit


def known_migrations() -> list[str]:
    return [m.__name__ for m in MIGRATIONS]


def _table_names(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return [str(r[0]) for r in rows]


def _check_identity(conn: sqlite3.Connection, where: str) -> bool:
    """True when the database is ours; False when it is empty (to initialise)."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id == APPLICATION_ID:
        return True
    if app_id == 0 and not _table_names(conn):
        return False
    raise StateError(
        f"{where}: not a campaignctl state database (it holds other data); "
        "refusing to use or overwrite it"
    )


def _check_version(conn: sqlite3.Connection, where: str) -> int:
    """Return the schema version; refuse one newer than this code."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    known = known_migrations()
    applied: list[str] = []
    if "_sqlite_migrations" in _table_names(conn):
        rows = conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ? ORDER BY rowid",
            [MIGRATION_SET],
        ).fetchall()
        applied = [str(r[0]) for r in rows]
    unknown = [name for name in applied if name not in known]
    if version > len(known) or unknown:
        raise StateError(
            f"{where}: the state database has schema version {max(version, len(applied))}, "
            f"newer than this campaignctl understands ({len(known)}); upgrade campaignctl"
        )
    return version


def check_and_migrate(conn: sqlite3.Connection, path: Path | None, *, read_only: bool) -> None:
    where = str(path) if path is not None else "state"
    ours = _check_identity(conn, where)
    version = _check_version(conn, where) if ours else 0
    latest = len(known_migrations())
    if version == latest:
        return
    if read_only:
        state = "is empty" if not ours else f"has the older schema version {version}"
        raise StateError(f"{where}: the state database {state} and is read-only")
    if path is not None:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN IMMEDIATE")  # re-checked under the write lock: one migrator at a time
    try:
        ours = _check_identity(conn, where)
        if not ours or _check_version(conn, where) < latest:
            migrations.apply(Database(conn, execute_plugins=False))
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {latest}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
