"""bench/inserts.py: a launched state's enrollments written again, index by index."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from bench.generate import write_campaign_repo

from bench import inserts, scenarios


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("inserts")
    config_dir, _ = write_campaign_repo(root, 300, 11)
    state = root / "launch.db"
    scenarios.fresh_state(state)
    times = scenarios.launch(config_dir, state, scenarios.NIGHT)
    assert len(inserts.enrollments_of(state)) == times.summary["enroll"] > 250
    return state


def _written(path: Path) -> tuple[list[tuple[object, ...]], set[str]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(f"SELECT {inserts.COLUMNS} FROM enrollments ORDER BY rowid").fetchall()
        indexes = {
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'enrollments'"
            )
        }
    return rows, indexes


def test_the_enrollments_are_written_again_as_they_were_without_the_index_dropped(
    launched: Path, tmp_path: Path
) -> None:
    rows, schema = inserts.enrollments_of(launched), inserts.schema_of(launched)
    target = tmp_path / "again.db"
    spent, commits, wal = inserts._insert(
        target, launched, schema, rows, 40, ["enrollments_due"], False, 64
    )
    written, indexes = _written(target)
    assert written == rows
    assert "enrollments_due" not in indexes and "enrollments_next" in indexes
    assert 0 < commits < spent and wal > 0


def test_a_bare_table_takes_the_same_rows_with_no_index(launched: Path, tmp_path: Path) -> None:
    rows, schema = inserts.enrollments_of(launched), inserts.schema_of(launched)
    target = tmp_path / "bare.db"
    inserts._insert(target, launched, schema, rows, 1000, [], True, 64)
    written, indexes = _written(target)
    assert written == rows and indexes == set()


def test_the_command_names_every_variant(
    launched: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inserts.main([str(launched), "--rounds", "1", "--batch", "100"])
    out = capsys.readouterr().out
    count = len(inserts.enrollments_of(launched))
    assert out.startswith(f"{count:,} enrollments of {launched}, 100 a transaction")
    for label in ("as the state has it", "without enrollments_due", "without enrollments_later",
                  "without enrollments_next", "without any of them", "no key, no index"):  # fmt: skip
        assert f"\n{label} " in out
