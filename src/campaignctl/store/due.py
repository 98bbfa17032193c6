"""The due enrollments in the order the planner decides them: those whose next possible
moment (`enrollments.next_at`, core/nextdue.py) has come, oldest first.

Each campaign's are an index range on (campaign, status, next_at); the ranges are merged
into one order, the same for the whole plan (`snapshot`) and for a tick reading them a
batch at a time, so a tick can stop reading a campaign as soon as its sender's pace is used
(`Planning.is_used`) without changing a decision:

    key = (0, "", id)         next_at unknown (NULL) and due by its wait: first, by id
          (1, next_at, id)    next_at come: by that moment, then by id

Enrollments made by the apply under way (id above the last one before it) come after all
others, in the order they were made, as the planner takes them (`Planning.due_now`).

Those due by their wait whose next moment is still to come are not read but counted, by
campaign and the rule that put the moment later (`next_why`), in a partial index of only
them (`waiting_later`): a plan still says why they wait.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from typing import Any

from campaignctl.store.codec import ENROLLMENT_COLUMNS
from campaignctl.store.dialect import Conn, in_chunks

Key = tuple[int, str, int]  # (0: next_at unknown / 1: known, next_at, id)
START: Key = (0, "", 0)

_SELECT = f"SELECT id, next_at, {ENROLLMENT_COLUMNS} FROM enrollments"
# next_at unknown: read when due by its wait, by id
_UNKNOWN = (
    f"{_SELECT} WHERE campaign = ? AND status = 'live' AND next_at IS NULL AND next_due_at <= ?"
    " AND id > ? AND id <= ? ORDER BY id"
)
# next_at come (and the wait too: a next_at is never later than the truth, but a wait
# written without it must not make a step due early)
_KNOWN = (
    f"{_SELECT} WHERE campaign = ? AND status = 'live' AND next_at <= ? AND next_due_at <= ?"
    " AND (next_at, id) > (?, ?) AND id <= ? ORDER BY next_at, id"
)
# made by the apply under way: a range of ids (`+status`: not the index on status)
_NEW = f"{_SELECT} WHERE id > ? AND +status = 'live' AND next_due_at <= ? ORDER BY id"

EVERY = 2**62  # an id above every id


def key_of(row: Sequence[Any]) -> Key:
    """The order key of a row read here (its first two columns: id, next_at)."""
    return (0, "", row[0]) if row[1] is None else (1, row[1], row[0])


def live_campaigns(conn: Conn) -> list[str]:
    """The campaigns holding live enrollments, by name."""
    rows = conn.execute("SELECT name FROM campaigns WHERE live_count > 0 ORDER BY name")
    return [str(r[0]) for r in rows]


def campaign_page(
    conn: Conn, campaign: str, at: str, after: Key, limit: int | None, upto: int = EVERY
) -> list[Any]:
    """The campaign's due enrollments after `after` in key order (`limit` at most, None:
    all), of ids up to `upto`. Rows: id, next_at, then ENROLLMENT_COLUMNS."""
    tail = "" if limit is None else f" LIMIT {int(limit)}"
    rows: list[Any] = []
    if after[0] == 0:
        rows = conn.execute(_UNKNOWN + tail, [campaign, at, after[2], upto]).fetchall()
        if limit is not None and len(rows) >= limit:
            return rows
        after = (1, "", 0)
        if limit is not None:
            tail = f" LIMIT {int(limit) - len(rows)}"
    rows.extend(
        conn.execute(_KNOWN + tail, [campaign, at, at, after[1], after[2], upto]).fetchall()
    )
    return rows


def count_after(
    conn: Conn,
    campaign: str,
    at: str,
    after: Key,
    upto: int = EVERY,
    among: Sequence[str] | None = None,
) -> int:
    """How many due enrollments of the campaign come after `after` (ids up to `upto`),
    counted in the index, not read (a wait written without its next moment is counted).
    `among`: only those of these numbers, looked up a chunk at a time.

    Counted the shorter way: the due ones after `after` (a send-out's queue: all but the
    few read), or, when those not due number fewer than PROBE, all the live ones
    (`live_count`) less those not due and those read (`_by_complement`)."""
    if among is None:
        counted = _by_complement(conn, campaign, at, after, upto)
        if counted is not None:
            return counted
    return _count_due_after(conn, campaign, at, after, upto, among)


PROBE = 20_000  # index entries read at most to learn that counting the complement is longer


def _bounded(conn: Conn, campaign: str, where: str, params: list[Any]) -> int:
    """How many live enrollments of the campaign match `where`, counted up to PROBE, in
    the order of their index (else PostgreSQL may read the table for the first PROBE)."""
    sql = (
        "SELECT count(*) FROM (SELECT 1 FROM enrollments WHERE campaign = ?"
        f" AND status = 'live' AND {where} ORDER BY next_at, id LIMIT {PROBE}) AS probed"
    )
    return int(conn.execute(sql, [campaign, *params]).fetchone()[0])


def _by_complement(conn: Conn, campaign: str, at: str, after: Key, upto: int) -> int | None:
    """`count_after` as the campaign's live enrollments less those whose next moment is to
    come, those due by neither moment nor wait, and the due ones up to `after` (at most
    those read); None when an enrollment was made after `upto` (this apply's are not
    counted) or when those to leave out are PROBE or more (the direct count is shorter)."""
    newest = conn.execute("SELECT max(id) FROM enrollments").fetchone()[0]
    if newest is not None and newest > upto:
        return None
    later = _bounded(conn, campaign, "next_at > ?", [at])
    unknown = _bounded(conn, campaign, "next_at IS NULL", [])
    if later >= PROBE or unknown >= PROBE:
        return None
    waiting = _bounded(conn, campaign, "next_at IS NULL AND next_due_at > ?", [at])
    if after[0] == 0:  # passed: those due by their wait (next moment unknown) up to its id
        passed = _bounded(conn, campaign, "next_at IS NULL AND next_due_at <= ? AND id <= ?",
                          [at, after[2]])  # fmt: skip
    else:  # passed: those whose next moment came, up to `after`; and every one due by wait
        # two ranges of the index, each bounded at both ends (PostgreSQL ends a range of a
        # row comparison at its first column only: a million of one moment would be read)
        passed = _bounded(conn, campaign, "next_at < ?", [after[1]])
        passed += _bounded(conn, campaign, "next_at = ? AND id <= ?", list(after[1:]))
    if passed >= PROBE:  # (either count cut short at PROBE)
        return None
    if after[0] == 1:
        passed += unknown - waiting
    (live,) = conn.execute("SELECT live_count FROM campaigns WHERE name = ?", [campaign]).fetchone()
    return int(live) - later - waiting - passed


def _count_due_after(
    conn: Conn,
    campaign: str,
    at: str,
    after: Key,
    upto: int,
    among: Sequence[str] | None,
) -> int:
    """`count_after`, counting the due enrollments after `after` themselves."""
    parts: list[tuple[str, list[Any]]] = []
    if after[0] == 0:  # those whose next moment is unknown, then every one known
        parts.append(("next_at IS NULL AND next_due_at <= ? AND id > ?", [at, after[2]]))
        after = (1, "", 0)
    parts.append(("next_at <= ? AND (next_at, id) > (?, ?)", [at, after[1], after[2]]))
    counted = 0
    for where, params in parts:
        sql = (
            "SELECT count(*) FROM enrollments WHERE campaign = ? AND status = 'live'"
            f" AND {where} AND id <= ?"
        )
        head = [campaign, *params, upto]
        if among is None:
            counted += int(conn.execute(sql, head).fetchone()[0])
        else:
            sql += " AND phone IN ({marks})"
            counted += sum(int(row[0]) for row in in_chunks(conn, sql, head, among))
    return counted


# the live enrollments due by their wait whose next moment is still to come (deferred to a
# window or the 30-day gap: not read before then), counted by campaign and the rule that
# holds them, in an index of only those whose next moment is later than their wait (named:
# SQLite would rather read every enrollment due by its wait)
_LATER = (
    "SELECT campaign, next_why, count(*) FROM enrollments INDEXED BY enrollments_later"
    " WHERE status = 'live' AND next_at > next_due_at AND next_at > ? AND next_due_at <= ?"
    " AND id <= ?"
    " GROUP BY campaign, next_why"
)


def waiting_later(conn: Conn, at: str, upto: int = EVERY) -> dict[tuple[str, str], int]:
    """(campaign, rule) -> how many of its enrollments (ids up to `upto`) are due by their
    wait but wait for their next moment, by the rule that put it later (`next_why`)."""
    return {
        (str(campaign), str(why or "quiet_hours")): int(count)
        for campaign, why, count in conn.execute(_LATER, [at, at, upto]).fetchall()
    }


def new_rows(conn: Conn, at: str, after_id: int, limit: int) -> list[Any]:
    """Enrollments made after `after_id` and due by their wait, in the order they were made."""
    return conn.execute(_NEW + f" LIMIT {int(limit)}", [after_id, at]).fetchall()


def all_due(conn: Conn, at: str) -> Iterator[Any]:
    """Every due enrollment of every campaign, in key order (the whole plan's read)."""
    pages = [campaign_page(conn, name, at, START, None) for name in live_campaigns(conn)]
    return heapq.merge(*pages, key=key_of)
