"""The state's schema on PostgreSQL: plain SQL migrations in pg_migrations/, applied by
yoyo-migrations (its psycopg 3 backend), which records them in `_yoyo_migration`.

Opening refuses a database that holds other tables, or whose applied migrations include one
this code does not know (a newer campaignctl wrote it); an older one is migrated. yoyo takes
its lock (a row of `yoyo_lock`, not a session lock) around the migrations, so two processes
opening a new database at once create the schema once; the second waits, then finds it done.
Each migration runs in one transaction (PostgreSQL's DDL is transactional).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import psycopg
from yoyo import read_migrations
from yoyo.backends.core.postgresql import PostgresqlPsycopgBackend
from yoyo.connections import parse_uri
from yoyo.exceptions import LockTimeout

from campaignctl.errors import StateError

MIGRATIONS_TABLE = "_yoyo_migration"
YOYO_TABLES = {MIGRATIONS_TABLE, "_yoyo_log", "_yoyo_version", "yoyo_lock"}
LOCK_SECONDS = 60  # how long a second opener waits for the first one's migrations


def _migrations_dir() -> str:
    return str(resources.files("campaignctl.store") / "pg_migrations")


def known_migrations() -> list[str]:
    """The migration ids this code knows, in order (file names without `.sql`)."""
    return [m.id for m in read_migrations(_migrations_dir())]


def applied(conn: psycopg.Connection[Any], where: str) -> list[str] | None:
    """The ids of the migrations applied, oldest first; None for an empty database.
    Refuses one that holds something else, or a schema newer than this code."""
    tables = {
        str(r[0])
        for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    }
    foreign = StateError(
        f"{where}: not a campaignctl state database (it holds other tables); "
        "refusing to use or change it"
    )
    if MIGRATIONS_TABLE not in tables:
        if tables - YOYO_TABLES:
            raise foreign
        return None  # empty, or yoyo's own tables alone: another opener is making the schema
    ids = [
        str(r[0])
        for r in conn.execute(
            f"SELECT migration_id FROM {MIGRATIONS_TABLE} ORDER BY applied_at_utc, migration_id"
        )
    ]
    if not ids:
        return None  # the first migration under way in another process: it is waited for
    known = known_migrations()
    if not set(ids) & set(known) or "meta" not in tables:
        raise foreign
    if [i for i in ids if i not in known]:
        raise StateError(
            f"{where}: the state database has schema version {len(ids)}, newer than this "
            f"campaignctl understands ({len(known)}); upgrade campaignctl"
        )
    return ids


def check_and_migrate(
    conn: psycopg.Connection[Any], url: str, where: str, *, create: bool, read_only: bool
) -> None:
    ids = applied(conn, where)
    version, latest = len(ids or []), len(known_migrations())
    if version == latest:
        return
    if not ids and not create:
        raise StateError(f"{where}: no state in this database (the first apply creates it)")
    if read_only:
        state = "is empty" if not ids else f"has the older schema version {version}"
        raise StateError(f"{where}: the state database {state} and is read-only")
    migrate(url, where)
    applied(conn, where)  # what the other opener may have applied is checked too


def migrate(url: str, where: str) -> None:
    """Apply the migrations this database lacks, under yoyo's lock."""
    with _backend(url) as backend:
        migrations = read_migrations(_migrations_dir())
        try:
            with backend.lock(timeout=LOCK_SECONDS):
                backend.apply_migrations(backend.to_apply(migrations))
        except LockTimeout:
            raise StateError(
                f"{where}: the schema is being migrated by another process (or one stopped "
                "while migrating: then `yoyo break-lock` frees it); try again"
            ) from None


def _backend(url: str) -> Any:
    """yoyo's psycopg 3 backend, connecting with the URL as it is (libpq reads the rest of
    the credentials: PGPASSWORD, ~/.pgpass...), not with yoyo's own parse of it."""

    class Backend(PostgresqlPsycopgBackend):  # type: ignore[misc]
        def connect(self, dburi: Any) -> psycopg.Connection[Any]:
            return psycopg.connect(url, autocommit=True, prepare_threshold=None)

    backend = Backend(parse_uri("postgresql+psycopg://"), MIGRATIONS_TABLE)
    backend.init_database()  # yoyo's lock table
    return backend
