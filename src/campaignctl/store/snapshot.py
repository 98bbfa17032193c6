"""The one read the planner needs: a consistent Snapshot of the observed state.

Built so a tick costs what is due, not what exists: `due` is an index range on
(campaign, status, next_at) per campaign (store/due.py); enrolled/live sets are read only
for campaigns whose group digest changed; per-phone facts only for the phones of those
groups and of `due`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime, timedelta

from campaignctl.core.types import CampaignState, Desired, Enrollment, Snapshot
from campaignctl.store.codec import enrollment_from_row, launch_from_json, launch_value
from campaignctl.store.db import StoreBase, from_text, to_text
from campaignctl.store.dialect import Conn
from campaignctl.store.due import all_due, waiting_later
from campaignctl.store.review import held_phones, wrong_phones
from campaignctl.store.waitlist import freed_waiters, held_back, returning_of

CHUNK = 5000  # phones per IN (...) query
SCAN_RATIO = 2  # read a whole table rather than look numbers up when they are half of it
SCAN_MIN = 100_000  # ... and when they are this many at least


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _campaigns(conn: Conn) -> dict[str, CampaignState]:
    rows = conn.execute(
        "SELECT name, status, reason, launch, group_digest, live_count, config_error FROM campaigns"
    ).fetchall()
    return {
        name: CampaignState(
            name=name,
            status=status,
            reason=reason,
            launch=launch_from_json(launch) if launch else None,
            group_digest=digest,
            live_enrollments=live_count,
            config_error=config_error,
        )
        for name, status, reason, launch, digest, live_count, config_error in rows
    }


def in_flight(conn: Conn) -> set[tuple[str, str]]:
    """(campaign, phone) of the attempts whose outcome is not known yet."""
    rows = conn.execute(
        "SELECT campaign, phone FROM attempts WHERE status IN ('pending', 'unknown')"
    ).fetchall()
    return {(str(campaign), str(phone)) for campaign, phone in rows}


def _due(conn: Conn, now: datetime) -> list[Enrollment]:
    """The enrollments whose next moment has come, in the planner's order (store/due.py),
    as a tick reads them (none with an attempt in flight)."""
    waiting = in_flight(conn)
    return [
        enrollment_from_row(row[2:])
        for row in all_due(conn, to_text(now))
        if (row[2], row[3]) not in waiting
    ]


def _changed_groups(
    conn: Conn, desired: Desired, campaigns: dict[str, CampaignState]
) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]], set[str]]:
    """enrolled and live phone sets of each campaign whose loaded group changed, and the
    phones of those groups' contacts."""
    enrolled: dict[str, frozenset[str]] = {}
    live: dict[str, frozenset[str]] = {}
    phones: set[str] = set()
    for name, spec in desired.campaigns.items():
        group = desired.groups.get(spec.prospect_group)
        if group is None or not group.loaded:
            continue
        state = campaigns.get(name)
        if state is not None and state.group_digest == group.digest:
            continue
        rows = conn.execute(
            "SELECT phone, status FROM enrollments WHERE campaign = ?", [name]
        ).fetchall()
        enrolled[name] = frozenset(phone for phone, _ in rows)
        live[name] = frozenset(phone for phone, status in rows if status == "live")
        phones.update(contact.phone for contact in group.contacts)
    return enrolled, live, phones


def _live_owner(conn: Conn, phones: AbstractSet[str], live_total: int) -> dict[str, str]:
    first: dict[str, tuple[str, int, str]] = {}
    if len(phones) >= SCAN_MIN and len(phones) * SCAN_RATIO >= live_total:
        # most live enrollments are asked for (a large new group): one pass over them all
        # costs less than looking each number up
        rows: Iterable[tuple[str, str, str, int]] = (
            row
            for row in conn.execute(
                "SELECT phone, campaign, enrolled_at, id FROM enrollments WHERE status = 'live'"
            )
            if row[0] in phones
        )
    else:
        rows = live_rows(conn, phones)
    for phone, campaign, enrolled_at, row_id in rows:
        seen = first.get(phone)
        if seen is None or (enrolled_at, row_id) < seen[:2]:
            first[phone] = (enrolled_at, row_id, campaign)  # the first to enroll owns it
    return {phone: campaign for phone, (_, _, campaign) in first.items()}


