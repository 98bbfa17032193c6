"""`python -m bench.inserts STATE`: what writing a launch's enrollments costs SQLite, index by
index. The enrollments of a launched state (the enroll benchmark's, e.g.
`/tmp/campaignctl-bench/states/launch-1000000.db`) are inserted again, in their order, into
a new database with the state's own schema, with the statement `enroll_many` runs and in
transactions of the streamed apply's batch: once as the state has it, once without each
secondary index of the enrollments, once without any, and once into a table with the same
columns and no key at all. No checkpoint runs (the store checkpoints on a thread of its own):
what is timed is the inserts and their commits; the WAL's size says how much they wrote.
The variants run in turn, three rounds; each one's median is shown.

    python -m bench.inserts /tmp/campaignctl-bench/states/launch-1000000.db
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

from campaignctl.app.executor import BATCH
from campaignctl.store.writes import ENROLL

COLUMNS = (
    "campaign, phone, next_due_at, next_at, next_why, enrolled_at, fields, zones, us_state, source"
)
CONFLICT = " ON CONFLICT (phone, campaign) DO NOTHING"
Row = tuple[object, ...]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.inserts", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("state", type=Path, help="a launched state (SQLite)")
    parser.add_argument("--batch", type=int, default=BATCH, help="rows a transaction")
    parser.add_argument(
        "--cache-mib", type=int, default=64, help="SQLite's page cache (the store's: 64)"
    )
    parser.add_argument("--as-is", action="store_true", help="only the state's schema as it is")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each (the median shown)")
    args = parser.parse_args(argv)
    rows, schema = enrollments_of(args.state), schema_of(args.state)
    indexes = sorted(name for kind, name, table, _ in schema
                     if kind == "index" and table == "enrollments")  # fmt: skip
    print(f"{len(rows):,} enrollments of {args.state}, {args.batch:,} a transaction")
    variants: list[tuple[str, Sequence[str], bool]] = [("as the state has it", (), False)]
    variants += [(f"without {name}", (name,), False) for name in indexes]
    variants += [("without any of them", indexes, False), ("no key, no index", (), True)]
    if args.as_is:
        variants = variants[:1]
    results: dict[str, list[tuple[float, float, int]]] = {label: [] for label, _, _ in variants}
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(args.rounds):  # in turn, so that each variant meets the machine's moods
            for label, dropped, bare in variants:
                results[label].append(_insert(Path(scratch) / "inserts.db", args.state, schema,
                                              rows, args.batch, dropped, bare, args.cache_mib))  # fmt: skip
    for label, runs in results.items():
        spent, commits, wal = sorted(runs)[len(runs) // 2]
        print(f"{label:<28} {spent:6.2f} s ({spent / len(rows) * 1e6:4.1f} us a row; commits "
              f"{commits:5.2f} s; WAL {wal / 1e6:5.0f} MB); runs "
              f"{', '.join(f'{run[0]:.2f} s' for run in runs)}")  # fmt: skip


def enrollments_of(state: Path) -> list[Row]:
    """The enrollments of a state, as `enroll_many` writes them (COLUMNS), in their order."""
    with closing(_read_only(state)) as conn:
        return conn.execute(f"SELECT {COLUMNS} FROM enrollments ORDER BY id").fetchall()


def schema_of(state: Path) -> list[tuple[str, str, str, str]]:
    """What makes a state's schema: (type, name, table, SQL), tables first, then indexes,
    then triggers."""
    with closing(_read_only(state)) as conn:
        return conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL"
            " ORDER BY type = 'trigger', type = 'index'"
        ).fetchall()


def _read_only(state: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{state.resolve().as_uri()}?mode=ro", uri=True)


def _insert(
    path: Path,
    state: Path,
    schema: Sequence[tuple[str, str, str, str]],
    rows: Sequence[Row],
    batch: int,
    dropped: Sequence[str],
    bare: bool,
    cache_mib: int,
) -> tuple[float, float, int]:
    """Insert `rows` into a new database at `path` with the state's schema but `dropped`
    (`bare`: the enrollments a table of the same columns only); the seconds the inserts and
    commits took, the commits', and the WAL's size."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode = WAL", "synchronous = NORMAL", f"cache_size = -{cache_mib * 1024}",
                       "foreign_keys = ON", "wal_autocheckpoint = 0"):  # fmt: skip
            conn.execute(f"PRAGMA {pragma}")  # as the store opens a state, less the checkpoints
        for _, name, _, sql in schema:
            if name not in dropped:
                conn.execute(sql)
        conn.execute("ATTACH ? AS source", [f"{state.resolve().as_uri()}?mode=ro"])
        conn.execute("INSERT INTO campaigns SELECT * FROM source.campaigns")
        if bare:
            conn.execute("DROP TABLE enrollments")
            conn.execute("CREATE TABLE enrollments AS SELECT * FROM source.enrollments WHERE 0")
        conn.execute("DETACH source")
        assert ENROLL.endswith(CONFLICT)
        statement = ENROLL.removesuffix(CONFLICT) if bare else ENROLL
        commits = 0.0
        started = time.perf_counter()
        for at in range(0, len(rows), batch):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(statement, rows[at : at + batch])
            committing = time.perf_counter()
            conn.execute("COMMIT")
            commits += time.perf_counter() - committing
        spent = time.perf_counter() - started
        return spent, commits, Path(f"{path}-wal").stat().st_size
    finally:
        conn.close()


if __name__ == "__main__":
    main()
