"""The status page's counts kept as summary rows, so that reading them costs the same on a
state of a hundred enrollments and on one of a million (store/dashboard.py reads them).

    summary_enrollments  (campaign, status, end_reason, steps_sent) -> n
    summary_attempts     (campaign, step, status, delivery_status) -> n, credits
    summary_sent_days    (campaign, day) -> attempts recorded sent, by the UTC day made
    summary_ledger_days  (day) -> the sum of the ledger's entries of that UTC day

Each row is the count the page would otherwise take with a GROUP BY over a large table
(no value is '' in the keys where the column is NULL: a key must compare equal to itself).
Triggers keep them in the transaction of the write that changes a counted row, so no write
of the engine, the webhooks, the commands or a script has to remember them: row triggers on
SQLite (migration m011, `SQLITE_SQL` here), statement triggers reading the transition
tables on PostgreSQL (pg_migrations/0009_dashboard_summary.sql), so a statement that ends a
group's thousands of enrollments updates each summary row once, not once a row.

One write is counted by its code instead: inserting enrollments. `enroll_many` inserts a
launch's contacts a batch at a time and adds the batch to the summary once (`add_enrolled`),
as it adds it to `campaigns.live_count`: a trigger there would cost a launch an update per
contact, and on PostgreSQL thousands of updates of the same row in one transaction, each
slower than the one before.

`state copy` rebuilds the summary from the rows it copied (`rebuild_summary`), with the triggers
told to stand aside for that transaction (PostgreSQL: `SUMMARY_REBUILD`).
"""

from __future__ import annotations

from campaignctl.store.dialect import Conn

TABLES = ("summary_enrollments", "summary_attempts", "summary_sent_days", "summary_ledger_days")

# A transaction-local setting (PostgreSQL): 'on' makes the summary triggers do nothing in a
# transaction that rebuilds the summary itself before it commits (`state copy`).
SUMMARY_REBUILD = "campaignctl.summary_rebuild"

# The summary as counted from the rows (the migrations fill it so; a copy rebuilds it so).
FROM_ROWS = {
    "summary_enrollments": (
        "INSERT INTO summary_enrollments (campaign, status, end_reason, steps_sent, n)"
        " SELECT campaign, status, coalesce(end_reason, ''), steps_sent, count(*)"
        " FROM enrollments GROUP BY campaign, status, coalesce(end_reason, ''), steps_sent"
    ),
    "summary_attempts": (
        "INSERT INTO summary_attempts (campaign, step, status, delivery_status, n, credits)"
        " SELECT campaign, step, status, coalesce(delivery_status, ''), count(*), sum(credits)"
        " FROM attempts GROUP BY campaign, step, status, coalesce(delivery_status, '')"
    ),
    "summary_sent_days": (
        "INSERT INTO summary_sent_days (campaign, day, n)"
        " SELECT campaign, substr(created_at, 1, 10), count(*) FROM attempts"
        " WHERE status = 'sent' GROUP BY campaign, substr(created_at, 1, 10)"
    ),
    "summary_ledger_days": (
        "INSERT INTO summary_ledger_days (day, amount)"
        " SELECT substr(at, 1, 10), sum(amount) FROM ledger GROUP BY substr(at, 1, 10)"
    ),
}


def _enrollment(row: str, sign: str) -> str:
    """SQLite: count the enrollment `row` (OLD or NEW) out ("-") or in ("+")."""
    return f"""
        INSERT INTO summary_enrollments (campaign, status, end_reason, steps_sent, n)
        VALUES ({row}.campaign, {row}.status, coalesce({row}.end_reason, ''), {row}.steps_sent,
                {sign}1)
        ON CONFLICT (campaign, status, end_reason, steps_sent) DO UPDATE SET n = n + excluded.n;"""


def _attempt(row: str, sign: str) -> str:
    """SQLite: count the attempt `row` (OLD or NEW) out ("-") or in ("+"), and its day's send
    when it was sent."""
    return f"""
        INSERT INTO summary_attempts (campaign, step, status, delivery_status, n, credits)
        VALUES ({row}.campaign, {row}.step, {row}.status, coalesce({row}.delivery_status, ''),
                {sign}1, {sign}{row}.credits)
        ON CONFLICT (campaign, step, status, delivery_status)
        DO UPDATE SET n = n + excluded.n, credits = credits + excluded.credits;
        INSERT INTO summary_sent_days (campaign, day, n)
        SELECT {row}.campaign, substr({row}.created_at, 1, 10), {sign}1 WHERE {row}.status = 'sent'
        ON CONFLICT (campaign, day) DO UPDATE SET n = n + excluded.n;"""


