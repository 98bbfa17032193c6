"""What only the PostgreSQL state has: a URL whose password is never shown, a schema made
and checked by its migrations, and the errors of a server, each one line."""

from __future__ import annotations

import multiprocessing
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaignctl.errors import StateError
from campaignctl.store import Store, mask, pg_schema
from campaignctl.store.location import mask_urls, parse_state
from tests.postgres import PASSWORD, Server
from tests.store.helpers import T0, active_campaign


def _with(url: str, **parts: str) -> str:
    return urlunsplit(urlsplit(url)._replace(**parts))


# ----------------------------------------------------------------------------- masking


@given(
    user=st.text("abcdefghij_", min_size=1, max_size=8),
    password=st.text(min_size=4, max_size=30).filter(
        lambda p: p.strip() == p and p not in "postgresql://db.example:5433/state?&sslmode=require"
    ),
    query=st.booleans(),
)
def test_a_url_is_shown_without_its_password(user: str, password: str, query: bool) -> None:
    if password in user:
        return
    url = f"postgresql://{user}:{quote(password, safe='')}@db.example:5433/state"
    url += f"?password={quote(password, safe='')}&sslmode=require" if query else ""
    shown = mask(url)
    assert shown == f"postgresql://{user}:***@db.example:5433/state" + ("?***" if query else "")
    assert quote(password, safe="") not in shown.replace("***", "")
    assert str(parse_state(url)) == repr(parse_state(url))[15:-2] == shown
    assert mask_urls(f"could not use {url} now") == f"could not use {shown} now"


def test_a_url_without_credentials_or_host_is_shown_as_it_is() -> None:
    assert mask("postgresql:///state") == "postgresql:///state"
    assert mask("postgres://ci@/state?host=/run/pg") == "postgresql://ci:***@/state?***"
    assert str(parse_state("POSTGRESQL://h/db")) == "postgresql://h/db"
    assert parse_state("state.db").path is not None


def test_no_error_of_the_server_shows_the_password(postgres_server: Server) -> None:
    url = postgres_server.create_database()
    wrong = _with(url, netloc=urlsplit(url).netloc.replace(PASSWORD, PASSWORD + "x"))
    refused_port = _with(url, netloc=f"postgres:{PASSWORD}@127.0.0.1:1")
    missing = _with(url, path="/no_such_database")
    cases = [
        (wrong, "authentication failed for this user"),
        (refused_port, "cannot connect to the PostgreSQL server (connection refused)"),
        (missing, "the database does not exist"),
    ]
    for bad, said in cases:
        for opening in (Store.open, Store.open_for_reading):
            with pytest.raises(StateError) as refused:
                opening(bad)
            message = str(refused.value)
            assert message.startswith(mask(bad) + ": ") and said in message, message
            assert PASSWORD not in message and "\n" not in message
            assert refused.value.__cause__ is None  # no chained driver error to print
    with Store.open(url) as store:
        assert store.where == mask(url) and PASSWORD not in repr(parse_state(url))


# ----------------------------------------------------------------------------- schema


def test_an_empty_database_is_given_the_schema_and_read_as_an_empty_state(
    postgres_server: Server,
) -> None:
    url = postgres_server.create_database(empty=True)
    with Store.open_for_reading(url) as store:  # nothing created by a read
        assert store.balance() == 0 and store.campaign_status_rows() == []
    with psycopg.connect(url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone() == (0,)
    with pytest.raises(StateError, match="no state in this database"):
        Store.open(url, create=False)
    with Store.open(url) as store:
        store.add_credits(5, None, T0)
    with Store.open_for_reading(url) as store:
        assert store.balance() == 5


def test_a_newer_schema_is_refused_untouched(postgres_server: Server) -> None:
    url = postgres_server.create_database()
    with Store.open(url) as store:
        store.add_credits(5, None, T0)
    postgres_server.run_sql(
        url,
        "INSERT INTO _yoyo_migration (migration_hash, migration_id, applied_at_utc)"
        " VALUES ('h', '0099_from_the_future', now())",
    )
    known = len(pg_schema.known_migrations())
    for opening in (Store.open, Store.open_for_reading):
        with pytest.raises(StateError) as refused:
            opening(url)
        known = len(pg_schema.known_migrations())
        assert str(refused.value) == (
            f"{mask(url)}: the state database has schema version {known + 1}, newer than "
            f"this campaignctl understands ({known}); upgrade campaignctl"
        )
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT balance, serial FROM meta").fetchone() == (5, 1)


def test_a_database_of_another_program_is_refused_untouched(postgres_server: Server) -> None:
    url = postgres_server.create_database(empty=True)
    postgres_server.run_sql(url, "CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(StateError, match="not a campaignctl state database"):
        Store.open(url)
    with psycopg.connect(url) as conn:
        tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        assert tables.fetchall() == [("invoices",)]


def _first_open(url: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    try:
        with Store.open(url) as store:
            queue.put(("ok", store.serial))
    except StateError as exc:
        queue.put(("error", str(exc)))


def test_two_processes_creating_the_schema_at_once_create_it_once(
    postgres_server: Server,
) -> None:
    url = postgres_server.create_database(empty=True)
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_first_open, args=(url, queue)) for _ in range(3)]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    assert results == [("ok", 0)] * 3
    with psycopg.connect(url) as conn:
        applied = conn.execute("SELECT migration_id FROM _yoyo_migration").fetchall()
        assert applied == [(m,) for m in pg_schema.known_migrations()]  # each once


# ----------------------------------------------------------------------------- roles


def test_a_read_only_role_reads_and_is_refused_writes_in_one_line(
    postgres_server: Server,
) -> None:
    url = postgres_server.create_database()
    with Store.open(url) as store:
        store.add_credits(5, None, T0)
    name = urlsplit(url).path.lstrip("/")
    reader = f"reader_{name}"
    postgres_server.run_sql(url, f"CREATE ROLE {reader} LOGIN PASSWORD '{PASSWORD}'")
    postgres_server.run_sql(url, f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {reader}")
    as_reader = _with(url, netloc=urlsplit(url).netloc.replace("postgres:", f"{reader}:", 1))
    with Store.open(as_reader) as store:
        assert store.read_only and store.balance() == 5
        with pytest.raises(StateError) as refused:
            store.add_credits(1, None, T0)
        assert str(refused.value) == (
            f"{mask(as_reader)}: the state database is read-only; this command needs to write to it"
        )
        store.read_only = False  # below the flag, the server itself refuses
        with pytest.raises(StateError) as refused:
            store.add_credits(1, None, T0)
    message = str(refused.value)
    assert "permission denied" in message and "\n" not in message and PASSWORD not in message


def test_an_apply_writer_without_the_lease_waits_for_the_holder_across_connections(
    postgres_server: Server,
) -> None:
    url = postgres_server.create_database()
    holder, other = Store.open(url), Store.open(url)
    token = holder.acquire_lease("apply-1")
    active_campaign(holder)
    with pytest.raises(StateError, match="holds the apply lease"):
        active_campaign(other, "c2")
    holder.release_lease(token)
    active_campaign(other, "c2")
    assert [r.name for r in holder.campaign_status_rows()] == ["c1", "c2"]
    holder.close()
    other.close()
