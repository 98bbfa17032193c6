"""An incremental sync: a group edited by a few rows costs a few rows, not the whole group.

A complete sync of a campaign's group keeps what it read (store/synced.py): its CSV file as
blocks of lines (config/csv_blocks.py), and every valid number of the group, as often as
the group lists it. The next sync of the group compares the file with those blocks, finds
the rows removed and added (an edited row is both, and so is a row moved across others),
and parses only those:

    the rows added     offered for enrolment, in file order, with the numbers the campaign
                       waits for (they are decided again, as a whole sync decides them)
    the rows removed   the numbers they listed that the group no longer lists are ended

What the file was is recorded with the group digest, in one transaction, after every batch
of the sync is written: a sync killed half-way is done again from the same record, and what
it had written is found written (enrolled numbers are left alone, ended ones stay ended).

A row that did not change is not decided again: its number is enrolled, or was refused
for a reason that holds still. So the group is read whole (and kept anew) when a reason
may not hold: a change of what a row means (the group's YAML, the header, the zone
fallback, the fields the template needs, the settings), a refusal that lapsed (a number
off a do-not-call list, opted in again, no longer a wrong number), a number both in a
changed row and in an unchanged one that the campaign did not enroll (which row is first
decides), a quoted value over several lines, or a middle of more than `MAX_MIDDLE` bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from campaignctl.config import ContactSource
from campaignctl.config.contact_rows import ParsedRows, csv_file, parse_rows, rows_key
from campaignctl.config.contacts import group_digest
from campaignctl.config.csv_blocks import (
    Block,
    FileBlocks,
    FileView,
    Middle,
    block_size,
    cut,
    file_stamp,
    find_middle,
    matched,
    row_changes,
    rows_of,
)
from campaignctl.config.paths import display_path
from campaignctl.core.enrollment import required_fields
from campaignctl.core.planner import Planning
from campaignctl.core.types import Contact, InvalidContact
from campaignctl.store.synced import SyncedGroup

log = logging.getLogger("campaignctl.engine")

MAX_MIDDLE = 16 * 1024 * 1024  # bytes of changed rows beyond which the group is read whole
FEW_BLOCKS = 16  # blocks of a middle told by the block lists; more: the file is compared
SMALL = 64  # numbers looked up one by one in the group's list; more: counted in one pass
HOLE = 0  # in the group's list: no number (its padding, or where a removed number was)
LIST_ROUND = 512  # numbers; the kept list is padded with holes to a multiple of it
MANIFEST_ROUND = 4096  # bytes; the kept block list is padded with spaces to a multiple of it


@runtime_checkable
class RowCache(Protocol):
    """The state's record of what each campaign's last complete sync read."""

    def synced_group(self, campaign: str) -> SyncedGroup | None: ...

    def synced_blocks(self, campaign: str, digests: Sequence[str]) -> dict[str, bytes]: ...

    def record_synced(
        self,
        campaign: str,
        digest: str,
        kept: Callable[[], SyncedGroup | None] | None,
        blocks: Iterable[tuple[str, bytes]] = (),
        drop: Sequence[str] | None = None,
    ) -> None: ...

    def enrollment_states(
        self, campaign: str, phones: Sequence[str]
    ) -> dict[str, tuple[str, str | None]]: ...

    def lapsing_skips(self, campaign: str) -> dict[str, set[str]]: ...

    def waiting_contacts(self, campaign: str, digests: Sequence[str]) -> list[Contact]: ...


# --------------------------------------------------------------------------- numbers


def number_of(phone: str) -> int:
    """An E.164 number as the integer of its digits."""
    return int(phone[1:])


def numbers_from(data: bytes) -> array[int]:
    found = array("q")
    found.frombytes(data)
    if sys.byteorder != "little":
        found.byteswap()
    return found


def numbers_to(numbers: array[int]) -> bytes:
    if sys.byteorder != "little":
        numbers = array("q", numbers)
        numbers.byteswap()
    return numbers.tobytes()


def _places(raw: bytes | bytearray, key: int) -> list[int]:
    """The offsets at which the list `raw` (as kept: little-endian 8-byte integers) holds
    `key`, kept to whole items: a search of its bytes at the speed of memory (an array's
    count or index makes an object of every item). From the end: a reverse search tries
    each place by the item's first byte, its lowest, which varies from number to number
    (a forward one by its last, which is zero for every number), and runs about three
    times as fast. Which occurrence of a number is where has no meaning."""
    pattern = _item(key)
    found: list[int] = []
    at = raw.rfind(pattern)
    while at >= 0:
        if at % 8 == 0:
            found.append(at)
        at = raw.rfind(pattern, 0, at + 7)
    return found


def _listed(raw: bytes, wanted: Iterable[str]) -> dict[str, list[int]]:
    """Where the group's list (`raw`, as kept) holds each of these numbers: few, searched
    for one by one; many, in one pass over the list."""
    keys = {number_of(p): p for p in wanted}
    if len(keys) <= SMALL:
        return {phone: _places(raw, key) for key, phone in keys.items()}
    found: dict[int, list[int]] = {key: [] for key in keys}
    for index, n in enumerate(numbers_from(raw)):
        if n in found:
            found[n].append(index * 8)
    return {phone: found[key] for key, phone in keys.items()}


def _updated(raw: bytes, places: Mapping[str, list[int]], removed: Counter[str],
             added: Counter[str]) -> bytes:  # fmt: skip
    """The group's list (as kept) without the removed occurrences, with the added ones
    (`places`: where the list holds each removed number). A few removed are replaced where
    they were, by the added numbers, else by a HOLE; the added left over take the holes
    from the end (`_padded` leaves some), and only when none is left does the list grow.
    So the list mostly keeps its size, and the state then writes only the pages that
    changed (store/synced.py). Many removed: the list is made again, without holes but its
    padding."""
    adds = [number_of(p) for p, n in added.items() for _ in range(n)]
    if sum(removed.values()) <= SMALL:
        out = bytearray(raw)
        for phone, times in removed.items():
            for at in places[phone][:times]:
                out[at : at + 8] = _item(adds.pop() if adds else HOLE)
        if adds:
            for at in _holes(out):
                out[at : at + 8] = _item(adds.pop())
                if not adds:
                    break
        if adds:
            out[len(out) :] = _padded(array("q", adds), len(out) // 8)
        return bytes(out)
    left = Counter({number_of(p): n for p, n in removed.items()})
    kept = array("q")
    for n in numbers_from(raw):
        if left.get(n):
            left[n] -= 1
        elif n != HOLE:
            kept.append(n)
    kept.extend(adds)
    return _padded(kept)


def _padded(numbers: array[int], before: int = 0) -> bytes:
    """Numbers as kept, followed by holes up to a multiple of LIST_ROUND items (at least
    one hole), counting `before` items already in the list: rows added later take them."""
    holes = LIST_ROUND - (before + len(numbers)) % LIST_ROUND
    return numbers_to(numbers) + _item(HOLE) * holes


def _holes(raw: bytearray) -> Iterator[int]:
    """The places of the holes of a list (as kept), from its end."""
    pattern = _item(HOLE)
    at = raw.rfind(pattern)
    while at >= 0:
        if at % 8 == 0:
            yield at
        at = raw.rfind(pattern, 0, at + 7)


def _item(number: int) -> bytes:
    return number.to_bytes(8, "little", signed=True)


def _manifest_text(blocks: Sequence[Block]) -> str:
    """The block list as kept: JSON, padded with spaces to a multiple of MANIFEST_ROUND
    bytes. An edit of a row rarely changes its length then, and the state's row keeps its
    size: SQLite then writes only the pages that changed, not the whole number list."""
    text = json.dumps([list(b) for b in blocks], separators=(",", ":"))
    return text + " " * (-len(text) % MANIFEST_ROUND)


def _manifest(text: str) -> list[Block]:
    return [Block(str(d), int(s), int(n)) for d, s, n in json.loads(text)]


# --------------------------------------------------------------------------- deciding


@dataclass
class RowSync:
    """An incremental sync of a campaign's group, worked out before anything is changed."""

    old_digest: str  # the group digest the campaign was in sync with
    csv_shown: str  # the CSV file, as the contacts' sources name it
    offered: list[Contact]  # the contacts of the rows added, in file order
    invalid: list[InvalidContact]  # their numbers that are not valid
    touched: set[str]  # every number of the rows added or removed
    gone: list[str]  # numbers the group no longer lists: ended if live
    kept: SyncedGroup  # what this sync read, to record with the digest
    blocks: list[tuple[str, bytes]]  # the new blocks of the file
    drop: list[str]  # the blocks no longer in it
    middle: Middle
    lines: tuple[int, int]  # lines of the old middle, of the new one
    moved: dict[int, int] = field(default_factory=dict)  # old line -> new, rows kept in the middle
    counts: tuple[int, int] = (0, 0)  # rows removed, rows added

    def line_now(self, line: int) -> int:
        """Where a line of the file as it was is now (a row that did not change)."""
        if line < self.middle.line:
            return line
        old, new = self.lines
        if line >= self.middle.line + old:
            return line + new - old
        return self.moved.get(line, line)


