"""What the last complete sync of each campaign's group read, kept so that the next sync
reads only what changed (app/incremental.py):

    synced_groups   per campaign: the group digest it was synced at, the key of what a
                    row's meaning depends on, the file's block list (JSON: sha256, size
                    and line count of each block, the header's first), and every valid
                    number of the group (int64 each, little-endian, in no order; 0 where
                    a removed number was, until the next whole sync)
    synced_blocks   the bytes of each block of that file, by (campaign, sha256)

They change with the group digest, in one transaction (`record_synced`): what is kept
always describes the file the state is in sync with, or nothing. A sync that finds them
describing another digest (a saved plan synced the group meanwhile) reads the group whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from campaignctl.core.types import Contact
from campaignctl.errors import StateError
from campaignctl.store.codec import fields_from_json, zones_from_json
from campaignctl.store.db import StoreBase
from campaignctl.store.waitlist import location_of

CHUNK = 500  # keys per IN (...) query


@dataclass(frozen=True)
class SyncedGroup:
    """What the last complete sync of a campaign's group read (see the module's doc)."""

    digest: str
    rows_key: str
    manifest: str
    numbers: bytes


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


class SyncedRowsMixin(StoreBase):
    def synced_group(self, campaign: str) -> SyncedGroup | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT digest, rows_key, manifest, numbers FROM synced_groups WHERE campaign = ?",
                [campaign],
            ).fetchone()
        if row is None:
            return None
        return SyncedGroup(str(row[0]), str(row[1]), str(row[2]), bytes(row[3]))

    def synced_blocks(self, campaign: str, digests: Sequence[str]) -> dict[str, bytes]:
        """The bytes of these blocks of the file kept for the campaign, by sha256."""
        found: dict[str, bytes] = {}
        with self._read() as conn:
            for chunk in _chunks(sorted(set(digests))):
                marks = ",".join("?" * len(chunk))
                for digest, data in conn.execute(
                    "SELECT digest, data FROM synced_blocks"
                    f" WHERE campaign = ? AND digest IN ({marks})",
                    [campaign, *chunk],
                ):
                    found[str(digest)] = bytes(data)
        return found

    def record_synced(
        self,
        campaign: str,
        digest: str,
        kept: Callable[[], SyncedGroup | None] | None,
        blocks: Iterable[tuple[str, bytes]] = (),
        drop: Sequence[str] | None = None,
    ) -> None:
        """Record that the campaign is in sync with its group at `digest`, and what that
        sync read, in one transaction: the `blocks` (sha256, bytes) are added, those in
        `drop` removed (None: every block kept before), then `kept()` (called once the
        blocks are written) replaces the campaign's row. Without `kept`, or when it gives
        None, nothing is kept."""
        with self._write(fenced=True) as conn:
            if (
                conn.execute("SELECT 1 FROM campaigns WHERE name = ?", [campaign]).fetchone()
                is None
            ):
                raise StateError(f"campaign {campaign!r} is not in the state")
            conn.execute("UPDATE campaigns SET group_digest = ? WHERE name = ?", [digest, campaign])
            if kept is None or drop is None:
                conn.execute("DELETE FROM synced_blocks WHERE campaign = ?", [campaign])
            else:
                for chunk in _chunks(list(drop)):
                    marks = ",".join("?" * len(chunk))
                    conn.execute(
                        f"DELETE FROM synced_blocks WHERE campaign = ? AND digest IN ({marks})",
                        [campaign, *chunk],
                    )
            if kept is None:
                conn.execute("DELETE FROM synced_groups WHERE campaign = ?", [campaign])
                return
            conn.executemany(
                "INSERT INTO synced_blocks (campaign, digest, data) VALUES (?, ?, ?)"
                " ON CONFLICT (campaign, digest) DO NOTHING",
                ((campaign, sha, data) for sha, data in blocks),
            )
            group = kept()
            if group is None:
                conn.execute("DELETE FROM synced_groups WHERE campaign = ?", [campaign])
                conn.execute("DELETE FROM synced_blocks WHERE campaign = ?", [campaign])
                return
            values = [group.digest, group.rows_key, group.manifest, group.numbers]
            sizes = conn.execute(
                "SELECT length(digest), length(rows_key), length(manifest), length(numbers)"
                " FROM synced_groups WHERE campaign = ?",
                [campaign],
            ).fetchone()
            if sizes is not None and tuple(sizes) == tuple(len(v) for v in values):
                # the same size (the list's holes and the manifest's padding keep it so):
                # updated in place, SQLite writes only the pages that changed
                conn.execute(
                    "UPDATE synced_groups SET digest = ?, rows_key = ?, manifest = ?,"
                    " numbers = ? WHERE campaign = ?",
                    [*values, campaign],
                )
                return
            conn.execute("DELETE FROM synced_groups WHERE campaign = ?", [campaign])
            conn.execute(
                "INSERT INTO synced_groups (campaign, digest, rows_key, manifest, numbers)"
                " VALUES (?, ?, ?, ?, ?)",
                [campaign, *values],
            )

    def enrollment_states(
        self, campaign: str, phones: Sequence[str]
    ) -> dict[str, tuple[str, str | None]]:
        """number -> (status, end reason) of the campaign's enrollment, for those it has."""
        found: dict[str, tuple[str, str | None]] = {}
        with self._read() as conn:
            for chunk in _chunks(sorted(set(phones))):
                marks = ",".join("?" * len(chunk))
                for phone, status, reason in conn.execute(
                    "SELECT phone, status, end_reason FROM enrollments"
                    f" WHERE campaign = ? AND phone IN ({marks})",
                    [campaign, *chunk],
                ):
                    found[str(phone)] = (str(status), None if reason is None else str(reason))
        return found

    def lapsing_skips(self, campaign: str) -> dict[str, set[str]]:
        """The numbers the campaign refused to enroll for a reason that can lapse (on a
        do-not-call list, opted out, a wrong number), by reason."""
        found: dict[str, set[str]] = {}
        with self._read() as conn:
            for phone, reason in conn.execute(
                "SELECT phone, reason FROM decisions WHERE campaign = ? AND type = 'skip'"
                " AND step IS NULL AND reason IN ('dnc', 'opted_out', 'wrong_number')",
                [campaign],
            ):
                found.setdefault(str(reason), set()).add(str(phone))
        return found

    def waiting_contacts(self, campaign: str, digests: Sequence[str]) -> list[Contact]:
        """The contacts of the numbers the campaign waits for, as its group at one of these
        digests listed them, first waiting first."""
        marks = ",".join("?" * len(digests))
        with self._read() as conn:
            rows = conn.execute(
                "SELECT phone, fields, zones, us_state, source FROM waiting"
                f" WHERE campaign = ? AND digest IN ({marks}) ORDER BY since, id",
                [campaign, *digests],
            ).fetchall()
        return [
            Contact(str(phone), fields_from_json(fields), zones_from_json(zones), us_state,
                    location_of(source))
            for phone, fields, zones, us_state, source in rows
        ]  # fmt: skip
