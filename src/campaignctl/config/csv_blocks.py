"""A contacts CSV as a list of blocks, and what changed in it since the list was made.

A group's sync keeps the file it read as blocks of whole lines (about a thousand a file, 1
to 64 KiB each): the header line alone, then the rows. Each block is known by its sha256,
its size and its number of lines (a `Block`). When the file changes, the blocks that are
still there are found from both ends: from the start, each old block is hashed at its old
place; from the end, at its old place shifted by how much the file grew. What lies between
is the changed middle, and only its rows are compared, as lines, with the old middle's:

    old   [header][b1][b2][b3][b4][b5]
    new   [header][b1][b2][ b3'  ][b4][b5]      -> the rows of b3 against those of b3'

Finding the middle costs one hash of the file (the floor of seeing a change at all); a row
added, removed or edited anywhere makes a middle of one block. A row is its line, the line
ending left out; a row that moved across others counts as removed and added (`row_changes`).
Pure: bytes in, values out.
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import os
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

MIN_BLOCK = 1024
MAX_BLOCK = 64 * 1024
BLOCKS_PER_FILE = 1024  # the target: a row's change costs a block's read, whatever the size


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
    """The size blocks are cut at for a file of `file_size` bytes."""
    return max(MIN_BLOCK, min(MAX_BLOCK, file_size // BLOCKS_PER_FILE))


def _block(data: bytes, start: int, stop: int) -> tuple[Block, memoryview]:
    piece = memoryview(data)[start:stop]
    digest = hashlib.sha256(piece).hexdigest()
    return Block(digest, stop - start, data.count(b"\n", start, stop)), piece


def cut(data: bytes, start: int, end: int, size: int) -> Iterator[tuple[Block, memoryview]]:
    """data[start:end] as blocks of about `size` bytes, each ending at a newline (the last
    one maybe not: the file's end)."""
    while start < end:
        stop = min(end, start + size)
        if stop < end:
            newline = data.rfind(b"\n", start, stop)
            if newline < 0:  # a line longer than a block: the block runs to its end
                newline = data.find(b"\n", stop, end)
            stop = end if newline < 0 else newline + 1
        yield _block(data, start, stop)
        start = stop


class FileBlocks:
    """A file read as blocks, a block in memory at a time (`for block, data in blocks`):
    the header line, then its rows. Once read, `sha256` is the whole file's and
    `rows_alone` says whether every line is a row by itself (else no block list of the file
    can be compared a row at a time)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sha256 = ""
        self.rows_alone = True

    def __iter__(self) -> Iterator[tuple[Block, bytes]]:
        whole = hashlib.sha256()
        with self.path.open("rb") as handle:
            size = block_size(self.path.stat().st_size)
            header = handle.readline()
            whole.update(header)
            yield _block(header, 0, len(header))[0], header
            rest = b""
            while True:
                chunk = handle.read(size)
                whole.update(chunk)
                data = rest + chunk
                if not data:
                    break
                stop = data.rfind(b"\n") + 1 if chunk else len(data)
                if stop == 0:  # a line longer than a block: read on
                    rest = data
                    continue
                piece, rest = data[:stop], data[stop:]
                if self.rows_alone and rows_of(piece, 1) is None:
                    self.rows_alone = False
                yield _block(piece, 0, len(piece))[0], piece
        self.sha256 = whole.hexdigest()


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