def key_of(planning: Planning, campaign: str, source: ContactSource, header: bytes) -> str:
    """What a row's meaning depends on: the group (contact_rows.rows_key), the fields the
    campaign's template needs, and the settings."""
    run = planning.runs[campaign]
    return rows_key(source, header, [required_fields(run.steps), planning.desired.settings])


def _settled(state: tuple[str, str | None] | None) -> bool:
    """Whether a number's enrollment in the campaign makes a whole sync leave it alone."""
    return state is not None and state != ("ended", "removed")


def prepare(
    store: RowCache, planning: Planning, campaign: str, source: ContactSource
) -> RowSync | None:
    """The incremental sync of the campaign's group, or None: read it whole."""
    state = planning.snapshot.campaigns.get(campaign)
    kept = store.synced_group(campaign)
    if state is None or kept is None or kept.digest != state.group_digest:
        return None
    path = csv_file(source)
    if path is None:
        return None
    stamp = file_stamp(path)
    if stamp is None or stamp != source.stamp:
        return None  # written since it was loaded: the whole read says so
    manifest = _manifest(kept.manifest)
    try:  # read a block at a time where the old blocks were: only the middle is kept
        with path.open("rb") as handle:
            file = FileView(handle)
            header = file.read_at(0, manifest[0].size) if manifest else b""
            if key_of(planning, campaign, source, header) != kept.rows_key:
                return None
            told = _listed_middle(manifest, source.blocks, len(file))
            middle = told or find_middle(manifest, file)
            if middle is None or middle.end - middle.start > MAX_MIDDLE:
                return None
            old_blocks = manifest[middle.first : middle.last]
            if sum(b.size for b in old_blocks) > MAX_MIDDLE:
                return None
            changed = Changed.read(file, middle)
    except OSError:
        return None  # the whole read says why
    if file_stamp(path) != stamp:
        return None  # written while it was read
    if told and [b.digest for b in changed.spliced(manifest, middle)] != list(source.blocks):
        return None  # not the file its block list was taken of
    shown = display_path(path)
    if not told:
        log.info(
            "%s: the blocks kept of %s end elsewhere than its blocks now (cut at another "
            "size, or by an earlier version): the changes were found by hashing the kept "
            "blocks in the file",
            campaign,
            shown,
        )
    return _decide(
        store, planning, campaign, source, kept, manifest, middle, changed, header, shown
    )


