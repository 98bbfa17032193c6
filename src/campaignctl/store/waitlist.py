"""The numbers campaigns wait for: skipped `already_enrolled` because another campaign holds
them, enrolled the moment they are free, without reading their group again.

The sync that skips a number keeps its contact as the group listed it (`wait_for`), with
the group's digest: a row whose digest is not the group's any more is stale (the group's
next sync decides again). When a live enrollment ends, a trigger marks the rows of its
number free, so a tick reads only those (an index of the rows marked), whatever the size
of the groups: with nothing freed it costs one empty index range. An apply first takes the
numbers freed so far (`take_freed`: free 1 -> 2) and, after its syncs, enrolls them a
batch at a time (`freed_batches`), first waiting first; the planner decides, every rule
applying (core.enrollment.rejoin_waiters).

    store.wait_for("autumn", digest, contacts, now)   # skipped: another campaign holds them
    store.take_freed()                                 # at the start of an apply
    for batch in store.freed_batches({"autumn": digest}, 5000): ...
    store.joined("autumn", contacts, now, revive=False)  # enrolled: they wait no more
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from campaignctl.core.types import CampaignState, Contact, Desired, Enrollment, Waiter
from campaignctl.errors import Location
from campaignctl.store.codec import (
    enrollment_from_row,
    fields_from_json,
    fields_to_json,
    zones_from_json,
    zones_to_json,
)
from campaignctl.store.db import StoreBase, from_text, to_text
from campaignctl.store.dialect import Conn

CHUNK = 5000  # numbers per IN (...) query
FREED = 1  # the number's live enrollment ended
TAKEN = 2  # freed before the apply under way began: enrolled by it

_WAITER_COLUMNS = (
    "w.id, w.phone, w.campaign, w.since, w.fields, w.zones, w.us_state, w.source,"
    " e.status, e.end_reason, e.steps_sent, e.last_sent_at, e.next_due_at, e.enrolled_at"
)


def location_of(text: str) -> Location:
    """A Location from its text (`file`, `file:line` or `file:line:col`)."""
    parts = text.rsplit(":", 2)
    numbers: list[int] = []
    while len(parts) > 1 and parts[-1].isdigit():
        numbers.insert(0, int(parts.pop()))
    file = ":".join(parts)
    line = numbers[0] if numbers else None
    col = numbers[1] if len(numbers) > 1 else None
    return Location(file, line, col)


def _waiter(row: Sequence[Any]) -> Waiter | None:
    """The waiter of a row; None when the campaign holds an enrollment of the number other
    than one that ended `removed` (nothing to enroll)."""
    (_, phone, campaign, since, fields, zones, us_state, source,
     status, end_reason, steps_sent, last_sent, next_due, enrolled_at) = row  # fmt: skip
    previous = None
    if status is not None:
        if status != "ended" or end_reason != "removed":
            return None
        previous = enrollment_from_row(
            (campaign, phone, steps_sent, last_sent, next_due, enrolled_at, fields, zones,
             us_state)
        )  # fmt: skip
    contact = Contact(
        phone=phone,
        fields=fields_from_json(fields),
        zones=zones_from_json(zones),
        us_state=us_state,
        source=location_of(source),
    )
    return Waiter(campaign, contact, from_text(since), previous)


def running_digests(desired: Desired) -> dict[str, str]:
    """campaign -> its group's digest, for the campaigns the files want active: the only
    ones whose waiting numbers may be enrolled."""
    found: dict[str, str] = {}
    for name, spec in desired.campaigns.items():
        group = desired.groups.get(spec.prospect_group)
        if spec.status == "active" and group is not None:
            found[name] = group.digest
    return found


def _select(
    conn: Conn, digests: Mapping[str, str], where: str, params: Sequence[Any], limit: int = 0
) -> list[tuple[tuple[str, int], Waiter | None]]:
    """The rows matching `where` (with `params`) of these campaigns skipped by their group
    as it is now (campaign -> its digest; a row of an older version is the next sync's to
    decide), first waiting first (`limit` of them, 0: all), each with its key (since, id)
    and its waiter (None: nothing to enroll)."""
    if not digests:
        return []
    mine = " OR ".join("(w.campaign = ? AND w.digest = ?)" for _ in digests)
    sql = (
        f"SELECT {_WAITER_COLUMNS} FROM waiting w"
        " LEFT JOIN enrollments e ON e.phone = w.phone AND e.campaign = w.campaign"
        f" WHERE {where} AND ({mine}) ORDER BY w.since, w.id"
    )
    values: list[Any] = [*params]
    for campaign, digest in sorted(digests.items()):
        values += [campaign, digest]
    if limit:
        sql += " LIMIT ?"
        values.append(limit)
    return [
        ((str(row[3]), int(row[0])), _waiter(row)) for row in conn.execute(sql, values).fetchall()
    ]


def freed_waiters(conn: Conn, desired: Desired) -> tuple[Waiter, ...]:
    """Every number free now that a campaign the files want active waits for (its group as
    it was when the number was skipped), first waiting first."""
    rows = _select(conn, running_digests(desired), "w.free > 0", ())
    return tuple(waiter for _, waiter in rows if waiter is not None)


_REMOVED = (
    "SELECT campaign, phone, steps_sent, last_sent_at, next_due_at, enrolled_at, fields, zones,"
    " us_state FROM enrollments WHERE campaign = ? AND status = 'ended' AND end_reason = 'removed'"
)


def returning_of(
    conn: Conn, campaign: str, phones: Sequence[str] | None = None
) -> dict[str, Enrollment]:
    """The enrollments of the campaign that ended `removed` (of these numbers, or all), by
    number: a row that comes back continues from its own."""
    if phones is None:
        rows = conn.execute(_REMOVED, [campaign]).fetchall()
    else:
        rows = []
        for chunk in _chunks(phones):
            marks = ",".join("?" * len(chunk))
            rows.extend(conn.execute(f"{_REMOVED} AND phone IN ({marks})", [campaign, *chunk]))
    return {str(row[1]): enrollment_from_row(row) for row in rows}


def held_back(
    conn: Conn, desired: Desired, campaigns: Mapping[str, CampaignState]
) -> frozenset[str]:
    """Of the campaigns that could complete now (`completeWhen: allEnded`, active, nothing
    live), those for which a number of their group waits on another campaign."""
    held: set[str] = set()
    for name, spec in desired.campaigns.items():
        state = campaigns.get(name)
        group = desired.groups.get(spec.prospect_group)
        if spec.complete_when is None or group is None or state is None:
            continue
        if state.status != "active" or state.live_enrollments:
            continue
        row = conn.execute(
            "SELECT 1 FROM waiting WHERE campaign = ? AND digest = ? LIMIT 1",
            [name, group.digest],
        ).fetchone()
        if row is not None:
            held.add(name)
    return frozenset(held)


def _chunks(phones: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(phones), CHUNK):
        yield phones[start : start + CHUNK]


def _has_waiting(conn: Conn, campaign: str) -> bool:
    row = conn.execute("SELECT 1 FROM waiting WHERE campaign = ? LIMIT 1", [campaign]).fetchone()
    return row is not None


def _forget(conn: Conn, campaign: str, phones: Sequence[str]) -> None:
    for chunk in _chunks(phones):
        marks = ",".join("?" * len(chunk))
        conn.execute(
            f"DELETE FROM waiting WHERE campaign = ? AND phone IN ({marks})", [campaign, *chunk]
        )


class WaitlistMixin(StoreBase):
    def wait_for(
        self, campaign: str, digest: str, contacts: Iterable[Contact], now: datetime
    ) -> None:
        """Keep numbers of the campaign's group (its digest) that another campaign holds:
        each is enrolled once free. A number free already (its holder ended meanwhile) is
        marked so; one waiting already keeps its place."""
        at = to_text(now)
        rows = [
            (c.phone, campaign, digest, at, fields_to_json(c.fields), zones_to_json(c.zones),
             c.us_state, str(c.source), c.phone)
            for c in contacts
        ]  # fmt: skip
        if not rows:
            return
        with self._write(fenced=True) as conn:
            conn.executemany(
                "INSERT INTO waiting (phone, campaign, digest, since, fields, zones, us_state,"
                " source, free) SELECT ?, ?, ?, ?, ?, ?, ?, ?, CASE WHEN EXISTS (SELECT 1 FROM"
                " enrollments WHERE phone = ? AND +status = 'live') THEN 0 ELSE 1 END WHERE true"
                " ON CONFLICT (phone, campaign) DO UPDATE SET digest = excluded.digest,"
                " fields = excluded.fields, zones = excluded.zones, us_state = excluded.us_state,"
                " source = excluded.source, free = excluded.free",
                rows,
            )

    def stop_waiting(self, campaign: str, phones: Sequence[str]) -> None:
        """These numbers of the campaign's group wait no more (decided otherwise)."""
        if not phones:
            return
        with self._read() as conn:
            if not _has_waiting(conn, campaign):
                return
        with self._write(fenced=True) as conn:
            _forget(conn, campaign, phones)

    def joined(
        self, campaign: str, contacts: Sequence[Contact], returns_at: datetime, *, revive: bool
    ) -> int:
        """After `enroll_many`: these numbers wait no more; with `revive` (some were enrolled
        before), those whose enrollment ended `removed` live again from where they were,
        with the contact as the group lists it now, their next step due at `returns_at` at
        the earliest (the next reconcile). Returns how many live again."""
        with self._read() as conn:
            waiting = _has_waiting(conn, campaign)
            phones = [c.phone for c in contacts] if waiting or revive else []
            back = set(returning_of(conn, campaign, phones)) if revive else set()
        if not waiting and not back:
            return 0
        with self._write(fenced=True) as conn:
            conn.executemany(  # an empty list when only the waiting rows go
                "UPDATE enrollments SET status = 'live', end_reason = NULL, ended_at = NULL,"
                " fields = ?, zones = ?, us_state = ?, source = ?,"
                " next_due_at = max(next_due_at, ?), next_at = max(next_due_at, ?)"
                " WHERE campaign = ? AND phone = ? AND status = 'ended' AND end_reason = 'removed'",
                [
                    (fields_to_json(c.fields), zones_to_json(c.zones), c.us_state,
                     str(c.source), to_text(returns_at), to_text(returns_at), campaign, c.phone)
                    for c in contacts
                    if c.phone in back
                ],
            )  # fmt: skip
            if waiting:
                _forget(conn, campaign, phones)
        return len(back)

    def take_freed(self) -> None:
        """At the start of an apply: the numbers freed so far are the ones it enrolls (those
        freed while it runs wait for the next)."""
        with self._read() as conn:
            if (
                conn.execute(f"SELECT 1 FROM waiting WHERE free = {FREED} LIMIT 1").fetchone()
                is None
            ):
                return
        with self._write(fenced=True) as conn:
            conn.execute(f"UPDATE waiting SET free = {TAKEN} WHERE free = {FREED}")

    def freed_batches(self, digests: Mapping[str, str], size: int) -> Iterator[list[Waiter]]:
        """The numbers taken at the start of this apply that these campaigns (-> their
        group's digest) wait for, first waiting first, `size` at a time; each batch is read
        when asked for, after the one before was decided (and its rows dropped or held)."""
        return self._waiter_batches(digests, size, f"w.free = {TAKEN}")

    def free_batches(self, digests: Mapping[str, str], size: int) -> Iterator[list[Waiter]]:
        """The numbers free now that these campaigns wait for, first waiting first, `size`
        at a time, without taking them: what a plan, which writes nothing, would enroll."""
        return self._waiter_batches(digests, size, "w.free > 0")

    def _waiter_batches(
        self, digests: Mapping[str, str], size: int, free: str
    ) -> Iterator[list[Waiter]]:
        after: tuple[str, int] = ("", 0)
        while True:
            with self._read() as conn:
                rows = _select(conn, digests, f"{free} AND (w.since, w.id) > (?, ?)", after, size)
            if not rows:
                return
            after = rows[-1][0]
            yield [waiter for _, waiter in rows if waiter is not None]

    def drop_stale_waiting(self, campaign: str, digest: str) -> None:
        """After the campaign's group was synced whole (`digest`): the numbers skipped by an
        older version of it wait no more (the sync kept those that still do)."""
        with self._write(fenced=True) as conn:
            conn.execute(
                "DELETE FROM waiting WHERE campaign = ? AND digest <> ?", [campaign, digest]
            )

    def waits_of(self, phone: str) -> list[tuple[str, datetime, int]]:
        """The campaigns waiting for this number, first waiting first: each with since when,
        and the step it would start at (after the last sent, for a number that returns)."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT w.campaign, w.since, coalesce(e.steps_sent, 0) + 1 FROM waiting w"
                " LEFT JOIN enrollments e ON e.phone = w.phone AND e.campaign = w.campaign"
                " WHERE w.phone = ? ORDER BY w.since, w.id",
                [phone],
            ).fetchall()
        return [(str(campaign), from_text(since), int(step)) for campaign, since, step in rows]
