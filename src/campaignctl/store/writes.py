"""The apply's writes about campaigns, enrollments, decisions and runs (all fenced)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from campaignctl.core.actions import until_of
from campaignctl.core.nextdue import lower_bound
from campaignctl.core.types import Action, CampaignStatus, Contact, LaunchRecord
from campaignctl.errors import StateError
from campaignctl.store.codec import dumps, fields_to_json, launch_to_json, zones_to_json
from campaignctl.store.db import StoreBase, from_text, to_text
from campaignctl.store.dialect import Conn
from campaignctl.store.summary import add_enrolled

CAMPAIGN_STATUSES = ("draft", "active", "paused", "completed")
# decisions that describe a standing state: repeating one only updates its last time
REPEATABLE_DECISIONS = ("skip", "pause")
# decisions not kept: an enroll's record is the enrollment row itself (with its source); a
# defer is no history, only why a message waits now, which `explain` asks the planner
UNRECORDED_DECISIONS = ("enroll", "defer")
# a defer for quiet hours or the 30-day gap tells its enrollment's next moment (nextdue.py):
# ticks read it only once that moment has come (only ever later, for the step deferred)
NEXT_AT = (
    "UPDATE enrollments SET next_at = ?, next_why = ? WHERE campaign = ? AND phone = ?"
    " AND +status = 'live' AND steps_sent = ? AND (next_at IS NULL OR next_at < ?)"
)
# a new enrollment, live and due (enroll_many): its columns in this order
ENROLL = (
    "INSERT INTO enrollments (campaign, phone, status, next_due_at, next_at, next_why,"
    " enrolled_at, fields, zones, us_state, source)"
    " VALUES (?, ?, 'live', ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (phone, campaign) DO NOTHING"
)
PHONES_AT_ONCE = 5000  # numbers per IN (...) look-up
DECISIONS_BATCH = 50_000  # decisions inserted at a time (a launch makes one per contact)


def end_live(
    conn: Conn, where: str, params: Sequence[object], reason: str, now: datetime
) -> list[str]:
    """End the live enrollments matching `where`; returns their campaigns."""
    rows = conn.execute(
        f"UPDATE enrollments SET status = 'ended', end_reason = ?, ended_at = ?"
        f" WHERE +status = 'live' AND {where} RETURNING campaign",  # by number, not status
        [reason, to_text(now), *params],
    ).fetchall()
    return sorted({str(r[0]) for r in rows})


def _insert_decisions(conn: Conn, rows: list[tuple[object, ...]]) -> None:
    # ids given as SQLite would give them (max + 1), so updates can name rows inserted here
    conn.executemany(
        "INSERT INTO decisions (id, at, last_at, campaign, phone, type, step, reason, until,"
        " detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


LastDecision = tuple[int, str, int | None, str | None]  # id, type, step, reason


def _last_decisions(
    conn: Conn, keys: set[tuple[str | None, str]]
) -> dict[tuple[str | None, str], LastDecision]:
    """The last decision about each (phone, campaign), looked up PHONES_AT_ONCE numbers at
    a time (a tick that defers a long queue asks a few hundred queries, not one a number)."""
    found: dict[tuple[str | None, str], LastDecision] = {}
    phones = sorted({phone for phone, _ in keys if phone is not None})
    for start in range(0, len(phones), PHONES_AT_ONCE):
        chunk = phones[start : start + PHONES_AT_ONCE]
        marks = ",".join("?" * len(chunk))
        for phone, campaign, row_id, kind, step, reason in conn.execute(
            "SELECT phone, campaign, id, type, step, reason FROM decisions WHERE id IN"
            f" (SELECT max(id) FROM decisions WHERE phone IN ({marks}) GROUP BY phone, campaign)",
            chunk,
        ):
            if (phone, campaign) in keys:
                found[(phone, campaign)] = (row_id, kind, step, reason)
    for phone, campaign in keys:
        if phone is None:  # about a campaign: pauses
            row = conn.execute(
                "SELECT id, type, step, reason FROM decisions"
                " WHERE phone IS NULL AND campaign = ? ORDER BY id DESC LIMIT 1",
                [campaign],
            ).fetchone()
            if row is not None:
                found[(phone, campaign)] = (row[0], row[1], row[2], row[3])
    return found


def _insert_draft(conn: Conn, name: str, at: str) -> None:
    """Record a campaign not in the state yet, observed 'draft' (no-op if it is)."""
    conn.execute(
        "INSERT INTO campaigns (name, status, created_at, updated_at)"
        " VALUES (?, 'draft', ?, ?) ON CONFLICT (name) DO NOTHING",
        [name, at, at],
    )


def _require_campaign(conn: Conn, name: str) -> None:
    if conn.execute("SELECT 1 FROM campaigns WHERE name = ?", [name]).fetchone() is None:
        raise StateError(f"campaign {name!r} is not in the state (ensure_campaign first)")


class WritesMixin(StoreBase):
    def ensure_campaign(self, name: str, now: datetime) -> None:
        """Record a campaign the state has not seen yet, observed 'draft'."""
        with self._read() as conn:
            if conn.execute("SELECT 1 FROM campaigns WHERE name = ?", [name]).fetchone():
                return
        at = to_text(now)
        with self._write(fenced=True) as conn:
            _insert_draft(conn, name, at)

    def set_campaign_status(
        self,
        name: str,
        status: CampaignStatus,
        reason: str | None,
        now: datetime,
        launch: LaunchRecord | None = None,
    ) -> None:
        """Set the observed status (and reason); `launch` records what it launched with."""
        if status not in CAMPAIGN_STATUSES:
            raise ValueError(f"unknown campaign status {status!r}")
        at = to_text(now)
        with self._write(fenced=True) as conn:
            _insert_draft(conn, name, at)
            conn.execute(
                "UPDATE campaigns SET status = ?, reason = ?, updated_at = ? WHERE name = ?",
                [status, reason, at, name],
            )
            if launch is not None:
                conn.execute(
                    "UPDATE campaigns SET launch = ?, launched_at = coalesce(launched_at, ?)"
                    " WHERE name = ?",
                    [launch_to_json(launch), at, name],
                )

    def relaunch(self, campaign: str, record: LaunchRecord, previous: LaunchRecord) -> None:
        """Record what a launched campaign runs with from now on (an accepted edit: a
        template switch, a safer sender or window). Where a gap of its sequence grew, the
        live enrollments waiting through that gap wait the longer one: `next_due_at` moves
        later by the difference, in the same transaction."""
        longer = [
            (index, after.wait_days - before.wait_days)
            for index, (before, after) in enumerate(zip(previous.steps, record.steps, strict=False))
            if index > 0 and after.wait_days > before.wait_days
        ]
        with self._write(fenced=True) as conn:
            _require_campaign(conn, campaign)
            conn.execute(
                "UPDATE campaigns SET launch = ? WHERE name = ?",
                [launch_to_json(record), campaign],
            )
            for index, days in longer:  # the enrollments whose next step is index + 1
                rows = conn.execute(
                    "SELECT phone, next_due_at FROM enrollments"
                    " WHERE campaign = ? AND status = 'live' AND steps_sent = ?",
                    [campaign, index],
                ).fetchall()
                later = [
                    (to_text(from_text(due) + timedelta(days=days)), phone) for phone, due in rows
                ]
                conn.executemany(  # its next moment: known no later than its new wait
                    "UPDATE enrollments SET next_due_at = ?, next_at = ?"
                    " WHERE campaign = ? AND phone = ?",
                    [(due, due, campaign, phone) for due, phone in later],
                )

    def set_config_error(self, campaign: str, error: str | None, now: datetime) -> None:
        """Record the configuration error that holds a campaign (None: nothing holds it any
        more); a campaign the state has not seen yet is recorded as a draft."""
        at = to_text(now)
        with self._write(fenced=True) as conn:
            if error is not None:
                _insert_draft(conn, campaign, at)
            conn.execute("UPDATE campaigns SET config_error = ? WHERE name = ?", [error, campaign])

    def set_group_digest(self, campaign: str, digest: str) -> None:
        """Record the group digest the campaign's enrollments are now in sync with."""
        with self._write(fenced=True) as conn:
            _require_campaign(conn, campaign)
            conn.execute("UPDATE campaigns SET group_digest = ? WHERE name = ?", [digest, campaign])

    def enroll_many(
        self,
        campaign: str,
        contacts: Iterable[Contact],
        now: datetime,
        moment: Callable[[Contact], datetime] | None = None,
    ) -> int:
        """Enroll contacts (due now) in one transaction, in the order given (the group's
        order), each with where it came from and its next moment (`moment`: when its window
        opens, which depends only on its zones and US state; else now); numbers already
        enrolled in this campaign, live or ended, are left alone. Returns how many were
        enrolled."""
        at = to_text(now)
        # (zones, US state) -> the next moment as stored, and the rule that holds it (quiet
        # hours, when later than now): a launch's million contacts have a few hundred
        stored: dict[tuple[tuple[str, ...], str | None], tuple[str, str | None]] = {}

        def next_at(contact: Contact) -> tuple[str, str | None]:
            if moment is None:
                return at, None
            key = (contact.zones, contact.us_state)
            found = stored.get(key)
            if found is None:
                when = moment(contact)
                found = stored[key] = (at, None) if when <= now else (to_text(when), "quiet_hours")
            return found

        rows = (  # made as they are inserted: a million rows never sit in memory at once
            (
                campaign,
                c.phone,
                at,
                *next_at(c),
                at,
                fields_to_json(c.fields),
                zones_to_json(c.zones),
                c.us_state,
                str(c.source),
            )
            for c in contacts
        )
        with self._write(fenced=True) as conn:
            _require_campaign(conn, campaign)
            cursor = conn.executemany(ENROLL, rows)
            inserted = max(cursor.rowcount, 0)  # rows skipped by DO NOTHING count 0
            if inserted:  # no insert trigger: live_count is kept here, in this transaction
                conn.execute(
                    "UPDATE campaigns SET live_count = live_count + ? WHERE name = ?",
                    [inserted, campaign],
                )
                add_enrolled(conn, campaign, inserted)  # as live_count: once a batch
            return inserted

    def end_enrollment(self, campaign: str, phone: str, reason: str, now: datetime) -> None:
        """End a live enrollment with a reason (no-op if it is not live)."""
        self.end_enrollments(campaign, [phone], reason, now)

    def end_enrollments(
        self, campaign: str, phones: Sequence[str], reason: str, now: datetime
    ) -> None:
        """End the live enrollments of these numbers in one transaction (a group emptied
        ends them all at once, not one transaction a number)."""
        with self._write(fenced=True) as conn:
            for start in range(0, len(phones), PHONES_AT_ONCE):
                chunk = phones[start : start + PHONES_AT_ONCE]
                marks = ",".join("?" * len(chunk))
                end_live(
                    conn, f"campaign = ? AND phone IN ({marks})", [campaign, *chunk], reason, now
                )

    def record_decisions(
        self, actions: Sequence[Action], now: datetime, *, fresh: bool = False
    ) -> None:
        """Keep the plan's decisions for `explain`, but enrolls and defers (UNRECORDED_DECISIONS);
        a defer for quiet hours or the 30-day gap moves its enrollment's `next_at` to its end
        (not when fresh: an enrollment is made with its next moment).
        A skip or pause identical (type, step, reason) to the last decision about that
        campaign and number only updates that decision's last time and count: a tick every
        15 minutes stays bounded. `fresh`: the actions are about enrollments made by this
        apply, so nothing was decided about them before."""
        if fresh:  # nothing to tell of the enrolls and defers of new enrollments
            actions = [a for a in actions if a.type not in UNRECORDED_DECISIONS]
            if not actions:
                return
        at = to_text(now)
        times: dict[datetime, str] = {}
        # the last decision about each (phone, campaign), looked up once, then kept here as
        # this call writes
        last: dict[tuple[str | None, str], LastDecision] = {}
        inserts: list[tuple[object, ...]] = []
        updates: list[tuple[object, ...]] = []
        bounds: list[tuple[object, ...]] = []  # the next moments defers tell
        with self._write(fenced=True) as conn:
            next_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM decisions").fetchone()[0]
            # the last decisions the repeatable ones may repeat, looked up in one pass (when
            # fresh, only those about campaigns)
            last.update(
                _last_decisions(
                    conn,
                    {
                        (a.phone, a.campaign)
                        for a in actions
                        if a.type in REPEATABLE_DECISIONS and not (fresh and a.phone)
                    },
                )
            )
            for action in actions:
                key = (action.phone, action.campaign)
                bound = None if fresh else lower_bound(action)  # fresh: known as enrolled
                if bound is not None and action.step is not None:
                    moment = times.get(bound) or times.setdefault(bound, to_text(bound))
                    bounds.append(
                        (moment, action.reason, action.campaign, action.phone, action.step - 1,
                         moment)
                    )  # fmt: skip
                if action.type in UNRECORDED_DECISIONS:
                    continue
                until = None
                if (waits := until_of(action)) is not None:
                    until = times.get(waits) or times.setdefault(waits, to_text(waits))
                if action.type in REPEATABLE_DECISIONS:
                    previous = last.get(key)
                    if previous is not None and previous[1:] == (
                        action.type,
                        action.step,
                        action.reason,
                    ):
                        updates.append((at, until, action.detail, previous[0]))
                        continue
                reason: str | None = action.reason
                if action.type == "campaign_status":
                    reason = f"{action.from_status} -> {action.to_status}"
                inserts.append(
                    (next_id, at, at, action.campaign, action.phone, action.type, action.step,
                     reason, until, action.detail)
                )  # fmt: skip
                last[key] = (next_id, action.type, action.step, reason)
                next_id += 1
                if len(inserts) >= DECISIONS_BATCH:
                    _insert_decisions(conn, inserts)
                    inserts = []
            _insert_decisions(conn, inserts)
            conn.executemany(
                "UPDATE decisions SET last_at = ?, until = ?, detail = ?,"
                " repeats = repeats + 1 WHERE id = ?",
                updates,
            )
            conn.executemany(NEXT_AT, bounds)

    def record_run(self, now: datetime, plan_digest: str, counts: Mapping[str, int]) -> int:
        """Record one apply (time, plan digest, action counts); returns the run id."""
        with self._write(fenced=True) as conn:
            serial = conn.execute("SELECT serial FROM meta WHERE id = 1").fetchone()[0] + 1
            cursor = conn.execute(
                "INSERT INTO runs (at, plan_digest, counts, serial) VALUES (?, ?, ?, ?)"
                " RETURNING id",
                [to_text(now), plan_digest, dumps(dict(counts)), serial],
            )
            return int(cursor.fetchone()[0])