def live_rows(conn: Conn, phones: AbstractSet[str]) -> Iterator[tuple[str, str, str, int]]:
    for chunk in _chunks(sorted(phones)):
        marks = ",".join("?" * len(chunk))
        # `+status`: look the phones up by their index, never scan every live enrollment
        yield from conn.execute(
            "SELECT phone, campaign, enrolled_at, id FROM enrollments"
            f" WHERE phone IN ({marks}) AND +status = 'live'",
            chunk,
        )


def last_sent_of(conn: Conn, phones: AbstractSet[str]) -> dict[str, datetime]:
    last: dict[str, datetime] = {}
    if len(phones) >= SCAN_MIN:  # counting the table is a pass over it too: only then
        known = conn.execute("SELECT count(*) FROM phones").fetchone()[0]
        if len(phones) * SCAN_RATIO >= known:  # most of the table: one pass over it
            for phone, at in conn.execute("SELECT phone, last_sent_at FROM phones"):
                if phone in phones:
                    last[phone] = from_text(at)
            return last
    for chunk in _chunks(sorted(phones)):
        marks = ",".join("?" * len(chunk))
        for phone, at in conn.execute(
            f"SELECT phone, last_sent_at FROM phones WHERE phone IN ({marks})", chunk
        ):
            last[phone] = from_text(at)
    return last


def _sent_today(conn: Conn, now: datetime) -> dict[str, int]:
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = conn.execute(
        "SELECT sender_key, count(*) FROM attempts"
        " WHERE created_at >= ? AND created_at < ? AND status NOT IN ('retry', 'failed')"
        " GROUP BY sender_key",
        [to_text(day), to_text(day + timedelta(days=1))],
    ).fetchall()
    return {str(key): int(count) for key, count in rows}


class SnapshotMixin(StoreBase):
    def group_digests(self) -> dict[str, str]:
        """campaign -> the group digest its enrollments were last synced with."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT name, group_digest FROM campaigns WHERE group_digest IS NOT NULL"
            ).fetchall()
        return {str(name): str(digest) for name, digest in rows}

    def synced_groups(self) -> dict[str, str]:
        """group name -> digest, for groups the loader need not parse again: the digest
        every not-completed campaign launched with that group was last synced with.

        A group named by campaigns with different digests is left out (parse it). The state
        cannot know about a campaign that has not launched yet: a caller that reuses a group
        for a new campaign must parse it anyway (compare `group_digests()` with the config).
        """
        with self._read() as conn:
            rows = conn.execute(
                "SELECT launch, group_digest FROM campaigns"
                " WHERE launch IS NOT NULL AND status <> 'completed'"
            ).fetchall()
        digests: dict[str, set[str | None]] = {}
        for launch, digest in rows:
            group = launch_value(launch, "prospect_group")
            digests.setdefault(str(group), set()).add(digest)
        synced: dict[str, str] = {}
        for group, found in digests.items():
            only = found.pop() if len(found) == 1 else None
            if only is not None:
                synced[group] = only
        return synced

    def snapshot(self, desired: Desired, now: datetime, *, with_due: bool = True) -> Snapshot:
        """Everything the planner reads, from one consistent read transaction. Without
        `with_due`, no enrollment is read: a streamed apply reads them a batch at a time."""
        with self._read() as conn:
            serial, balance, suspended = conn.execute(
                "SELECT serial, balance, suspended_reason FROM meta WHERE id = 1"
            ).fetchone()
            campaigns = _campaigns(conn)
            due = _due(conn, now) if with_due else []
            enrolled, live, phones = _changed_groups(conn, desired, campaigns)
            returning = {name: back for name in enrolled if (back := returning_of(conn, name))}
            waiters = freed_waiters(conn, desired) if with_due else ()
            phones.update(e.phone for e in due)
            phones.update(w.contact.phone for w in waiters)
            opted_out = frozenset(r[0] for r in conn.execute("SELECT phone FROM optouts"))
            return Snapshot(
                serial=serial,
                campaigns=campaigns,
                due=tuple(due),
                enrolled=enrolled,
                live=live,
                live_owner=_live_owner(
                    conn, phones, sum(c.live_enrollments for c in campaigns.values())
                ),
                last_sent=last_sent_of(conn, phones),
                opted_out=opted_out,
                balance=balance,
                suspended=suspended,
                sent_today=_sent_today(conn, now),
                held=held_phones(conn),
                wrong_numbers=wrong_phones(conn),
                waiters=waiters,
                returning=returning,
                held_back=held_back(conn, desired, campaigns),
                later=waiting_later(conn, to_text(now)) if with_due else {},
            )
