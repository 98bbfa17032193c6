"""The changed middle of a contacts CSV, found from the blocks of the file it was: on random
files and random edits (rows added, removed, edited, moved, doubled), the rows it says were
removed and added are the rows the edit removed and added, each with its line, and maybe
rows that moved across others (removed and added both); the rows it keeps are in the same
order in both files. A file is cut into the same blocks however it is read, and after an
edit its blocks soon end where they ended before: the block lists alone tell the middle."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from campaignctl.config.csv_blocks import (
    READ,
    Block,
    FileBlocks,
    FileView,
    block_digests,
    block_size,
    cut,
    find_middle,
    list_digest,
    matched,
    regions,
    row_changes,
    rows_of,
)

HEADER = b"phone,first_name,city\n"
ROWS = [f"+1212555{i:04d},Name{i % 9},Austin".encode() for i in range(400)]


def blocks_of(data: bytes) -> list[Block]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "group.csv"
        path.write_bytes(data)
        blocks = FileBlocks(path)
        manifest = [block for block, _ in blocks]
    assert blocks.rows_alone
    return manifest


def file_of(rows: list[bytes]) -> bytes:
    return HEADER + b"".join(row + b"\n" for row in rows)


def lines_of(data: bytes) -> dict[int, bytes]:
    return dict(enumerate(data.split(b"\n"), 1))


@st.composite
def edits(draw: st.DrawFn) -> tuple[list[bytes], list[bytes]]:
    """A file's rows, and the rows after a few random edits."""
    old = draw(st.lists(st.sampled_from(ROWS), min_size=0, max_size=300))
    new = list(old)
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["add", "remove", "edit", "move", "double"]))
        at = draw(st.integers(0, max(0, len(new) - 1)))
        if kind == "add" or not new:
            new.insert(draw(st.integers(0, len(new))), draw(st.sampled_from(ROWS)))
        elif kind == "remove":
            del new[at]
        elif kind == "edit":
            new[at] = new[at].replace(b"Austin", b"Boston")
        elif kind == "move":
            new.insert(draw(st.integers(0, len(new) - 1)), new.pop(at))
        else:
            new.insert(at, new[at])
    return old, new