def _listed_middle(old: Sequence[Block], new: Sequence[str], file_size: int) -> Middle | None:
    """The changed middle as the two block lists tell it (csv_blocks.matched), or None
    when they differ in more than FEW_BLOCKS blocks (the old list was cut otherwise, or
    the file's blocks do not end where they ended before): the file is then compared with
    the old list (find_middle)."""
    found = matched(old, new)
    if found is None:
        return None
    first, old_last, new_last = found
    if max(old_last, new_last) - first > FEW_BLOCKS:
        return None
    start = sum(b.size for b in old[:first])
    end = file_size - sum(b.size for b in old[old_last:])
    if end < start:
        return None
    return Middle(first, old_last, start, end, 1 + sum(b.lines for b in old[:first]))


@dataclass(frozen=True)
class Changed:
    """The changed middle's bytes, cut into blocks as a file of the whole file's size is."""

    data: bytes
    blocks: list[tuple[Block, memoryview]]

    @classmethod
    def read(cls, file: FileView, middle: Middle) -> Changed:
        data = file.read_at(middle.start, middle.end - middle.start)
        return cls(data, list(cut(data, 0, len(data), block_size(len(file)))))

    def spliced(self, manifest: Sequence[Block], middle: Middle) -> list[Block]:
        """The new file's block list: the old one with these blocks for its middle's."""
        new = (b for b, _ in self.blocks)
        return [*manifest[: middle.first], *new, *manifest[middle.last :]]


def _decide(
    store: RowCache,
    planning: Planning,
    campaign: str,
    source: ContactSource,
    kept: SyncedGroup,
    manifest: list[Block],
    middle: Middle,
    changed: Changed,
    header: bytes,
    shown: str,
) -> RowSync | None:
    old_blocks = manifest[middle.first : middle.last]
    stored = store.synced_blocks(campaign, [b.digest for b in old_blocks])
    pieces: list[bytes] = []
    for block in old_blocks:
        piece = stored.get(block.digest)
        if piece is None or hashlib.sha256(piece).hexdigest() != block.digest:
            return None
        pieces.append(piece)
    old_rows = rows_of(b"".join(pieces), middle.line)
    new_rows = rows_of(changed.data, middle.line)
    if old_rows is None or new_rows is None:
        return None
    changes = row_changes(old_rows, new_rows)
    added = parse_rows(source, header, changes.added)
    removed = parse_rows(source, header, [(middle.line, row) for row in changes.removed])
    if added is None or removed is None:
        return None
    gone = _gone(store, planning, campaign, kept, added, removed)
    if gone is None:
        return None
    new_numbers, leaving = gone
    new_blocks = changed.blocks
    blocks = changed.spliced(manifest, middle)
    still = {b.digest for b in blocks}
    row = SyncedGroup(source.digest, kept.rows_key, _manifest_text(blocks), new_numbers)
    old_lines = sum(b.lines for b in old_blocks)
    new_lines = sum(b.lines for b, _ in new_blocks)
    return RowSync(
        old_digest=kept.digest,
        csv_shown=shown,
        offered=added.contacts,
        invalid=added.invalid,
        touched={c.phone for c in added.contacts} | {c.phone for c in removed.contacts},
        gone=leaving,
        kept=row,
        blocks=[(b.digest, bytes(piece)) for b, piece in new_blocks],
        drop=sorted({b.digest for b in old_blocks} - still),
        middle=middle,
        lines=(old_lines, new_lines),
        moved=changes.kept,
        counts=(len(changes.removed), len(changes.added)),
    )


