"""The tick and apply benchmarks on PostgreSQL, beside SQLite's.

A cluster of this machine's PostgreSQL server binaries, started as the tests start theirs
(`tests/postgres.py`) but durable: fsync, synchronous commit and full-page writes on, as a
production server has them. The SQLite states the benchmarks prepare are moved into it with
`campaignctl state copy`, then settled (vacuumed, analyzed, checkpointed: no maintenance of
the server's left to run beside the timed runs), and each run works on a fresh copy
(`CREATE DATABASE ... TEMPLATE`, not timed). The server runs on this machine, over TCP on
127.0.0.1: every statement is a round trip that SQLite, in process, does not make.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from tests.postgres import Server, start_server

from campaignctl.store.copy import copy_between


class Postgres:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.loaded: dict[Path, str] = {}

    def load(self, state: Path) -> str:
        """A database holding a copy of the SQLite state (made once per state), settled."""
        if state not in self.loaded:
            url = self.server.create_database(empty=True)
            copy_between(state, url)
            self.settle(url)
            self.loaded[state] = url
        return self.loaded[state]

    def settle(self, url: str) -> None:
        """Vacuum and analyze the database at `url`, then checkpoint: one whose rows were
        just changed in bulk (a million made due) would otherwise be vacuumed by the
        server's autovacuum, and its pages written out, while the runs on it are timed."""
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE)")
            conn.execute("CHECKPOINT")

    @contextmanager
    def fresh(self, url: str) -> Iterator[str]:
        """A copy of the database at `url`, dropped after use."""
        copy = self.server.clone_database(url, file_copy=True)
        try:
            yield copy
        finally:
            self.server.drop_database(copy)


@contextmanager
def postgres() -> Iterator[Postgres]:
    server = start_server(durable=True)
    try:
        yield Postgres(server)
    finally:
        server.stop()