@settings(max_examples=300, deadline=None)
@given(edits())
def test_the_rows_removed_and_added_are_those_of_the_edit(
    case: tuple[list[bytes], list[bytes]],
) -> None:
    old, new = case
    before, after = file_of(old), file_of(new)
    manifest = blocks_of(before)
    middle = find_middle(manifest, after)
    assert middle is not None
    offset = sum(b.size for b in manifest[: middle.first])
    old_end = offset + sum(b.size for b in manifest[middle.first : middle.last])
    old_rows = rows_of(before[offset:old_end], middle.line)
    new_rows = rows_of(after[middle.start : middle.end], middle.line)
    assert old_rows is not None and new_rows is not None
    changes = row_changes(old_rows, new_rows)
    added = [text for _, text in changes.added]
    assert Counter(changes.removed) - Counter(added) == Counter(old) - Counter(new)
    assert Counter(added) - Counter(changes.removed) == Counter(new) - Counter(old)
    lines = after.split(b"\n")
    assert all(lines[line - 1] == text for line, text in changes.added)
    # the rows kept are the same rows in the same order in both files
    was, now = lines_of(before), lines_of(after)
    assert list(changes.kept) == sorted(changes.kept)
    assert list(changes.kept.values()) == sorted(changes.kept.values())
    assert all(was[line] == now[changes.kept[line]] for line in changes.kept)
    assert len(changes.kept) + len(changes.removed) == len(old_rows)
    assert len(changes.kept) + len(changes.added) == len(new_rows)
    # what lies outside the middle is the old file's, byte for byte
    assert after[: middle.start] == before[:offset]
    assert after[middle.end :] == before[old_end:]
    # the new block list describes the new file
    pieces = list(cut(after, middle.start, middle.end, block_size(len(after))))
    blocks = [*manifest[: middle.first], *(b for b, _ in pieces), *manifest[middle.last :]]
    assert sum(b.size for b in blocks) == len(after)
    assert sum(b.lines for b in blocks) == after.count(b"\n")


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=90).map(lambda b: b.replace(b"\n", b"")), max_size=80),
    ending=st.booleans(),
    size=st.sampled_from([8, 64, 1024]),
    read=st.integers(1, 300),
)
def test_a_file_read_a_region_at_a_time_is_cut_as_cut_cuts_it(
    lines: list[bytes], ending: bool, size: int, read: int
) -> None:
    """Whatever its lines (longer than a block, or than a read; none at all; the last one
    without its line ending), the header line alone, then the blocks `cut` makes."""
    data = b"\n".join(lines) + (b"\n" if ending and lines else b"")
    header = data.find(b"\n") + 1 or len(data)
    expected = ([data[:header]] if data else []) + [
        bytes(piece) for _, piece in cut(data, header, len(data), size)
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "group.csv"
        path.write_bytes(data)
        with path.open("rb", buffering=0) as handle:
            found = [bytes(r[a:b]) for r, cuts in regions(handle, size, read) for a, b in cuts]
    assert found == expected


def test_the_block_digests_of_a_large_file_are_those_of_its_blocks(tmp_path: Path) -> None:
    """A file of several reads: the identity of the file is the same whether its blocks
    were read to be kept (FileBlocks) or to be compared (block_digests)."""
    rows = [f"+1{200 + i % 700}555{i % 10000:04d},Name{i},Austin".encode() for i in range(90_000)]
    path = tmp_path / "contacts.csv"
    path.write_bytes(file_of(rows))
    assert path.stat().st_size > 2 * READ
    blocks = FileBlocks(path)
    manifest = [block for block, _ in blocks]
    digests = block_digests(path)
    assert digests == [block.digest for block in manifest]
    assert list_digest(digests) == blocks.digest
    assert sum(b.size for b in manifest) == path.stat().st_size


def test_a_row_edited_in_a_large_file_makes_a_middle_of_one_block(tmp_path: Path) -> None:
    """The same middle whether the file is given as bytes or read where asked (FileView,
    as a sync reads it); the block lists of the two files differ in a few blocks around
    it (their blocks end where they ended before soon after the edit)."""
    rows = [f"+1{200 + i % 700}555{i % 10000:04d},Name{i},Austin".encode() for i in range(20_000)]
    before = file_of(rows)
    manifest = blocks_of(before)
    assert len(manifest) > 100
    for edited in (
        [*rows[:7000], b"+12125550000,Added,Austin", *rows[7000:]],
        [*rows[:7000], *rows[7001:]],
        [*rows[:7000], rows[7000].replace(b"Austin", b"Dallas"), *rows[7001:]],
        [b"+12125550000,First,Austin", *rows],
        [*rows, b"+12125550000,Last,Austin"],
    ):
        after = file_of(edited)
        middle = find_middle(manifest, after)
        assert middle is not None
        assert middle.last - middle.first <= 1
        assert middle.end - middle.start <= 2 * manifest[1].size
        path = tmp_path / "contacts.csv"
        path.write_bytes(after)
        with path.open("rb") as handle:
            assert find_middle(manifest, FileView(handle)) == middle
        found = matched(manifest, block_digests(path))
        assert found is not None
        first, old_last, new_last = found
        assert first <= middle.first and old_last >= middle.last
        assert max(old_last, new_last) - first <= 4


def test_the_blocks_of_rows_of_one_length_end_where_they_ended_after_an_edit(
    tmp_path: Path,
) -> None:
    """Every row of one length (a list of numbers alone, say): a block ends where its
    lines say, not a number of rows after the block before, so a row added soon leaves
    the blocks ending where they ended before."""
    rows = [f"+1212555{i:04d}".encode() for i in range(9000)]
    manifest = blocks_of(file_of(rows))
    assert len(manifest) > 100
    for at in (100, 4000, 8990):
        for edited in ([*rows[:at], b"+13125559999", *rows[at:]], rows[:at] + rows[at + 1 :]):
            path = tmp_path / "contacts.csv"
            path.write_bytes(file_of(edited))
            found = matched(manifest, block_digests(path))
            assert found is not None
            first, old_last, new_last = found
            assert max(old_last, new_last) - first <= 3


def test_a_block_list_cut_otherwise_is_compared_with_the_file(tmp_path: Path) -> None:
    """A block list cut at another size (the file grew past a power of two, or was cut by
    a former rule) has nothing in common with the file's blocks after its header; the
    file compared with the old blocks (find_middle) still finds the row that changed."""
    rows = [
        f"+1{200 + i % 700}555{i % 10000:04d},Name{i % 97},Austin".encode() for i in range(9000)
    ]
    before = file_of(rows)
    header = len(HEADER)
    manifest = [blocks_of(before)[0], *(b for b, _ in cut(before, header, len(before), 3000))]
    after = file_of([*rows[:4000], b"+13125559999,Newcomer,Austin", *rows[4000:]])
    path = tmp_path / "contacts.csv"
    path.write_bytes(after)
    found = matched(manifest, block_digests(path))
    assert found is not None and found[0] == 1 and found[1] == len(manifest)
    middle = find_middle(manifest, after)
    assert middle is not None and middle.last - middle.first == 1


def test_a_changed_header_has_no_middle() -> None:
    before = file_of(ROWS[:50])
    assert find_middle(blocks_of(before), b"phone,name,city\n" + before[len(HEADER) :]) is None


def test_a_quoted_value_over_two_lines_is_not_a_row_by_itself() -> None:
    assert rows_of(b'+12125550100,"Ana\nMaria",Austin\n', 2) is None
    assert rows_of(b'+12125550100,"Austin, TX",Ana\n', 2) == [(2, b'+12125550100,"Austin, TX",Ana')]
    assert rows_of(b"+12125550100,Ana,Austin\r\n\r\n+13125550101,Bo,Austin", 5) == [
        (5, b"+12125550100,Ana,Austin"),
        (7, b"+13125550101,Bo,Austin"),
    ]


def test_a_row_moved_across_others_is_removed_and_added() -> None:
    a, b, c = (b"+12125550100,Ana,Austin", b"+13125550101,Bo,Austin", b"+12125550100,,Austin")
    changes = row_changes([(2, b), (3, c), (4, a)], [(2, a), (3, b), (4, c)])
    assert changes.removed == [a]
    assert changes.added == [(2, a)]
    assert changes.kept == {2: 3, 3: 4}
