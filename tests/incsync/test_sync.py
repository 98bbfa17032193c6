"""A group edited by a row is synced by that row: the row added enrolled, the row removed
ended, the row edited both, and nothing else read again; what cannot be decided a row at a
time (a new header, a number also in an unchanged row it was refused for, a value over two
lines) is read whole. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from array import array
from pathlib import Path

import pytest

from campaignctl.config.csv_blocks import FileBlocks, cut
from campaignctl.store import Store
from campaignctl.store.synced import SyncedGroup
from tests.incsync.helpers import (
    CAMPAIGN,
    ROWS,
    WHOLE,
    apply,
    big_repo,
    enrollment,
    kept_file,
    numbers,
)

SIZE = 3000
HASHED = "the changes were found by hashing the kept blocks in the file"  # not from the block lists


def kept_numbers(state: str) -> list[int]:
    """The group's number list as the state keeps it (0: where a removed number was)."""
    with Store.open(state) as store:
        kept = store.synced_group("spring-buyers")
    assert kept is not None
    listed = array("q")
    listed.frombytes(kept.numbers)
    return listed.tolist()


def test_one_row_added_removed_or_edited_is_what_the_sync_reads_and_changes(
    tmp_path: Path, state: str, caplog: pytest.LogCaptureFixture
) -> None:
    repo, rows = big_repo(tmp_path, SIZE)
    csv = repo.dir / "groups/open-house.csv"
    rows[40] = (rows[40][0], "")  # no first name: refused `missing_field`
    repo.group(rows=rows)
    summary, log = apply(repo, state, caplog)
    assert summary["enroll"] == SIZE - 1 and WHOLE in log
    assert kept_file(state) == csv.read_bytes()
    # every number, then holes (0) up to a multiple of 512: room for rows added
    listed = kept_numbers(state)
    assert len(listed) == 3072 and listed[SIZE:] == [0] * 72 and 0 not in listed[:SIZE]

    newcomer = "+13125550199"
    rows.insert(1500, (newcomer, "Newcomer"))
    repo.group(rows=rows)
    summary, log = apply(repo, state, caplog)
    assert ROWS + "0 rows removed, 1 added" in log
    assert HASHED not in caplog.text  # the block lists told the change
    assert (summary.get("enroll"), summary.get("end", 0)) == (1, 0)
    assert enrollment(state, newcomer)[:2] == ("live", None)
    assert enrollment(state, newcomer)[3].endswith("open-house.csv:1502:1")
    assert kept_file(state) == csv.read_bytes()
    listed = kept_numbers(state)  # the number added in the last hole: the list keeps its size
    assert len(listed) == 3072 and listed[-1] == int(newcomer[1:]) and listed.count(0) == 71

    leaving = rows.pop(10)[0]
    repo.group(rows=rows)
    summary, log = apply(repo, state, caplog)
    assert ROWS + "1 rows removed, 0 added" in log
    assert (summary.get("enroll", 0), summary.get("end")) == (0, 1)
    assert enrollment(state, leaving)[:2] == ("ended", "removed")
    # its place in the list left empty, so that the list keeps its size
    before, listed = listed, kept_numbers(state)
    assert len(listed) == 3072 and listed.count(0) == 72
    assert listed[before.index(int(leaving[1:]))] == 0 and int(leaving[1:]) not in listed

    old_number, name = rows[20]
    rows[20] = ("+13125550198", name)
    repo.group(rows=rows)
    summary, log = apply(repo, state, caplog)
    assert ROWS + "1 rows removed, 1 added" in log
    assert (summary.get("enroll"), summary.get("end")) == (1, 1)
    assert enrollment(state, old_number)[:2] == ("ended", "removed")
    assert enrollment(state, "+13125550198")[:2] == ("live", None)
    # the new number where the old one was
    before, listed = listed, kept_numbers(state)
    assert len(listed) == 3072 and listed.count(0) == 72
    assert listed[before.index(int(old_number[1:]))] == 13125550198

    # a live contact's fields edited: left as they were, as a sync of the whole group does
    before = enrollment(state, rows[30][0])
    rows[30] = (rows[30][0], "Renamed")
    repo.group(rows=rows)
    summary, log = apply(repo, state, caplog)
    assert ROWS + "1 rows removed, 1 added" in log
    assert summary.get("enroll", 0) == summary.get("end", 0) == 0
    assert enrollment(state, rows[30][0]) == before

    # the refused contact's first name given: enrolled, and only it
    rows[39] = (rows[39][0], "Found")
    repo.group(rows=rows)
    summary, log = apply(repo, state, caplog)
    assert ROWS + "1 rows removed, 1 added" in log
    assert (summary.get("enroll"), summary.get("end", 0)) == (1, 0)
    assert enrollment(state, rows[39][0])[:2] == ("live", None)
    assert kept_file(state) == csv.read_bytes()


