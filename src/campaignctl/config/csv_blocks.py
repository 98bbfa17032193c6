"""A contacts CSV as a list of blocks, and what changed in it since the list was made.

A file is cut into blocks of whole lines: the header line alone, then the rows. Blocks are
cut at a power of two (`block_size`: about a thousand to two thousand a file, 1 to 64 KiB),
and a block ends after one of the line endings in the last thirty-second of that size, the
one ending the greatest line read backwards (`_end`). Each block is known by its sha256, its
size and its number of lines (a `Block`); the file by the sha256 of its blocks' digests
(`list_digest`): it is hashed once, a block at a time (`block_digests`), and its identity
and its blocks come of that one pass.

Where a block ends depends on the lines about its end, not on where it began, so after an
edit the blocks soon end where they ended before, even when every line has one length: the
two block lists differ in a few blocks around the edit (`matched`), found without reading
the file again:

    old   [header][b1][b2][b3][b4][b5]
    new   [header][b1][b2][ b3'  ][b4][b5]      -> the rows of b3 against those of b3'

A list cut otherwise (at another size: the file grew past a power of two; or by a former
version) is compared with the file itself: from the start, each old block is hashed at its
old place; from the end, at its old place shifted by how much the file grew (`find_middle`,
one more hash of the file).

Only the rows of the changed middle are compared, as lines, with the old middle's; a row
added, removed or edited anywhere makes a middle of a block or two. A row is its line, the
line ending left out; a row that moved across others counts as removed and added
(`row_changes`). Pure: bytes in, values out.
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import os
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from io import FileIO
from pathlib import Path
from typing import BinaryIO, NamedTuple

MIN_BLOCK = 1024
MAX_BLOCK = 64 * 1024
BLOCKS_PER_FILE = 1024  # the target: a row's change costs a block's read, whatever the size
WINDOW = 32  # a block ends in the last 1/WINDOW of its size (`_end`),
MIN_WINDOW = 256  # or its last MIN_WINDOW bytes


# a file's inode, size, modification and change times (ns): any write changes the last
FileStamp = tuple[int, int, int, int]


def file_stamp(path: Path) -> FileStamp | None:
    """The stamp of a file, None when it cannot be read: equal stamps taken before and
    after reading it, and before another read hashed it, mean both read the same bytes."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


class Block(NamedTuple):
    """Consecutive whole lines of a file: their sha256 (hex), size in bytes, line count."""

    digest: str
    size: int
    lines: int