def _gone(
    store: RowCache,
    planning: Planning,
    campaign: str,
    kept: SyncedGroup,
    added: ParsedRows,
    removed: ParsedRows,
) -> tuple[bytes, list[str]] | None:
    """The group's numbers after the change, and the numbers it no longer lists; None
    when an unchanged row must be decided again (see the module's doc)."""
    out = Counter(c.phone for c in removed.contacts)
    into = Counter(c.phone for c in added.contacts)
    touched = set(out) | set(into)
    places = _listed(kept.numbers, touched)
    listed = {phone: len(found) for phone, found in places.items()}
    states = store.enrollment_states(campaign, sorted(touched))
    for phone in touched:
        if listed[phone] - out[phone] > 0 and not _settled(states.get(phone)):
            return None  # also in a row that did not change: which row is first decides
    after = _updated(kept.numbers, places, out, into)
    if _lapsed(store, planning, campaign, after, touched):
        return None
    leaving = sorted(
        p for p in out if listed[p] - out[p] + into[p] == 0 and states.get(p, ("",))[0] == "live"
    )
    return after, leaving


def _lapsed(
    store: RowCache, planning: Planning, campaign: str, numbers: bytes, touched: set[str]
) -> bool:
    """Whether a number of an unchanged row was refused for a reason that no longer holds
    (a whole sync would enroll it now)."""
    holding: Mapping[str, frozenset[str]] = {
        "dnc": planning.desired.dnc,
        "opted_out": planning.snapshot.opted_out,
        "wrong_number": planning.snapshot.wrong_numbers,
    }
    lapsed: set[str] = set()
    for reason, phones in store.lapsing_skips(campaign).items():
        lapsed |= phones - holding.get(reason, frozenset()) - touched
    lapsed = {p for p in lapsed if p.startswith("+") and p[1:].isdigit()}
    if not lapsed:
        return False
    states = store.enrollment_states(campaign, sorted(lapsed))
    unsettled = [p for p in lapsed if not _settled(states.get(p))]
    return any(_listed(numbers, unsettled).values())


# --------------------------------------------------------------------------- whole syncs


class WholeRead:
    """What a whole sync of a campaign's group read, to keep once it is done: every
    number it listed (`add`, batch by batch), then the file, a block at a time."""

    def __init__(self, planning: Planning, campaign: str, source: ContactSource) -> None:
        self.planning = planning
        self.campaign = campaign
        self.source = source
        self.numbers = array("q")
        self.path = csv_file(source)

    def add(self, contacts: Sequence[Contact]) -> None:
        self.numbers.extend(number_of(c.phone) for c in contacts)

    def record(self, store: RowCache) -> None:
        """Record the group's digest and, when its file can be compared a row at a time
        (a CSV whose lines are rows, unchanged since it was loaded), what it read."""
        digest = self.source.digest
        if self.path is None:
            store.record_synced(self.campaign, digest, None)
            return
        blocks = FileBlocks(self.path)
        manifest: list[Block] = []
        headers: list[bytes] = []

        def read() -> Iterator[tuple[str, bytes]]:
            for block, data in blocks:
                if not headers:
                    headers.append(data)
                manifest.append(block)
                yield block.digest, data

        def kept() -> SyncedGroup | None:
            spec = self.source.resource.document.data["spec"]
            if not blocks.rows_alone or not headers:
                return None
            if group_digest(spec, blocks.digest, self.source.fallback) != digest:
                return None
            key = key_of(self.planning, self.campaign, self.source, headers[0])
            # the list is let go of once copied, before the state copies it in turn (eight
            # bytes a number: the largest of what a large sync keeps)
            numbers, self.numbers = self.numbers, array("q")
            return SyncedGroup(digest, key, _manifest_text(manifest), _padded(numbers))

        try:
            store.record_synced(self.campaign, digest, kept, read())
        except OSError:  # the file went away since it was read: nothing is kept
            store.record_synced(self.campaign, digest, None)