def test_what_cannot_be_decided_a_row_at_a_time_is_read_whole(
    tmp_path: Path, state: str, caplog: pytest.LogCaptureFixture
) -> None:
    repo, rows = big_repo(tmp_path, SIZE)
    csv = repo.dir / "groups/open-house.csv"
    rows[100] = (rows[100][0], "")  # refused `missing_field`
    repo.group(rows=rows)
    apply(repo, state, caplog)

    # the same number in a new row with a first name: the first row still decides it
    rows.append((rows[100][0], "Second"))
    repo.group(rows=rows)
    summary, log = apply(repo, state, caplog)
    assert WHOLE in log and ROWS not in log
    assert summary.get("enroll", 0) == 0

    # a new column: every row may mean something else
    csv.write_text(
        "phone,first_name,city,zip\n" + "".join(f"{p},{n},Austin,78701\n" for p, n in rows)
    )
    _, log = apply(repo, state, caplog)
    assert WHOLE in log and ROWS not in log

    # a value over two lines: read whole, and the next sync too (no line is a row alone)
    text = csv.read_text()
    csv.write_text(text + '+13125550197,"Ana\nMaria",Austin,78701\n')
    summary, log = apply(repo, state, caplog)
    assert WHOLE in log and summary.get("enroll") == 1
    assert kept_file(state) is None
    csv.write_text(text)
    summary, log = apply(repo, state, caplog)
    assert WHOLE in log and summary.get("end") == 1
    assert kept_file(state) == csv.read_bytes()
    csv.write_text(text + "+13125550196,Cy,Austin,78701\n")
    summary, log = apply(repo, state, caplog)
    assert ROWS + "0 rows removed, 1 added" in log and summary.get("enroll") == 1


def test_a_bad_row_added_holds_the_campaign_as_a_whole_check_does(
    tmp_path: Path, state: str, caplog: pytest.LogCaptureFixture
) -> None:
    repo, _ = big_repo(tmp_path, SIZE)
    apply(repo, state, caplog)
    csv = repo.dir / "groups/open-house.csv"
    lines = csv.read_text().splitlines(keepends=True)
    csv.write_text("".join([*lines[:2000], "+13125550195,Bo,Austin,extra\n", *lines[2000:]]))
    summary, _ = apply(repo, state, caplog)
    assert summary.get("enroll", 0) == 0
    with Store.open(state) as store:
        (row,) = store.campaign_status_rows()
    assert row.config_error is not None and "open-house.csv:2001" in row.config_error
    assert "4 values" in row.config_error
    csv.write_text("".join(lines) + f"{numbers(1, '415')[0]},Di,Austin\n")
    summary, log = apply(repo, state, caplog)
    assert ROWS + "0 rows removed, 1 added" in log and summary.get("enroll") == 1


def test_blocks_kept_cut_otherwise_are_found_in_the_file(
    tmp_path: Path, state: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A state kept by a former version: its block list of the file cut otherwise (at
    another size), its group digest taken otherwise. The blocks end elsewhere than the
    file's now, so its changes are found by hashing the old blocks in the file: none at
    first (only the digest is new), then the row added, synced by its changes still."""
    repo, rows = big_repo(tmp_path, SIZE)
    csv = repo.dir / "groups/open-house.csv"
    apply(repo, state, caplog)
    data = csv.read_bytes()
    header = next(iter(FileBlocks(csv)))[0]
    pieces = [(header, data[: header.size])]
    pieces += [(b, bytes(piece)) for b, piece in cut(data, header.size, len(data), 3000)]
    with Store.open(state) as store:
        kept = store.synced_group(CAMPAIGN)
        assert kept is not None
        manifest = json.dumps([list(b) for b, _ in pieces])
        former = "sha256:" + "0" * 64
        otherwise = SyncedGroup(former, kept.rows_key, manifest, kept.numbers)
        blocks = [(b.digest, piece) for b, piece in pieces]
        store.record_synced(CAMPAIGN, former, lambda: otherwise, blocks, drop=None)
    assert kept_file(state) == data
    summary, log = apply(repo, state, caplog)
    assert ROWS + "0 rows removed, 0 added" in log and HASHED in caplog.text
    assert summary.get("enroll", 0) == summary.get("end", 0) == 0
    with Store.open(state) as store:
        assert store.synced_group(CAMPAIGN).digest == kept.digest  # type: ignore[union-attr]

    newcomer = "+13125550199"
    rows.insert(1500, (newcomer, "Newcomer"))
    repo.group(rows=rows)
    summary, log = apply(repo, state, caplog)
    assert ROWS + "0 rows removed, 1 added" in log
    assert HASHED in caplog.text
    assert (summary.get("enroll"), summary.get("end", 0)) == (1, 0)
    assert enrollment(state, newcomer)[3].endswith("open-house.csv:1502:1")
    assert kept_file(state) == csv.read_bytes()