def block_size(file_size: int) -> int:
    """The size blocks are cut at for a file of `file_size` bytes: a power of two, so that
    a file edited by a few rows is most often cut at the same size."""
    target = max(1, file_size // BLOCKS_PER_FILE)
    return max(MIN_BLOCK, min(MAX_BLOCK, 1 << (target.bit_length() - 1)))


def _block(data: bytes, start: int, stop: int) -> tuple[Block, memoryview]:
    piece = memoryview(data)[start:stop]
    digest = hashlib.sha256(piece).hexdigest()
    return Block(digest, stop - start, data.count(b"\n", start, stop)), piece


def _end(data: bytes | bytearray, start: int, size: int, end: int) -> int:
    """Where a block beginning at `start` ends when the data runs on past its size (to
    `end`): after one of the line endings in the last `WINDOW` of its size, the one that
    ends the greatest line read backwards (the last of equals). So where a block ends
    depends on the lines about its end, not on where it began, and after an edit the blocks
    soon end where they ended before, even when every line has one length. No line ending
    there: after the last before it, else the first after it (a line longer than a block);
    -1 when there is none before `end`."""
    stop = start + size
    low = max(start, stop - max(MIN_WINDOW, size // WINDOW))
    window = bytes(data[low:stop])
    if b"\n" in window:
        backwards = window[::-1].split(b"\n")
        lines = backwards[1:]  # backwards[0]: what follows the last line ending
        at = lines.index(max(lines)) + 1
        return stop - len(b"\n".join(backwards[:at]))
    newline = data.rfind(b"\n", start, low)
    if newline < 0:
        newline = data.find(b"\n", stop, end)
    return newline + 1 if newline >= 0 else -1


def cut(data: bytes, start: int, end: int, size: int) -> Iterator[tuple[Block, memoryview]]:
    """data[start:end] as blocks of about `size` bytes, each ending at a newline (`_end`;
    the last one maybe not: the file's end)."""
    while start < end:
        stop = _end(data, start, size, end) if start + size < end else end
        stop = end if stop < 0 else stop
        yield _block(data, start, stop)
        start = stop


READ = 1 << 20  # bytes a file is read by, to cut it into blocks


def list_digest(digests: Sequence[str]) -> str:
    """The identity of a file cut into blocks of these digests: their sha256."""
    return hashlib.sha256("\n".join(digests).encode("ascii")).hexdigest()


def regions(
    handle: FileIO, size: int, read: int = READ
) -> Iterator[tuple[bytearray, list[tuple[int, int]]]]:
    """An open file (unbuffered), read `read` bytes at a time, as regions of whole blocks:
    (buffer, [(start, stop) of each block in it]). The header line is the first block;
    the others are cut as `cut` cuts them. The buffer is good until the next region is
    asked for: one is read into again and again (a new one a read would cost more to
    map into memory than to fill)."""
    buffer, carry, ended, header = bytearray(read + size), 0, False, True
    while not ended:
        if len(buffer) < carry + read:  # a line longer than a read
            buffer.extend(bytes(carry + read - len(buffer)))
        filled = carry
        with memoryview(buffer) as view:
            while filled < carry + read:
                count = handle.readinto(view[filled : carry + read])
                if not count:
                    break
                filled += count
        ended = filled == carry
        cuts: list[tuple[int, int]] = []
        start = 0
        while start < filled:
            if header:
                stop = buffer.find(b"\n", 0, filled) + 1 or -1
            elif start + size < filled:  # more of the file after the block's size
                stop = _end(buffer, start, size, filled)
            else:
                stop = -1
            if stop < 0 and ended:  # the file's end
                stop = filled
            if stop < 0:  # where the block ends is in the file's next bytes
                break
            cuts.append((start, stop))
            start, header = stop, False
        if cuts:
            yield buffer, cuts
        buffer[: filled - start] = buffer[start:filled]
        carry = filled - start


def _digests(region: bytearray, cuts: list[tuple[int, int]]) -> list[str]:
    with memoryview(region) as view:
        return [hashlib.sha256(view[start:stop]).hexdigest() for start, stop in cuts]


class FileBlocks:
    """A file read as blocks, a block in memory at a time (`for block, data in blocks`):
    the header line, then its rows. Once read, `digest` is the file's identity
    (`list_digest`) and `rows_alone` says whether every line is a row by itself (else no
    block list of the file can be compared a row at a time)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.digest = ""
        self.rows_alone = True

    def __iter__(self) -> Iterator[tuple[Block, bytes]]:
        digests: list[str] = []
        with self.path.open("rb", buffering=0) as handle:
            size = block_size(os.fstat(handle.fileno()).st_size)
            for region, cuts in regions(handle, size):
                for start, stop in cuts:
                    data = bytes(region[start:stop])
                    block = _block(data, 0, len(data))[0]
                    if digests and self.rows_alone and rows_of(data, 1) is None:
                        self.rows_alone = False
                    digests.append(block.digest)
                    yield block, data
        self.digest = list_digest(digests)


def block_digests(path: Path) -> list[str]:
    """The digests of a file's blocks, as FileBlocks cuts it, read through once: what the
    file is (its identity: `list_digest` of them) and what changed in it (`matched`), for
    the cost of hashing it. Its lines are not counted: that costs as much again."""
    digests: list[str] = []
    with path.open("rb", buffering=0) as handle:
        size = block_size(os.fstat(handle.fileno()).st_size)
        for region, cuts in regions(handle, size):
            digests.extend(_digests(region, cuts))
    return digests


def matched(old: Sequence[Block], new: Sequence[str]) -> tuple[int, int, int] | None:
    """How a file's old block list compares with its blocks now (their digests,
    `block_digests`): the number of blocks both begin with, and where the blocks both end
    with begin in each (`first`, `old_last`, `new_last`: the middle is old[first:old_last]
    against new[first:new_last]). None when the header changed (every row may mean
    something else)."""
    if not old or not new or old[0].digest != new[0]:
        return None
    first, most = 1, min(len(old), len(new))
    while first < most and old[first].digest == new[first]:
        first += 1
    old_last, new_last = len(old), len(new)
    while old_last > first and new_last > first and old[old_last - 1].digest == new[new_last - 1]:
        old_last, new_last = old_last - 1, new_last - 1
    return first, old_last, new_last


@dataclass(frozen=True)
class Middle:
    """What changed: old blocks [first, last) were replaced by new[start:end], which begins
    at line `line`. The blocks before `first` and from `last` on are unchanged."""

    first: int
    last: int
    start: int
    end: int
    line: int


class FileView:
    """An open file read where asked (`os.pread`), a block at a time: finding the changed
    middle of a large file this way holds no copy of it (reading a file of tens of MB whole
    costs as much as hashing it)."""

    def __init__(self, handle: BinaryIO) -> None:
        self._fd = handle.fileno()
        self._size = os.fstat(self._fd).st_size

    def __len__(self) -> int:
        return self._size

    def read_at(self, at: int, count: int) -> bytes:
        return os.pread(self._fd, count, at)


class _BytesView:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def __len__(self) -> int:
        return len(self._data)

    def read_at(self, at: int, count: int) -> bytes:
        return self._data[at : at + count]


def _same(data: FileView | _BytesView, at: int, block: Block) -> bool:
    if at < 0 or at + block.size > len(data):
        return False
    return hashlib.sha256(data.read_at(at, block.size)).hexdigest() == block.digest


def find_middle(manifest: Sequence[Block], file: bytes | FileView) -> Middle | None:
    """The changed middle of a file (its bytes, or a FileView) against the blocks of the
    file it was (`manifest`, header first); None when the header changed (every row may
    mean something else)."""
    data = file if isinstance(file, FileView) else _BytesView(file)
    if not manifest or not _same(data, 0, manifest[0]):
        return None
    header = data.read_at(0, manifest[0].size)
    if header.find(b"\n") != len(header) - 1:  # the header line, and only it
        return None
    old_size = sum(b.size for b in manifest)
    grown = len(data) - old_size
    first, start, line = 1, manifest[0].size, 1 + manifest[0].lines
    while first < len(manifest) and _same(data, start, manifest[first]):
        start += manifest[first].size
        line += manifest[first].lines
        first += 1
    last, old_end = len(manifest), old_size
    while last > first:
        block = manifest[last - 1]
        at = old_end - block.size
        if at + grown < start or not _same(data, at + grown, block):
            break
        last, old_end = last - 1, at
    # the unchanged end must begin a line in the new file too
    while (
        last < len(manifest)
        and old_end + grown > start
        and data.read_at(old_end + grown - 1, 1) != b"\n"
    ):
        old_end += manifest[last].size
        last += 1
    return Middle(first, last, start, old_end + grown, line)


def _alone(text: bytes) -> bool:
    """Whether a line is a whole row by itself: no carriage return inside, and its quotes,
    if any, close (a quoted value running over lines opens on a line that does not)."""
    if b"\r" in text:
        return False
    if b'"' not in text:
        return True
    try:
        for _ in csv.reader([text.decode("utf-8")], strict=True):
            pass
    except (csv.Error, UnicodeDecodeError):
        return False
    return True


def rows_of(region: bytes, line: int) -> list[tuple[int, bytes]] | None:
    """The rows of whole lines beginning at `line`: (line number, the line without its
    ending), blank lines left out. None when a line is not a row by itself (`_alone`): when
    every line of a file is, a line is a row wherever it moves."""
    rows: list[tuple[int, bytes]] = []
    pieces = region.split(b"\n")
    if pieces and not pieces[-1]:
        pieces.pop()
    for number, piece in enumerate(pieces, line):
        text = piece[:-1] if piece.endswith(b"\r") else piece
        if not _alone(text):
            return None
        if text:
            rows.append((number, text))
    return rows


@dataclass(frozen=True)
class RowChanges:
    """The rows of the middle that left and those that are new (with their line), in file
    order, and where each row kept is now (old line -> new line). The rows kept are in the
    same order in both files."""

    removed: list[bytes]
    added: list[tuple[int, bytes]]
    kept: dict[int, int]


def _in_order(places: Sequence[int]) -> set[int]:
    """The indexes of a longest increasing run of `places` (distinct values, the run not
    necessarily contiguous): patience sorting, n log n."""
    tails: list[int] = []  # tails[k]: the index ending the least run of k + 1 found so far
    ends: list[int] = []  # places[tails[k]], for bisect
    before = [-1] * len(places)  # the index before each one in its run
    for index, place in enumerate(places):
        k = bisect.bisect_left(ends, place)
        if k:
            before[index] = tails[k - 1]
        if k == len(tails):
            tails.append(index)
            ends.append(place)
        else:
            tails[k], ends[k] = index, place
    run: set[int] = set()
    index = tails[-1] if tails else -1
    while index >= 0:
        run.add(index)
        index = before[index]
    return run


def row_changes(old: list[tuple[int, bytes]], new: list[tuple[int, bytes]]) -> RowChanges:
    """Compare the rows of the old and the new middle. A row in both (the first left paired
    with the first found) is kept when it keeps its order among the other rows kept (a
    longest run of them); the others were removed and added. An edited row is one removed
    and one added, and so is a row moved across others: which of a number's rows comes
    first decides it, so a move is decided again, like an edit."""
    places: dict[bytes, deque[int]] = {}
    for index, (_, text) in enumerate(old):
        places.setdefault(text, deque()).append(index)
    pairs: list[tuple[int, int]] = []  # (old index, new index) of the rows in both
    for index, (_, text) in enumerate(new):
        found = places.get(text)
        if found:
            pairs.append((found.popleft(), index))
    run = _in_order([at for at, _ in pairs])
    kept = [pairs[k] for k in sorted(run)]
    old_kept = {at for at, _ in kept}
    new_kept = {at for _, at in kept}
    return RowChanges(
        removed=[text for at, (_, text) in enumerate(old) if at not in old_kept],
        added=[row for at, row in enumerate(new) if at not in new_kept],
        kept={old[was][0]: new[now][0] for was, now in kept},
    )