# SQLite's tables and row triggers (migration m011 in schema.py, after which it fills them).
SQLITE_SQL = f"""
CREATE TABLE summary_enrollments (
    campaign TEXT NOT NULL,
    status TEXT NOT NULL,
    end_reason TEXT NOT NULL,                -- '' for none
    steps_sent INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (campaign, status, end_reason, steps_sent)
) WITHOUT ROWID;
CREATE TABLE summary_attempts (
    campaign TEXT NOT NULL,
    step INTEGER NOT NULL,
    status TEXT NOT NULL,
    delivery_status TEXT NOT NULL,           -- '' for none reported
    n INTEGER NOT NULL,
    credits INTEGER NOT NULL,
    PRIMARY KEY (campaign, step, status, delivery_status)
) WITHOUT ROWID;
CREATE TABLE summary_sent_days (
    campaign TEXT NOT NULL,
    day TEXT NOT NULL,                       -- YYYY-MM-DD (UTC) the attempt was made
    n INTEGER NOT NULL,
    PRIMARY KEY (campaign, day)
) WITHOUT ROWID;
CREATE TABLE summary_ledger_days (
    day TEXT PRIMARY KEY,                    -- YYYY-MM-DD (UTC) of the entries
    amount INTEGER NOT NULL
) WITHOUT ROWID;

-- enrollments: inserts are counted by enroll_many (add_enrolled), a batch at a time
CREATE TRIGGER summary_enrollments_update
    AFTER UPDATE OF campaign, status, end_reason, steps_sent ON enrollments
    WHEN OLD.campaign IS NOT NEW.campaign OR OLD.status IS NOT NEW.status
        OR OLD.end_reason IS NOT NEW.end_reason OR OLD.steps_sent IS NOT NEW.steps_sent
    BEGIN {_enrollment("OLD", "-")} {_enrollment("NEW", "+")}
    END;
CREATE TRIGGER summary_enrollments_delete AFTER DELETE ON enrollments
    BEGIN {_enrollment("OLD", "-")}
    END;

-- attempts: the funnel by step and delivery, and the sends of each day
CREATE TRIGGER summary_attempts_insert AFTER INSERT ON attempts
    BEGIN {_attempt("NEW", "+")}
    END;
CREATE TRIGGER summary_attempts_update
    AFTER UPDATE OF campaign, step, status, delivery_status, credits, created_at ON attempts
    WHEN OLD.campaign IS NOT NEW.campaign OR OLD.step IS NOT NEW.step
        OR OLD.status IS NOT NEW.status OR OLD.delivery_status IS NOT NEW.delivery_status
        OR OLD.credits IS NOT NEW.credits OR OLD.created_at IS NOT NEW.created_at
    BEGIN {_attempt("OLD", "-")} {_attempt("NEW", "+")}
    END;
CREATE TRIGGER summary_attempts_delete AFTER DELETE ON attempts
    BEGIN {_attempt("OLD", "-")}
    END;

-- the ledger is append-only (its own triggers refuse updates and deletes)
CREATE TRIGGER summary_ledger_insert AFTER INSERT ON ledger
    BEGIN
        INSERT INTO summary_ledger_days (day, amount) VALUES (substr(NEW.at, 1, 10), NEW.amount)
        ON CONFLICT (day) DO UPDATE SET amount = amount + excluded.amount;
    END;
"""


def add_enrolled(conn: Conn, campaign: str, count: int) -> None:
    """Inside the write that inserted them: `count` new enrollments of `campaign`, live with
    no step sent (what `enroll_many` inserts)."""
    conn.execute(
        "INSERT INTO summary_enrollments (campaign, status, end_reason, steps_sent, n)"
        " VALUES (?, 'live', '', 0, ?) ON CONFLICT (campaign, status, end_reason, steps_sent)"
        " DO UPDATE SET n = summary_enrollments.n + excluded.n",
        [campaign, count],
    )


def rebuild_summary(conn: Conn) -> None:
    """Inside a write: the summary counted again from the rows, whatever it held."""
    for table in TABLES:
        conn.execute(f"DELETE FROM {table}")
        conn.execute(FROM_ROWS[table])
